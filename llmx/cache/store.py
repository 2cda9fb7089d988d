"""The cache on disk: two diskcache (SQLite) databases. The only diskcache user.

    <directory>/responses/cache.db   key -> {"x": expires-at | null, "e": Entry JSON}
    <directory>/vectors/cache.db     the vector log, its per-embedder counters, aux values
    <directory>/snapshots/           free for the vector index's snapshot files

Values stay inside SQLite (``_InlineDisk``; layout in ``llmx.cache.rows``): never pickle, never
side files. Directories are 0700 and the database files are created 0600 before SQLite opens
them, so its ``-wal`` / ``-shm`` files inherit that mode.

Behaviour a caller can rely on:

* Reads never create anything: ``get`` on a cache that does not exist is a plain miss.
* ``get`` never raises. An entry that fails to decode or validate is deleted and missed; an
  entry whose expiry time (by the injected ``clock``) has passed is never served. A database
  that cannot be read (locked for longer than ``LOCK_TIMEOUT``, damaged) is a miss too.
* Writes that fail (lock held too long, disk full, damaged file) raise ``CacheUnavailable``.
* LRU: every ``get`` hit updates the entry's access time; after each ``set`` the store drops
  the least recently used entries beyond ``max_entries`` and culls by LRU while the database is
  larger than ``max_bytes``.
* Many processes may use one store at once: SQLite in WAL mode with a 60 s busy timeout, every
  write one short transaction; a process killed mid-write loses at most that write.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import diskcache  # type: ignore[import-untyped]

from llmx.cache import rows
from llmx.cache.types import Entry
from llmx.errors import LlmxError
from llmx.paths import ensure_private_dir

LOCK_TIMEOUT: Final = 60.0  # seconds SQLite waits for another process's write lock
UNLIMITED: Final = 2**62  # max_entries / max_bytes for maintenance commands
RESPONSES: Final = "responses"
VECTORS: Final = "vectors"
_PAGE: Final = 500


class CacheUnavailable(LlmxError):
    """The cache database could not be written (or, for maintenance, read)."""

    default_hint = "check free disk space and permissions; `llmx cache clear --yes` starts afresh"


class _InlineDisk(diskcache.Disk):  # type: ignore[misc]
    """diskcache serialisation without pickle or files: ``str`` keys, values shaped by
    ``rows.to_column`` (ints stay INTEGER, so ``incr`` works), all inside the database;
    reading anything else raises ``ValueError``."""

    def put(self, key: object) -> tuple[str, bool]:
        if not isinstance(key, str):
            raise TypeError("cache keys are str")
        return key, True

    def get(self, key: object, raw: bool) -> str:
        if not raw or not isinstance(key, str):
            raise ValueError("foreign key in cache database")
        return key

    def store(self, value: Any, read: bool, key: object = None) -> tuple[int, int, None, Any]:
        if read:
            raise TypeError("file values are not supported")
        return 0, diskcache.core.MODE_RAW, None, rows.to_column(value)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode != diskcache.core.MODE_RAW or filename is not None or read:
            raise ValueError("value not stored inline")
        return rows.from_column(value)


def _open_cache(directory: Path, *, create: bool, lru: bool, size_limit: int) -> Any | None:
    """Open one diskcache database, or ``None`` when it does not exist and ``create`` is off."""
    db = directory / rows.DB_NAME
    if not create and not db.is_file():
        return None
    if create:
        ensure_private_dir(directory)
        rows.private_file(db)
    return diskcache.Cache(str(directory), timeout=LOCK_TIMEOUT, disk=_InlineDisk,
                           eviction_policy="least-recently-used" if lru else "none",
                           size_limit=size_limit, cull_limit=10, statistics=0, tag_index=0,
                           disk_min_file_size=UNLIMITED)


# diskcache 5.x internals: statements on its schema and their runners live in ``rows``.



def _paged(cache: Any, statement: str, cursor: tuple[Any, ...],
           advance: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``statement`` (its last parameter: the page size) from ``cursor`` on, a page
    at a time; ``advance`` turns a page's last row into the next page's cursor."""
    while True:
        with _writing():
            page = rows.raw_sql(cache, statement, (*cursor, _PAGE))
        yield from page
        if len(page) < _PAGE:
            return
        cursor = advance(page[-1])


