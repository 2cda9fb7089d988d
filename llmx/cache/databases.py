"""The cache's diskcache (SQLite) databases: opening them, and what happens when one fails.
The only diskcache user; ``llmx.cache.store`` builds the cache on it.

Only diskcache's public API is used: ``Cache(directory, timeout, disk, **settings)`` and its
get / set / delete / incr / transact / iterkeys / reversed / ``in`` / expire / volume /
clear / reset / close / len, and a ``diskcache.Disk`` subclass, the documented way to choose
how values are serialised. No private attribute, no SQL on diskcache's tables; nothing here
depends on diskcache's table layout. pyproject pins ``diskcache>=5.6,<6`` because a new
major version may change this API (diskcache's own docs advise pinning the major version),
not for its internals.

``Databases`` holds the open databases under one directory by name (``responses``,
``vectors``). Values stay inside SQLite (``_ValueDisk``): never pickle, never
side files. Directories are 0700 and the database files are created 0600 before SQLite opens
them, so its ``-wal`` / ``-shm`` files inherit that mode.

Durability: every connection is opened with ``sqlite_synchronous=0`` (OFF), so a process
that only reads (open, get, close) calls fsync/fdatasync zero times: diskcache's open
rewrites its Settings rows and the last close checkpoints the WAL, neither synced. Before
each write transaction ``writer`` switches this thread's connection to NORMAL with
``Cache.reset(..., update=False)``: a connection-only pragma, never stored in Settings
(diskcache gives each thread a new connection whose pragmas come from Settings, i.e. OFF;
``writer`` runs on every write, so a new thread's connection is switched before it writes).
WAL + NORMAL is safe against power loss except for the last commits. The trade-off: a
reader that happens to be the last connection checkpoints other writers' frames without a
sync, so a power cut (not a process crash) in the seconds after it could damage the file;
a damaged file is moved aside (below) and the cache starts empty. Answers are never at risk.

Failures, by kind:

* locked for longer than ``LOCK_TIMEOUT``, a full disk, a read-only mount, an OS error:
  ``failing`` raises ``CacheUnavailable``; ``value`` (a read) is a miss. diskcache's open
  writes (its Settings rows), so on a read-only mount or a full disk a database cannot be
  opened through the public API at all: reads there are misses (no hit is served), and the
  first failed open is remembered so later reads miss at once.
* damaged (``recovery.is_damage``): whichever call meets it moves the file aside
  (``cache.db.corrupt-<UTC time>``), says so through ``warn`` (one line), and the next call
  starts a fresh database; ``failing`` raises ``Moved`` so that a write can be retried once.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import diskcache  # type: ignore[import-untyped]

from llmx.cache import rows
from llmx.cache.recovery import explain, file_id, frozen, is_busy, is_damage, move_aside
from llmx.errors import LlmxError
from llmx.paths import ensure_private_dir
from llmx.state import StateUnavailable, Warn

LOCK_TIMEOUT: Final = 60.0  # seconds SQLite waits for another process's write lock
UNLIMITED: Final = 2**62  # max_entries / max_bytes for maintenance commands
RESPONSES: Final = "responses"
VECTORS: Final = "vectors"
QUIET: Final = (sqlite3.Error, diskcache.Timeout, OSError)  # what a quiet read swallows
_SYNC_OFF: Final = 0
_SYNC_NORMAL: Final = 1
SETTINGS: Final = {
    "eviction_policy": "none",  # no access-time write on a read: see llmx.cache.recency
    "statistics": 0, "tag_index": 0,
    "cull_limit": 0,  # expired rows: one ``expire()`` per write transaction instead
    "size_limit": UNLIMITED, "disk_min_file_size": UNLIMITED,  # values stay in the row
    "sqlite_synchronous": _SYNC_OFF,  # readers never sync; ``writer`` switches to NORMAL
}


class CacheUnavailable(StateUnavailable):
    """The cache database could not be written (or, for maintenance, read)."""


class Moved(CacheUnavailable):
    """The call met a damaged database, which was moved aside: a retry starts afresh."""


class _ValueDisk(diskcache.Disk):  # type: ignore[misc]
    """diskcache's own serialisation for ``str`` keys and ``bytes`` / ``int`` / ``str``
    values (stored as they are, in the row: ``rows.to_column`` turns anything else into JSON
    text), never pickle: a row of another mode (a pickle, a file) reads as ``ValueError``."""

    def __init__(self, directory: str, **settings: Any) -> None:
        super().__init__(directory, **settings)
        self._inline_mode = super().store(0, False)[1]  # the mode of a value kept in the row

    def put(self, key: object) -> tuple[Any, bool]:
        if not isinstance(key, str):
            raise TypeError("cache keys are str")
        stored: tuple[Any, bool] = super().put(key)
        return stored

    def get(self, key: Any, raw: bool) -> str:
        if not raw or not isinstance(key, str):
            raise ValueError("foreign key in cache database")
        return key

    def store(self, value: Any, read: bool, key: Any = diskcache.UNKNOWN) -> tuple[Any, ...]:
        if read:
            raise TypeError("file values are not supported")
        stored: tuple[Any, ...] = super().store(rows.to_column(value), False, key=key)
        if stored[1] != self._inline_mode or stored[2] is not None:
            raise TypeError("cache values stay inside the database")
        return stored

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode != self._inline_mode or filename is not None or read:
            raise ValueError("value not stored inline")
        return rows.from_column(super().fetch(mode, filename, value, False))


def _open_cache(directory: Path, *, create: bool) -> Any | None:
    """Open one diskcache database, or ``None`` when it does not exist and ``create`` is off."""
    db = directory / rows.DB_NAME
    if not create and not db.is_file():
        return None
    if create:
        ensure_private_dir(directory)
        rows.private_file(db)
    return diskcache.Cache(str(directory), timeout=LOCK_TIMEOUT, disk=_ValueDisk, **SETTINGS)


class Databases:
    """The open databases under ``directory``, by name (see the module docstring)."""

    def __init__(self, directory: Path, *, warn: Warn | None = None) -> None:
        self.directory = directory
        self._warn = warn
        self._open: dict[str, Any] = {}  # name -> open diskcache.Cache
        self._ids: dict[str, tuple[int, int] | None] = {}  # name -> file id when opened
        self._unreadable: set[str] = set()  # could not be opened for reading: misses

    def get(self, name: str, *, create: bool) -> Any | None:
        """The open database ``name``; ``None`` if it does not exist and ``create`` is off."""
        if name not in self._open:
            if create:
                try:
                    ensure_private_dir(self.directory)
                except LlmxError as exc:  # a file in the way, a read-only mount
                    raise CacheUnavailable(exc.message) from None
            directory = self.directory / name
            cache = _open_cache(directory, create=create)
            if cache is None:
                return None
            self._open[name] = cache
            self._ids[name] = file_id(directory / rows.DB_NAME)
            self._unreadable.discard(name)
        return self._open[name]

    def writer(self, name: str) -> Any:
        """The database ``name`` (created if missing), this thread's connection switched to
        ``synchronous=NORMAL`` for the write that follows (call it inside ``failing``)."""
        cache = self.get(name, create=True)
        assert cache is not None
        cache.reset("sqlite_synchronous", _SYNC_NORMAL, update=False)
        return cache

    def value(self, name: str, key: str) -> Any | None:
        """A decoded value, or ``None``: missing, unreadable, or undecodable (then deleted).
        Never raises, never writes a row."""
        if name in self._unreadable:
            return None
        try:
            cache = self.get(name, create=False)
            if cache is None:
                return None
            return cache.get(key, default=None)
        except (ValueError, RecursionError):
            self.delete_quietly(name, key)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                self.move_aside(name)
            elif not is_busy(exc):
                self._unreadable.add(name)  # read-only or full: diskcache cannot open it
        except QUIET:
            pass
        return None

    def holds(self, name: str, key: str) -> bool:
        """Whether ``name`` holds a live ``key`` (diskcache's ``in``: reads the key only)."""
        cache = self.get(name, create=False)
        return cache is not None and key in cache

    def delete_quietly(self, name: str, key: str) -> None:
        with contextlib.suppress(*QUIET):
            cache = self.get(name, create=False)
            if cache is not None:
                cache.reset("sqlite_synchronous", _SYNC_NORMAL, update=False)
                cache.delete(key)

    def move_aside(self, name: str) -> bool:
        """Move the damaged database ``name`` out of the way (see ``llmx.cache.recovery``)."""
        cache = self._open.pop(name, None)
        if cache is not None:
            with contextlib.suppress(sqlite3.Error, OSError):
                cache.close()
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

    def close(self, name: str | None = None) -> None:
        """Close ``name`` (every database when None); the last connection to a database
        checkpoints its write-ahead log into it and removes the log."""
        for key in [name] if name is not None else list(self._open):
            cache = self._open.pop(key, None)
            if cache is not None:
                with contextlib.suppress(sqlite3.Error, OSError):
                    cache.close()


@contextlib.contextmanager
def writing(directory: Path | None = None) -> Iterator[None]:
    """Turn database failures into ``CacheUnavailable`` (never with a secret: none is here);
    ``directory`` (the cache's) lets the message say "read-only" or "full" when that is the
    cause."""
    try:
        yield
    except diskcache.Timeout:
        if directory is not None and frozen(directory):  # BEGIN failed: not for a lock
            raise CacheUnavailable(explain(sqlite3.OperationalError("frozen"), directory)
                                   ) from None
        raise CacheUnavailable("the cache database stayed locked for too long") from None
    except sqlite3.Error as exc:
        message = f"the cache database failed: {exc}"
        raise CacheUnavailable(message if directory is None else explain(exc, directory)
                               ) from None
    except OSError as exc:
        raise CacheUnavailable(f"the cache directory failed: {exc.strerror}") from None
