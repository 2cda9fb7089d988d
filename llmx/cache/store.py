"""The cache on disk: two diskcache (SQLite) databases, opened by ``llmx.cache.databases``.

    <directory>/responses/cache.db   key -> {"x": expires-at | null, "e": Entry JSON}
    <directory>/vectors/cache.db     the vector log, its per-embedder counters, aux values
    <directory>/snapshots/           free for the vector index's snapshot files

Behaviour a caller can rely on:

* Reads never create anything: ``get`` on a cache that does not exist is a plain miss.
* ``get`` never raises. An entry that fails to decode or validate is deleted and missed; an
  entry whose expiry time (by the injected ``clock``) has passed is never served. A database
  locked for longer than ``LOCK_TIMEOUT`` is a miss. A database that cannot be opened for
  writing (a read-only mount, a full disk) is still read: hits are served, without their LRU
  touch.
* Writes that fail (lock held too long, disk full, read-only) raise ``CacheUnavailable``.
* A damaged database (not a database, a malformed image), met by any call, is moved aside to
  ``cache.db.corrupt-<UTC time>``, ``warn`` says so in one line, and a fresh database starts
  in its place (a response write that met the damage is retried on it once).
* LRU: every ``get`` hit updates the entry's access time; after each ``set`` the store drops
  the least recently used entries beyond ``max_entries`` and culls by LRU while the database is
  larger than ``max_bytes``.
* Many processes may use one store at once: SQLite in WAL mode with a 60 s busy timeout, every
  write one short transaction; a process killed mid-write loses at most that write.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

from llmx.cache import rows
from llmx.cache.databases import (
    LOCK_TIMEOUT,
    RESPONSES,
    UNLIMITED,
    CacheUnavailable,
    Databases,
    Moved,
    writing,
)
from llmx.cache.types import Entry
from llmx.state import Warn

__all__ = ["LOCK_TIMEOUT", "RESPONSES", "UNLIMITED", "VECTORS", "CacheStore", "CacheUnavailable"]

VECTORS: Final = "vectors"
_T = TypeVar("_T")


class CacheStore:
    """Responses by exact key, plus the vector log and aux values of the semantic tier."""

    def __init__(self, directory: Path, *, max_entries: int, max_bytes: int,
                 clock: Callable[[], float] = time.time, warn: Warn | None = None) -> None:
        self._directory = Path(directory)
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        self._dbs = Databases(self._directory, size_limit=max_bytes, warn=warn)
        self._heads: dict[str, tuple[object, int]] = {}  # embedder -> (version stamp, its seq)

    # -- responses -------------------------------------------------------------------------

    def get(self, key: str) -> Entry | None:
        """The live entry under ``key`` (an LRU access), else ``None``. Never raises."""
        value = self._dbs.value(RESPONSES, key)
        if value is None:
            return None
        entry = rows.open_envelope(value, self._clock)
        if entry is None:
            self._dbs.delete_quietly(RESPONSES, key)
        return entry

    def set(self, key: str, entry: Entry, expire: float | None) -> None:
        """Store ``entry`` for ``expire`` seconds (``None``: no expiry; ``<= 0``: not stored),
        then evict least recently used entries beyond the limits."""
        if expire is not None and expire <= 0:
            return
        expires = None if expire is None else self._clock() + expire
        value = rows.envelope(entry, expires)
        _afresh(lambda: self._put_response(key, value, expire))

    def _put_response(self, key: str, value: Any, expire: float | None) -> None:
        with self._dbs.failing(RESPONSES):
            cache = self._dbs.get(RESPONSES, create=True)
            assert cache is not None
            count, volume = rows.put(cache, key, value, expire, count=True)
            if count > self._max_entries or volume >= self._max_bytes:
                self._enforce_limits(cache)

    def delete(self, key: str) -> bool:
        with writing():
            cache = self._dbs.get(RESPONSES, create=False)
            return cache is not None and bool(cache.delete(key))

    def __len__(self) -> int:
        """Entries not yet expired (by diskcache's own clock); a damaged database is moved
        aside (with a warning) and counts 0."""
        cache = self._responses()
        if cache is None:
            return 0
        try:
            with self._dbs.failing(RESPONSES):
                return int(rows.raw_sql(cache, rows.LIVE_COUNT, (time.time(),))[0][0])
        except Moved:
            return 0

    def _responses(self) -> Any | None:
        """The responses database for reading, or None when there is none yet, or when it
        was damaged and has just been moved aside (a fresh one starts with the next write)."""
        try:
            with self._dbs.failing(RESPONSES):
                return self._dbs.get(RESPONSES, create=False)
        except Moved:
            return None

    def volume(self) -> int:
        """Bytes on disk of everything under the cache directory."""
        return rows.tree_size(self._directory)

    def iter_entries(self) -> Iterator[tuple[str, Entry]]:
        """Live, valid entries, newest first, without touching their LRU position."""
        cache = self._responses()
        if cache is None:
            return
        newest = (float("inf"), float("inf"), 2**63 - 1)
        for _rowid, _time, key, mode, filename, value in self._dbs.paged(
                RESPONSES, cache, rows.NEWEST_PAGE, newest, lambda row: (row[1], row[1], row[0])):
            entry = self._decode_row(cache, mode, filename, value)
            if entry is not None:
                yield key, entry

    def clear(self) -> int:
        """Remove every entry, vector, aux value and snapshot, and the damaged databases once
        moved aside; returns the entries removed. The vector counters survive, so sequence
        numbers stay monotonic. A damaged database is deleted outright (its entries are not
        counted)."""
        removed = 0
        with writing():
            try:
                cache = self._dbs.get(RESPONSES, create=False)
                removed = 0 if cache is None else int(cache.clear())
                vectors = self._dbs.get(VECTORS, create=False)
                if vectors is not None:
                    _clear_keeping_counters(vectors)
            except sqlite3.OperationalError:
                raise
            except sqlite3.DatabaseError:
                self.close()
                rows.remove_databases(self._directory / RESPONSES, self._directory / VECTORS)
        rows.remove_files(self.snapshot_dir)
        rows.remove_moved_aside(self._directory / RESPONSES, self._directory / VECTORS)
        return removed

    def prune(self) -> int:
        """Drop expired, undecodable and over-limit entries and orphaned vectors; shrink the
        write-ahead logs. Returns the number of entries removed."""
        cache = self._responses()
        if cache is None:
            return 0
        with writing():
            removed = int(cache.expire())
            removed += sum(bool(cache.delete(key)) for key in self._undecodable_or_expired(cache))
            removed += self._enforce_limits(cache)
            self._prune_vectors(cache)
            rows.raw_sql(cache, rows.CHECKPOINT)
        return removed

    def close(self) -> None:
        self._dbs.close()
        self._heads.clear()

    def __enter__(self) -> CacheStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # -- vector log and aux values -----------------------------------------------------------

    def append_vector(self, key: str, scope: str, embedder: str, vector: bytes) -> int:
        """Append one row to ``embedder``'s log; returns its sequence number (1, 2, ...)."""
        payload = rows.pack_vector(key, scope, vector)
        return _afresh(lambda: self._append(embedder, payload))

    def _append(self, embedder: str, payload: bytes) -> int:
        with self._dbs.failing(VECTORS):
            cache = self._dbs.get(VECTORS, create=True)
            assert cache is not None
            with cache.transact():
                now = time.time()
                bumped = rows.raw_sql(cache, rows.BUMP, (rows.counter_key(embedder), now, now,
                                                     rows.MODE_RAW))
                if not bumped or not isinstance(bumped[0][0], int):
                    raise CacheUnavailable("the vector log's counter is damaged")
                seq: int = bumped[0][0]
                rows.put(cache, rows.vector_key(embedder, seq), payload, None, count=False)
            known = self._heads.get(embedder)
            if known is not None and known[1] == seq - 1:  # nobody else appended meanwhile
                self._heads[embedder] = (known[0], seq)
        return seq

    def vectors_since(self, embedder: str, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        """``(seq, key, scope, vector)`` of ``embedder``'s rows after ``seq``, in order."""
        try:
            with self._dbs.failing(VECTORS):
                cache = self._dbs.get(VECTORS, create=False)
        except Moved:
            return  # damaged and moved aside: the fresh log is empty
        if cache is None:
            return
        for row_key, mode, filename, value in self._dbs.key_range(
                VECTORS, cache, *rows.vector_range(embedder, seq)):
            number = rows.vector_seq_of(embedder, row_key)  # checked before reading the row
            unpacked = None if number is None else _fetch_vector(cache, mode, filename, value)
            if number is not None and unpacked is not None:
                yield (number, *unpacked)

    def vector_seq(self, embedder: str) -> int:
        """The last sequence number handed out for ``embedder`` (0: none yet)."""
        return _afresh(lambda: self._vector_seq(embedder))

    def _vector_seq(self, embedder: str) -> int:
        with self._dbs.failing(VECTORS):
            cache = self._dbs.get(VECTORS, create=False)
            if cache is None:
                return 0
            version = (self._dbs.generation, _stamp(cache))  # unchanged: the head last seen
            known = self._heads.get(embedder)
            if known is None or known[0] != version:
                value = cache.get(rows.counter_key(embedder), default=0)
                known = self._heads[embedder] = (version, value if isinstance(value, int) else 0)
        return known[1]

    def get_aux(self, namespace: str, key: str) -> Any | None:
        """A value stored with ``set_aux`` (JSON, int or bytes), else ``None``. Never raises."""
        return self._dbs.value(VECTORS, rows.aux_key(namespace, key))

    def set_aux(self, namespace: str, key: str, value: Any, expire: float | None = None) -> None:
        _afresh(lambda: self._set_aux(rows.aux_key(namespace, key), value, expire))

    def _set_aux(self, key: str, value: Any, expire: float | None) -> None:
        with self._dbs.failing(VECTORS):
            cache = self._dbs.get(VECTORS, create=True)
            assert cache is not None
            cache.set(key, value, expire=expire)

    @property
    def snapshot_dir(self) -> Path:
        """Where the vector index keeps its snapshot files. Not created here (reads create
        nothing): create it with ``llmx.paths.ensure_private_dir`` before writing."""
        return self._directory / "snapshots"

    # -- helpers ------------------------------------------------------------------------------

    def _decode_row(self, cache: Any, mode: int, filename: Any, value: Any) -> Entry | None:
        try:
            return rows.open_envelope(cache.disk.fetch(mode, filename, value, False), self._clock)
        except (ValueError, RecursionError):
            return None

    def _undecodable_or_expired(self, cache: Any) -> list[str]:
        table = rows.raw_sql(cache, "SELECT key, mode, filename, value FROM Cache WHERE raw = 1")
        return [key for key, mode, filename, value in table
                if self._decode_row(cache, mode, filename, value) is None]

    def _enforce_limits(self, cache: Any) -> int:
        """Evict beyond ``max_entries`` (LRU), then cull while over ``max_bytes``; returns the
        number of entries removed."""
        removed = 0
        if len(cache) > self._max_entries:
            removed += int(cache.expire())
            with cache.transact():
                excess = len(cache) - self._max_entries
                if excess > 0:
                    rows.raw_sql(cache, rows.EVICT_LRU, (excess,))
                    removed += excess
        if cache.volume() > self._max_bytes:
            removed += int(cache.cull())
        return removed

    def _prune_vectors(self, responses: Any) -> None:
        """Delete vector rows whose response is gone, a page at a time."""
        vectors = self._dbs.get(VECTORS, create=False)
        if vectors is None:
            return
        vectors.expire()
        for row_key, mode, filename, value in self._dbs.key_range(VECTORS, vectors,
                                                              *rows.ALL_VECTORS):
            unpacked = _fetch_vector(vectors, mode, filename, value)
            if unpacked is None or unpacked[0] not in responses:  # `in`: no LRU touch
                vectors.delete(row_key)


def _afresh(run: Callable[[], _T]) -> _T:
    """``run()``, and once more when it met a damaged database (moved aside meanwhile)."""
    try:
        return run()
    except Moved:
        return run()


def _stamp(cache: Any) -> tuple[int, int, int]:
    """``PRAGMA data_version`` (it changes when another connection commits) of this thread's
    connection, told apart from other threads' and processes' (each has its own connection)."""
    return os.getpid(), threading.get_ident(), int(rows.raw_sql(cache, rows.DATA_VERSION)[0][0])


def _clear_keeping_counters(vectors: Any) -> None:
    with vectors.transact():
        found = rows.raw_sql(vectors, rows.COUNTER_KEYS, (rows.COUNTER_PATTERN,))
        counters = [(key, vectors.get(key)) for key, in found]
        vectors.clear()
        for key, value in counters:
            if isinstance(value, int):
                vectors.set(key, value)


def _fetch_vector(cache: Any, mode: int, file: Any, value: Any) -> tuple[str, str, bytes] | None:
    """A vector row's ``(key, scope, vector bytes)``; ``None`` when it cannot be read."""
    try:
        return rows.unpack_vector(cache.disk.fetch(mode, file, value, False))
    except ValueError:
        return None
