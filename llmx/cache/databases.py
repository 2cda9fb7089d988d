"""The cache's diskcache (SQLite) databases: opening them, and what happens when one fails.
The only diskcache user; ``llmx.cache.store`` builds the cache on it.

``Databases`` holds the open databases under one directory by name (``responses``,
``vectors``). Values stay inside SQLite (``_InlineDisk``; layout in ``llmx.cache.rows``):
never pickle, never side files. Directories are 0700 and the database files are created
0600 before SQLite opens them, so its ``-wal`` / ``-shm`` files inherit that mode.

Failures, by kind:

* locked for longer than ``LOCK_TIMEOUT``, a full disk, a read-only mount, an OS error:
  ``failing`` raises ``CacheUnavailable``; ``value`` (a read) is a miss. A database that
  diskcache cannot open or read because that writes (a read-only mount, a full disk: opening
  writes settings, a WAL reader needs its ``-shm``) is read through
  ``recovery.ReadOnlyRows`` from then on, so hits are still served.
* damaged (``recovery.is_damage``): whichever call meets it moves the file aside
  (``cache.db.corrupt-<UTC time>``), says so through ``warn`` (one line), and the next call
  starts a fresh database; ``failing`` raises ``Moved`` so that a write can be retried once.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import diskcache  # type: ignore[import-untyped]

from llmx.cache import rows
from llmx.cache.recovery import (
    ReadOnlyRows,
    explain,
    file_id,
    is_busy,
    is_damage,
    move_aside,
)
from llmx.errors import LlmxError
from llmx.paths import ensure_private_dir
from llmx.state import StateUnavailable, Warn

LOCK_TIMEOUT: Final = 60.0  # seconds SQLite waits for another process's write lock
UNLIMITED: Final = 2**62  # max_entries / max_bytes for maintenance commands
RESPONSES: Final = "responses"
PAGE: Final = 500
QUIET: Final = (sqlite3.Error, diskcache.Timeout, OSError)  # what a quiet read swallows


class CacheUnavailable(StateUnavailable):
    """The cache database could not be written (or, for maintenance, read)."""


class Moved(CacheUnavailable):
    """The call met a damaged database, which was moved aside: a retry starts afresh."""


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


class Databases:
    """The open databases under ``directory``, by name (see the module docstring)."""

    def __init__(self, directory: Path, *, size_limit: int, warn: Warn | None = None) -> None:
        self.directory = directory
        self._size_limit = size_limit
        self._warn = warn
        self._open: dict[str, Any] = {}  # name -> open diskcache.Cache
        self._ids: dict[str, tuple[int, int] | None] = {}  # name -> file id when opened
        self._readers: dict[str, ReadOnlyRows] = {}  # databases diskcache could not open
        self.generation = 0  # counts databases moved aside: what was read before is stale

    def get(self, name: str, *, create: bool) -> Any | None:
        """The open database ``name``; ``None`` if it does not exist and ``create`` is off."""
        if name not in self._open:
            if create:
                try:
                    ensure_private_dir(self.directory)
                except LlmxError as exc:  # a file in the way, a read-only mount
                    raise CacheUnavailable(exc.message) from None
            directory = self.directory / name
            cache = _open_cache(directory, create=create, lru=name == RESPONSES,
                                size_limit=self._size_limit)
            if cache is None:
                return None
            self._open[name] = cache
            self._ids[name] = file_id(directory / rows.DB_NAME)
        return self._open[name]

    def value(self, name: str, key: str) -> Any | None:
        """A decoded value (an LRU access in ``responses``), or ``None``: missing, unreadable,
        or undecodable (then deleted). Never raises."""
        if name in self._readers:
            return self._read_only(name, key)
        try:
            cache = self.get(name, create=False)
            if cache is None:
                return None
            return rows.lru_get(cache, key) if name == RESPONSES else cache.get(key, default=None)
        except (ValueError, RecursionError):
            self.delete_quietly(name, key)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                self.move_aside(name)
            elif isinstance(exc, sqlite3.OperationalError) and not is_busy(exc):
                return self._read_only(name, key)  # read-only or full: read without writing
        except QUIET:
            pass
        return None

    def delete_quietly(self, name: str, key: str) -> None:
        with contextlib.suppress(*QUIET):
            cache = self.get(name, create=False)
            if cache is not None:
                cache.delete(key)

    def move_aside(self, name: str) -> bool:
        """Move the damaged database ``name`` out of the way (see ``llmx.cache.recovery``)."""
        cache = self._open.pop(name, None)
        if cache is not None:
            with contextlib.suppress(sqlite3.Error, OSError):
                cache.close()
        self.generation += 1
        db = self.directory / name / rows.DB_NAME
        moved = move_aside(db, self._ids.pop(name, None))
        if moved is not None and self._warn is not None:
            self._warn(f"the cache database {db} was damaged: moved it to {moved.name} and "
                       "started a fresh one")
        return moved is not None

    @contextlib.contextmanager
    def failing(self, name: str) -> Iterator[None]:
        """``writing``, and a damaged database ``name`` is moved aside (raising ``Moved``)."""
        with writing(self.directory):
            try:
                yield
            except sqlite3.DatabaseError as exc:
                if is_damage(exc) and self.move_aside(name):
                    raise Moved(f"the cache database was damaged: {exc}") from None
                raise

    def paged(self, name: str, cache: Any, statement: str, cursor: tuple[Any, ...],
              advance: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        """The rows of ``statement`` (its last parameter: the page size) from ``cursor`` on, a
        page at a time; ``advance`` turns a page's last row into the next page's cursor."""
        while True:
            with self.failing(name):
                page = rows.raw_sql(cache, statement, (*cursor, PAGE))
            yield from page
            if len(page) < PAGE:
                return
            cursor = advance(page[-1])

    def key_range(self, name: str, cache: Any, low: str, high: str) -> Iterator[tuple[Any, ...]]:
        """``(key, mode, filename, value)`` of the rows with ``low < key <= high``, by key."""
        return self.paged(name, cache, rows.KEY_RANGE, (low, high), lambda row: (row[0], high))

    def close(self) -> None:
        for cache in self._open.values():
            with contextlib.suppress(sqlite3.Error, OSError):
                cache.close()
        for reader in self._readers.values():
            reader.close()
        self._open.clear()
        self._readers.clear()

    def _read_only(self, name: str, key: str) -> Any | None:
        """A value through the read-only connection: a failure is a miss, never damage (an
        ``immutable`` read may see a page mid-checkpoint; the file is left alone)."""
        reader = self._readers.get(name)
        if reader is None:
            reader = self._readers[name] = ReadOnlyRows(self.directory / name / rows.DB_NAME)
        try:
            return reader.value(key)
        except (ValueError, RecursionError, sqlite3.Error):
            return None


@contextlib.contextmanager
def writing(directory: Path | None = None) -> Iterator[None]:
    """Turn database failures into ``CacheUnavailable`` (never with a secret: none is here);
    ``directory`` (the cache's) lets the message say "read-only" when that is the cause."""
    try:
        yield
    except diskcache.Timeout:
        raise CacheUnavailable("the cache database stayed locked for too long") from None
    except sqlite3.Error as exc:
        message = f"the cache database failed: {exc}"
        raise CacheUnavailable(message if directory is None else explain(exc, directory)
                               ) from None
    except OSError as exc:
        raise CacheUnavailable(f"the cache directory failed: {exc.strerror}") from None