def _key_range(cache: Any, low: str, high: str) -> Iterator[tuple[Any, ...]]:
    """``(key, mode, filename, value)`` of the rows with ``low < key <= high``, in key order."""
    return _paged(cache, rows.KEY_RANGE, (low, high), lambda row: (row[0], high))


class CacheStore:
    """Responses by exact key, plus the vector log and aux values of the semantic tier."""

    def __init__(self, directory: Path, *, max_entries: int, max_bytes: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._directory = Path(directory)
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        self._dbs: dict[str, Any] = {}  # "responses" / "vectors" -> open diskcache.Cache
        self._heads: dict[str, tuple[object, int]] = {}  # embedder -> (version stamp, its seq)

    # -- responses -------------------------------------------------------------------------

    def get(self, key: str) -> Entry | None:
        """The live entry under ``key`` (an LRU access), else ``None``. Never raises."""
        value = self._quiet_get(RESPONSES, key)
        if value is None:
            return None
        entry = rows.open_envelope(value, self._clock)
        if entry is None:
            self._quiet_delete(RESPONSES, key)
        return entry

    def set(self, key: str, entry: Entry, expire: float | None) -> None:
        """Store ``entry`` for ``expire`` seconds (``None``: no expiry; ``<= 0``: not stored),
        then evict least recently used entries beyond the limits."""
        if expire is not None and expire <= 0:
            return
        expires = None if expire is None else self._clock() + expire
        with _writing():
            cache = self._db(RESPONSES, create=True)
            assert cache is not None
            count, volume = rows.put(cache, key, rows.envelope(entry, expires), expire, count=True)
            if count > self._max_entries or volume >= self._max_bytes:
                self._enforce_limits(cache)

    def delete(self, key: str) -> bool:
        with _writing():
            cache = self._db(RESPONSES, create=False)
            return cache is not None and bool(cache.delete(key))

    def __len__(self) -> int:
        """Entries not yet expired (by diskcache's own clock)."""
        with _writing():
            cache = self._db(RESPONSES, create=False)
            live = [(0,)] if cache is None else rows.raw_sql(cache, rows.LIVE_COUNT, (time.time(),))
            return int(live[0][0])

    def volume(self) -> int:
        """Bytes on disk of everything under the cache directory."""
        return rows.tree_size(self._directory)

    def iter_entries(self) -> Iterator[tuple[str, Entry]]:
        """Live, valid entries, newest first, without touching their LRU position."""
        with _writing():
            cache = self._db(RESPONSES, create=False)
        if cache is None:
            return
        newest = (float("inf"), float("inf"), 2**63 - 1)
        for _rowid, _time, key, mode, filename, value in _paged(
                cache, rows.NEWEST_PAGE, newest, lambda row: (row[1], row[1], row[0])):
            entry = self._decode_row(cache, mode, filename, value)
            if entry is not None:
                yield key, entry

    def clear(self) -> int:
        """Remove every entry, vector, aux value and snapshot; returns the entries removed.
        The vector counters survive, so sequence numbers stay monotonic. A damaged database
        is deleted outright (its entries are not counted)."""
        removed = 0
        with _writing():
            try:
                cache = self._db(RESPONSES, create=False)
                removed = 0 if cache is None else int(cache.clear())
                vectors = self._db(VECTORS, create=False)
                if vectors is not None:
                    _clear_keeping_counters(vectors)
            except sqlite3.OperationalError:
                raise
            except sqlite3.DatabaseError:
                self.close()
                rows.remove_databases(self._directory / RESPONSES, self._directory / VECTORS)
        rows.remove_files(self.snapshot_dir)
        return removed

    def prune(self) -> int:
        """Drop expired, undecodable and over-limit entries and orphaned vectors; shrink the
        write-ahead logs. Returns the number of entries removed."""
        with _writing():
            cache = self._db(RESPONSES, create=False)
            if cache is None:
                return 0
            removed = int(cache.expire())
            removed += sum(bool(cache.delete(key)) for key in self._undecodable_or_expired(cache))
            removed += self._enforce_limits(cache)
            self._prune_vectors(cache)
            rows.raw_sql(cache, rows.CHECKPOINT)
        return removed

    def close(self) -> None:
        for cache in self._dbs.values():
            cache.close()
        self._dbs.clear()
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
        with _writing():
            cache = self._db(VECTORS, create=True)
            assert cache is not None
            with cache.transact():
                now = time.time()
                bumped = rows.raw_sql(cache, rows.BUMP, (rows.counter_key(embedder), now, now,
                                                     diskcache.core.MODE_RAW))
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
        with _writing():
            cache = self._db(VECTORS, create=False)
        if cache is None:
            return
        for row_key, mode, filename, value in _key_range(cache, *rows.vector_range(embedder, seq)):
            number = rows.vector_seq_of(embedder, row_key)  # checked before reading the row
            unpacked = None if number is None else _fetch_vector(cache, mode, filename, value)
            if number is not None and unpacked is not None:
                yield (number, *unpacked)

    def vector_seq(self, embedder: str) -> int:
        """The last sequence number handed out for ``embedder`` (0: none yet)."""
        with _writing():
            cache = self._db(VECTORS, create=False)
            if cache is None:
                return 0
            version = _stamp(cache)  # unchanged: the head this store last read or appended
            known = self._heads.get(embedder)
            if known is None or known[0] != version:
                value = cache.get(rows.counter_key(embedder), default=0)
                known = self._heads[embedder] = (version, value if isinstance(value, int) else 0)
        return known[1]

    def get_aux(self, namespace: str, key: str) -> Any | None:
        """A value stored with ``set_aux`` (JSON, int or bytes), else ``None``. Never raises."""
        return self._quiet_get(VECTORS, rows.aux_key(namespace, key))

    def set_aux(self, namespace: str, key: str, value: Any, expire: float | None = None) -> None:
        with _writing():
            cache = self._db(VECTORS, create=True)
            assert cache is not None
            cache.set(rows.aux_key(namespace, key), value, expire=expire)

    @property
    def snapshot_dir(self) -> Path:
        """Where the vector index keeps its snapshot files. Not created here (reads create
        nothing): create it with ``llmx.paths.ensure_private_dir`` before writing."""
        return self._directory / "snapshots"

    # -- helpers ------------------------------------------------------------------------------

    def _db(self, name: str, *, create: bool) -> Any | None:
        """The open database ``name``; ``None`` if it does not exist and ``create`` is off."""
        if name not in self._dbs:
            if create:
                ensure_private_dir(self._directory)
            cache = _open_cache(self._directory / name, create=create, lru=name == RESPONSES,
                                size_limit=self._max_bytes)
            if cache is None:
                return None
            self._dbs[name] = cache
        return self._dbs[name]

    def _quiet_get(self, name: str, key: str) -> Any | None:
        """A decoded value, or ``None``: missing, unreadable, or undecodable (then deleted)."""
        try:
            cache = self._db(name, create=False)
            if cache is None:
                return None
            return rows.lru_get(cache, key) if name == RESPONSES else cache.get(key, default=None)
        except (ValueError, RecursionError):
            self._quiet_delete(name, key)
        except (sqlite3.Error, diskcache.Timeout, OSError):
            pass
        return None

    def _quiet_delete(self, name: str, key: str) -> None:
        with contextlib.suppress(sqlite3.Error, diskcache.Timeout, OSError):
            cache = self._db(name, create=False)
            if cache is not None:
                cache.delete(key)

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
        vectors = self._db(VECTORS, create=False)
        if vectors is None:
            return
        vectors.expire()
        for row_key, mode, filename, value in _key_range(vectors, *rows.ALL_VECTORS):
            unpacked = _fetch_vector(vectors, mode, filename, value)
            if unpacked is None or unpacked[0] not in responses:  # `in`: no LRU touch
                vectors.delete(row_key)


def _stamp(cache: Any) -> tuple[int, int, int]:
    """``PRAGMA data_version`` (it changes when another connection commits) of this thread's
    connection, told apart from other threads' and processes' (each has its own connection)."""
    return os.getpid(), threading.get_ident(), int(rows.raw_sql(cache, rows.DATA_VERSION)[0][0])


@contextlib.contextmanager
def _writing() -> Iterator[None]:
    """Turn database failures into ``CacheUnavailable`` (never with a secret: none is here)."""
    try:
        yield
    except diskcache.Timeout:
        raise CacheUnavailable("the cache database stayed locked for too long") from None
    except sqlite3.Error as exc:
        raise CacheUnavailable(f"the cache database failed: {exc}") from None
    except OSError as exc:
        raise CacheUnavailable(f"the cache directory failed: {exc.strerror}") from None


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
