"""When a cache database is damaged or cannot be written. Standard library only.

* ``is_damage``: SQLite says the file is not a database or its image is malformed
  (``SQLITE_NOTADB``, ``SQLITE_CORRUPT``). Locks, a full disk or a read-only mount are not
  damage: they pass, and the file must be left alone.
* ``move_aside``: a damaged database and its ``-wal`` / ``-shm`` files are renamed to
  ``<name>.corrupt-<UTC time>`` (kept for a post-mortem, never read again) so a fresh
  database can start in their place. A file that is no longer the one this process opened
  (another process already moved it aside and started afresh) is left alone.
* ``explain`` / ``frozen``: what a failure means (a full disk, a read-only mount), for the
  one warning line.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

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
    if frozen(directory):
        return "the disk is full"
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
