"""The cache on disk: two diskcache (SQLite) databases, opened by ``llmx.cache.databases``.

    <directory>/responses/cache.db   key -> {"x": expires-at | null, "e": Entry JSON}, in
                                     approximate LRU order (``llmx.cache.recency``)
    <directory>/touches              hits noted by processes that did not write
    <directory>/vectors/cache.db     the vector log, its per-embedder counters, aux values
    <directory>/snapshots/           free for the vector index's snapshot files

Format: the response and vector rows are stored exactly as llmx 0.x stored them under the
same names (JSON text, raw integers and bytes, in the row), so an existing cache is migrated
in place: its entries are read as they are, in the order they were first written (the LRU
order llmx 0.x kept in diskcache's access-time column is not read: it is not public). Rows
of any other shape (a pickle, a value in a side file) are never decoded: they read as
misses.

Behaviour a caller can rely on:

* Reads never create anything: ``get`` on a cache that does not exist is a plain miss.
* ``get`` never raises and never writes a database row. An entry that fails to decode or
  validate is deleted and missed; an entry whose expiry time (by the injected ``clock``) has
  passed is never served. A database locked for longer than ``LOCK_TIMEOUT`` is a miss. A
  database that cannot be opened (a read-only mount, a full disk: diskcache's open writes)
  is a miss: on such a disk no hit is served, the answer comes from the provider.
* A hit is noted in memory; the next write folds it into the LRU order, or, if this store
  never writes, ``close`` appends it to the touch file (no fsync: ``llmx.cache.recency``).
* Writes that fail (lock held too long, disk full, read-only) raise ``CacheUnavailable``.
* Grouped writes (``grouping``: a ``Grouping``, or ``True`` for its defaults): ``set`` and
  ``append_vector`` queue, and the queue is written in one transaction per database when it
  is due (``llmx.cache.queue``), on ``flush()`` and on ``close()``. This store's own reads
  see queued entries at once; other processes see them after the flush. A process killed
  between flushes loses the queued entries only (never half an entry). The first write of a
  store is never queued, so a cache that cannot be written fails the call that tried (one
  warning, on the request path). A store that only reads never loads the queue or the
  writer (``llmx.cache.queue``, ``llmx.cache.writes``).
  Inside a running event loop a due queue is not written by the call that made it due: the
  write is scheduled for the loop's next turn (``call_soon``), after that call has returned
  its answer, so no request waits for a transaction; its failure costs one ``warn`` line.
* A damaged database (not a database, a malformed image), met by any call, is moved aside to
  ``cache.db.corrupt-<UTC time>``, ``warn`` says so in one line, and a fresh database starts
  in its place (a write that met the damage is retried on it once).
* Limits: after each write the store drops the least recently used entries beyond
  ``max_entries`` and culls by LRU while the responses database is larger than ``max_bytes``.
* Many processes may use one store at once: SQLite in WAL mode with a 60 s busy timeout,
  every write one short transaction.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from llmx.cache import recency, rows, vector_log
from llmx.cache.databases import (
    LOCK_TIMEOUT,
    RESPONSES,
    UNLIMITED,
    VECTORS,
    CacheUnavailable,
    Databases,
    Moved,
    writing,
)
from llmx.cache.types import Entry
from llmx.state import Warn

if TYPE_CHECKING:  # loaded by the first write: a read (a cache hit) needs neither
    from llmx.cache.queue import Grouping, WriteQueue
    from llmx.cache.writes import Limits

__all__ = ["LOCK_TIMEOUT", "RESPONSES", "UNLIMITED", "VECTORS", "CacheStore",
           "CacheUnavailable", "Grouping"]

_T = TypeVar("_T")


def __getattr__(name: str) -> Any:
    if name == "Grouping":  # re-exported, imported on first use
        from llmx.cache.queue import Grouping

        return Grouping
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CacheStore:
    """Responses by exact key, plus the vector log and aux values of the semantic tier."""

    def __init__(self, directory: Path, *, max_entries: int, max_bytes: int,
                 clock: Callable[[], float] = time.time, warn: Warn | None = None,
                 grouping: Grouping | Literal[True] | None = None) -> None:
        self._directory = Path(directory)
        self._max = (max_entries, max_bytes)
        self._clock = clock
        self._warn = warn
        self._dbs = Databases(self._directory, warn=warn)
        self._touches = recency.Touches(self._directory)
        self._grouping = grouping
        self._queue: WriteQueue | None = None  # made by the first write
        self._wrote = grouping is None  # True: no write is held back for the first one
        self._scheduled = False  # a due queue's write waits for the event loop's next turn
        self._heads: dict[str, int] = {}  # embedder -> the last seq this store's flush wrote
        self._flushed: dict[str, tuple[int, list[bytes]]] = {}  # embedder -> first seq, rows
        self.stored = 0  # entries this store wrote (for ``llmx.counters``)
        self.evicted = 0  # entries it removed to keep its limits
        self.on_flush: Callable[[], None] | None = None  # called after a flush wrote vectors

    # -- responses -------------------------------------------------------------------------

    def get(self, key: str) -> Entry | None:
        """The live entry under ``key`` (its use noted for the LRU order), else ``None``."""
        queued = None if self._queue is None else self._queue.entries.get(key)
        if queued is not None:
            return rows.open_envelope(queued.value, self._clock)
        value = self._dbs.value(RESPONSES, key)
        if value is None:
            return None
        entry = rows.open_envelope(value, self._clock)
        if entry is None:
            self._dbs.delete_quietly(RESPONSES, key)
        else:
            self._touches.note(key)
        return entry

    def set(self, key: str, entry: Entry, expire: float | None) -> None:
        """Store ``entry`` for ``expire`` seconds (``None``: no expiry; ``<= 0``: not stored):
        queued, or written now when the queue is due (see the module docstring)."""
        if expire is not None and expire <= 0:
            return
        from llmx.cache.queue import Queued

        expires = None if expire is None else self._clock() + expire
        self._pending().put(key, Queued(entry, rows.envelope(entry, expires), expire))
        self._flush_if_due()

    def delete(self, key: str) -> bool:
        queued = False
        if self._queue is not None:
            queued = self._queue.entries.get(key) is not None
            self._queue.discard(key)
        with writing():
            if self._dbs.get(RESPONSES, create=False) is None:
                return queued
            return bool(self._dbs.writer(RESPONSES).delete(key)) or queued

    def flush(self) -> None:
        """Write what is queued now; raises ``CacheUnavailable`` (the queue is dropped)."""
        if self._queue is None:
            self._wrote = True
            return
        from llmx.cache import writes

        entries, vectors = self._queue.take()
        if entries:
            used = self._touches.take()
            self.evicted += _afresh(lambda: writes.write_entries(self._dbs, entries, used,
                                                                 self._limits()))
            self.stored += len(entries)
        if vectors:
            self._heads = _afresh(lambda: writes.write_vectors(self._dbs, vectors))
            self._flushed = {name: (self._heads[name] - len(rows_) + 1, rows_)
                             for name, rows_ in vectors.items()}
        self._wrote = True
        if vectors and self.on_flush is not None:  # e.g. the gate indexes them from memory
            self.on_flush()

    def __len__(self) -> int:
        """Entries stored (an expired one counts until the next write removes it); a damaged
        database is moved aside (with a warning) and counts 0."""
        self._flush_queued()
        cache = self._responses()
        if cache is None:
            return 0
        try:
            with self._dbs.failing(RESPONSES):
                return len(cache)
        except Moved:
            return 0

    def volume(self) -> int:
        """Bytes on disk of everything under the cache directory."""
        return rows.tree_size(self._directory)

    def iter_entries(self) -> Iterator[tuple[str, Entry]]:
        """Live, valid entries, most recently written or used first (the LRU order from its
        back), without touching their LRU position."""
        self._flush_queued()
        cache = self._responses()
        if cache is None:
            return
        with self._dbs.failing(RESPONSES):
            for key in reversed(cache):
                entry = self._decoded(cache, key)
                if entry is not None:
                    yield key, entry

    def clear(self) -> int:
        """Remove every entry, vector, aux value and snapshot, and the damaged databases once
        moved aside; returns the entries removed. The vector counters survive, so sequence
        numbers stay monotonic. A damaged database is deleted outright (its entries are not
        counted)."""
        if self._queue is not None:
            self._queue.take()
        self._touches.forget()
        removed = 0
        names = (RESPONSES, VECTORS)
        with writing():
            try:
                cache = self._dbs.get(RESPONSES, create=False)
                removed = 0 if cache is None else int(self._dbs.writer(RESPONSES).clear())
                if self._dbs.get(VECTORS, create=False) is not None:
                    _clear_keeping_counters(self._dbs.writer(VECTORS))
            except sqlite3.OperationalError:
                raise
            except sqlite3.DatabaseError:
                self.close()
                rows.remove_databases(*(self._directory / name for name in names))
        rows.remove_files(self.snapshot_dir)
        rows.remove_moved_aside(*(self._directory / name for name in names))
        return removed

    def prune(self) -> int:
        """Drop expired, undecodable and over-limit entries and orphaned vectors; shrink the
        write-ahead logs. Returns the number of entries removed."""
        from llmx.cache import writes

        self._flush_queued()
        if self._responses() is None:
            return 0
        with writing(self._directory):
            cache = self._dbs.writer(RESPONSES)
            removed = int(cache.expire())
            bad = [key for key in list(cache.iterkeys()) if self._decoded(cache, key) is None]
            removed += sum(bool(cache.delete(key)) for key in bad)
            removed += writes.enforce_limits(self._dbs, cache, self._limits())
            self._prune_vectors(cache)
        self._dbs.close()  # the last connection checkpoints and removes each WAL
        return removed

    def close(self) -> None:
        """Write what is queued (a failure costs one ``warn`` line, never an exception),
        append unwritten hits to the touch file, and release the databases."""
        self._flush_or_warn()
        self._touches.spill()
        self._dbs.close()

    def __enter__(self) -> CacheStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # -- vector log and aux values -----------------------------------------------------------

    def append_vector(self, key: str, scope: str, embedder: str, vector: bytes) -> int | None:
        """Append one row to ``embedder``'s log; returns its sequence number (1, 2, ...), or
        ``None`` when the row was queued (its number is given when the queue is written)."""
        self._pending().append_vector(embedder, rows.pack_vector(key, scope, vector))
        if not self._flush_if_due():
            return None
        return self._heads.get(embedder)

    def vectors_since(self, embedder: str, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        """``(seq, key, scope, vector)`` of ``embedder``'s rows after ``seq``, in order."""
        return vector_log.rows_since(self._dbs, embedder, seq)

    def written_since(self, embedder: str, seq: int) -> list[tuple[int, str, str, bytes]] | None:
        """``vectors_since(embedder, seq)`` from memory, without a read, when this store's
        last flush wrote every row from ``seq + 1`` on (else ``None``); rows written after
        that flush, by anyone, are not in it: compare its last seq with ``vector_seq``."""
        return vector_log.from_flushed(self._flushed.get(embedder, (0, [])), seq)

    def vector_seq(self, embedder: str) -> int:
        """The last sequence number handed out for ``embedder`` (0: none yet)."""
        return vector_log.head(self._dbs, embedder)

    def get_aux(self, namespace: str, key: str) -> Any | None:
        """A value stored with ``set_aux`` (JSON, int or bytes), else ``None``. Never raises."""
        return self._dbs.value(VECTORS, rows.aux_key(namespace, key))

    def set_aux(self, namespace: str, key: str, value: Any, expire: float | None = None) -> None:
        _afresh(lambda: self._set_aux(rows.aux_key(namespace, key), value, expire))

    def _set_aux(self, key: str, value: Any, expire: float | None) -> None:
        with self._dbs.failing(VECTORS):
            self._dbs.writer(VECTORS).set(key, value, expire=expire)

    @property
    def snapshot_dir(self) -> Path:
        """Where the vector index keeps its snapshot files. Not created here (reads create
        nothing): create it with ``llmx.paths.ensure_private_dir`` before writing."""
        return self._directory / "snapshots"

    # -- writing ------------------------------------------------------------------------------

    def _flush_if_due(self) -> bool:
        """Flush when the queue is due (or nothing was written yet); True if it flushed.
        In a running event loop a due queue (after the first write) is scheduled instead."""
        if self._wrote and (not self._pending().due() or self._schedule()):
            return False
        self.flush()
        return True

    def _schedule(self) -> bool:
        """Write the queue on the running loop's next turn; False when no loop runs."""
        if self._scheduled:
            return True
        asyncio = sys.modules.get("asyncio")  # never imported here: no module, no loop
        try:
            loop = None if asyncio is None else asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            return False
        self._scheduled = True
        loop.call_soon(self._scheduled_flush)
        return True

    def _scheduled_flush(self) -> None:
        self._scheduled = False
        self._flush_or_warn()

    def _flush_or_warn(self) -> None:
        """Write what is queued; a failure costs one ``warn`` line, never an exception."""
        try:
            self._flush_queued()
        except CacheUnavailable as exc:
            if self._warn is not None:
                self._warn(f"could not save answers to the cache: {exc.message} "
                           "(answers are still delivered)")

    def _flush_queued(self) -> None:
        if self._queue is not None and len(self._queue):
            self.flush()

    def _pending(self) -> WriteQueue:
        """The write queue, made on first use."""
        if self._queue is None:
            from llmx.cache.queue import Grouping, WriteQueue

            grouping = self._grouping
            if grouping is None:
                grouping = Grouping(entries=1, max_age=0.0)
            elif grouping is True:
                grouping = Grouping()
            self._queue = WriteQueue(grouping)
        return self._queue

    def _limits(self) -> Limits:
        from llmx.cache.writes import Limits

        return Limits(*self._max)

    # -- maintenance helpers ----------------------------------------------------------------

    def _responses(self) -> Any | None:
        """The responses database for reading, or None when there is none yet, or when it
        was damaged and has just been moved aside (a fresh one starts with the next write)."""
        try:
            with self._dbs.failing(RESPONSES):
                return self._dbs.get(RESPONSES, create=False)
        except Moved:
            return None

    def _decoded(self, cache: Any, key: str) -> Entry | None:
        try:
            return rows.open_envelope(cache.get(key), self._clock)
        except (ValueError, RecursionError):
            return None

    def _prune_vectors(self, responses: Any) -> None:
        """Delete vector rows whose response is gone."""
        vectors = self._dbs.get(VECTORS, create=False)
        if vectors is None:
            return
        vectors = self._dbs.writer(VECTORS)
        vectors.expire()
        for key in [key for key in vectors.iterkeys() if key.startswith(rows.VECTOR_PREFIX)]:
            unpacked = rows.unpack_vector(self._dbs.value(VECTORS, key))
            if unpacked is None or unpacked[0] not in responses:  # `in`: no LRU note
                vectors.delete(key)


def _afresh(run: Callable[[], _T]) -> _T:
    """``run()``, and once more when it met a damaged database (moved aside meanwhile)."""
    try:
        return run()
    except Moved:
        return run()


def _clear_keeping_counters(vectors: Any) -> None:
    with vectors.transact():
        counters = [(key, vectors.get(key)) for key in vectors.iterkeys()
                    if key.startswith(rows.COUNTER_PREFIX)]
        vectors.clear()
        for key, value in counters:
            if isinstance(value, int):
                vectors.set(key, value)
