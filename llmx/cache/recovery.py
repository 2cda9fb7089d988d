"""When a cache database is damaged or cannot be written. Standard library only.

* ``is_damage``: SQLite says the file is not a database or its image is malformed
  (``SQLITE_NOTADB``, ``SQLITE_CORRUPT``). Locks, a full disk or a read-only mount are not
  damage: they pass, and the file must be left alone.
* ``move_aside``: a damaged database and its ``-wal`` / ``-shm`` files are renamed to
  ``<name>.corrupt-<UTC time>`` (kept for a post-mortem, never read again) so a fresh
  database can start in their place. A file that is no longer the one this process opened
  (another process already moved it aside and started afresh) is left alone.
* ``ReadOnlyRows``: reads rows of a database that diskcache cannot open because opening
  writes (a read-only mount, a full disk): a plain ``mode=ro`` SQLite connection running
  the same live-row select. Nothing is touched (no LRU update), nothing is created. A WAL
  database whose ``-shm`` file is missing or short cannot be read ``mode=ro`` on a
  read-only mount or a full disk (SQLite would have to create or grow it); there the file
  is opened ``immutable=1``, which is sound because nobody can commit to that file system
  meanwhile (and a row read wrongly fails its checks: a miss).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from llmx.cache import rows

_SQLITE_READONLY: Final = 8
_SQLITE_CORRUPT: Final = 11
_SQLITE_FULL: Final = 13
_SQLITE_NOTADB: Final = 26
_SIDE_FILES: Final = ("", "-wal", "-shm")
_BUSY: Final = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED: another process holds the database
_FULL_BELOW: Final = 64 * 1024  # free bytes under which a disk counts as full


def is_damage(error: BaseException) -> bool:
    """True for a SQLite error that means the database file itself is damaged."""
    code = getattr(error, "sqlite_errorcode", None)
    return (isinstance(error, sqlite3.DatabaseError) and isinstance(code, int)
            and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB))


def is_busy(error: BaseException) -> bool:
    """True for a SQLite error that only means another connection holds a lock."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _BUSY


def explain(error: sqlite3.Error, directory: Path) -> str:
    """What a SQLite failure means for the cache, in a few words (no secret is ever here)."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code == _SQLITE_FULL:
        return "the disk is full"
    if code == _SQLITE_READONLY or _read_only_mount(directory):
        return f"{directory} is on a read-only file system"
    return f"the cache database failed: {error}"


def file_id(path: Path) -> tuple[int, int] | None:
    """``(device, inode)`` of ``path``; None when it does not exist or cannot be read."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def corrupt_name(path: Path, now: Callable[[], float] = time.time) -> Path:
    """``<path>.corrupt-<UTC time, to the microsecond>``."""
    moment = now()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(moment))
    return path.with_name(f"{path.name}.corrupt-{stamp}.{int(moment % 1 * 1e6):06d}Z")


def move_aside(db: Path, opened: tuple[int, int] | None) -> Path | None:
    """Rename ``db`` and its side files out of the way; returns the new name of ``db``.

    None when nothing was moved: ``db`` is gone, is not the file ``opened`` names (someone
    else moved it already), or cannot be renamed (a read-only mount).
    """
    current = file_id(db)
    if current is None or (opened is not None and current != opened):
        return None
    target = corrupt_name(db)
    try:
        os.rename(db, target)
    except OSError:
        return None
    for suffix in _SIDE_FILES[1:]:
        with contextlib.suppress(OSError):
            os.rename(db.with_name(db.name + suffix), target.with_name(target.name + suffix))
    return target


class ReadOnlyRows:
    """Live rows of one diskcache database, read without writing anything."""

    __slots__ = ("_connection", "_db")

    def __init__(self, db: Path) -> None:
        self._db = db
        self._connection: sqlite3.Connection | None = None

    def value(self, key: str) -> Any | None:
        """The stored value under ``key`` (decoded as ``rows.from_column``), else None.
        Raises ``sqlite3.Error`` / ``ValueError`` like the normal path does."""
        if self._connection is None:
            if not self._db.is_file():
                return None
            self._connection = self._connect()
        found = self._connection.execute(rows.SELECT_LIVE, (key, 1, time.time())).fetchall()
        if not found:
            return None
        _rowid, mode, filename, column = found[0]
        if mode != rows.MODE_RAW or filename is not None:
            raise ValueError("value not stored inline")
        return rows.from_column(column)

    def _connect(self) -> sqlite3.Connection:
        try:
            return _opened(self._db, "mode=ro")
        except sqlite3.OperationalError:
            if not frozen(self._db):
                raise
            return _opened(self._db, "immutable=1")

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None


def _opened(db: Path, mode: str) -> sqlite3.Connection:
    """A connection to ``db`` opened with the URI parameter ``mode``, checked to read it."""
    connection = sqlite3.connect(f"file:{db}?{mode}", uri=True, timeout=1.0,
                                 check_same_thread=False)
    try:
        connection.execute(rows.SCHEMA_PROBE).fetchall()
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def frozen(path: Path) -> bool:
    """True when nothing can be committed to ``path``'s file system: mounted read-only, or
    with less than ``_FULL_BELOW`` bytes free."""
    try:
        info = os.statvfs(path)
    except OSError:
        return False
    return bool(info.f_flag & os.ST_RDONLY) or info.f_bavail * info.f_frsize < _FULL_BELOW
