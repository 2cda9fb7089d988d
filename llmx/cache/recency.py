"""Approximate LRU order of the response entries, kept above diskcache's public API.

diskcache's own LRU (``eviction_policy="least-recently-used"``) writes an access time on
every ``get``, so every hit would be a write (and, on close, a synced checkpoint). Instead:

* a hit only notes ``(stamp, key)`` in memory (``Touches.note``); a process that ends
  without having written appends its notes to the touch file ``recency/touches`` (one
  ``write``, no fsync; the file is capped at ``TOUCH_FILE_CAP`` bytes, touches beyond it are
  dropped);
* the next write transaction, in any process, folds the touch files and its own notes into
  the ``recency`` database (``record``): ``"@" + key`` holds the key's stamp and
  ``"!<stamp>:" + key`` puts it in diskcache's key order, so ``iterkeys()`` walks entries
  from the least recently used;
* eviction (``oldest``) walks that order from the front, a few rows per evicted entry.

Trade-offs, all of which cost at most a cache entry kept or dropped too early:

* the order is approximate: touches noted by a process that was killed, a touch file that
  hit its cap, or an append racing the writer that takes the file are lost; a key then looks
  as old as its last recorded use;
* stamps are wall-clock nanoseconds (monotonic within a process), so a clock step between
  processes reorders recent uses;
* entries the recency database does not know (written before it existed, or whose rows were
  lost in a crash between the two transactions) count as the least recently used.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from llmx.cache import rows

TOUCH_FILE: Final = "touches"
TOUCH_FILE_CAP: Final = 1 << 20
_lock = threading.Lock()
_last_stamp = 0


def next_stamp() -> int:
    """Wall-clock nanoseconds, strictly increasing within this process."""
    global _last_stamp
    with _lock:
        _last_stamp = max(time.time_ns(), _last_stamp + 1)
        return _last_stamp


class Touches:
    """Hits noted since the last write: in memory, and in the touch files on disk."""

    __slots__ = ("_directory", "_notes")

    def __init__(self, directory: Path) -> None:
        self._directory = directory  # the recency database's directory
        self._notes: dict[str, int] = {}

    def note(self, key: str) -> None:
        self._notes[key] = next_stamp()

    def take(self) -> dict[str, int]:
        """Every touch noted so far (this process's and the touch files'), forgotten here and
        on disk (the files are renamed before they are read: later appends start anew)."""
        found, self._notes = self._notes, {}
        mine = self._directory / f"{TOUCH_FILE}.{os.getpid()}-{next_stamp()}"
        with contextlib.suppress(OSError):
            os.rename(self._directory / TOUCH_FILE, mine)
        for path in self._files():
            try:
                text = path.read_text("utf-8", errors="replace")
                path.unlink()
            except OSError:
                continue
            for key, stamp in rows.parse_touches(text).items():
                found[key] = max(stamp, found.get(key, 0))
        return found

    def spill(self) -> None:
        """Append the notes to the touch file (best effort, no fsync), then forget them. The
        file is only created inside an existing recency directory."""
        notes, self._notes = self._notes, {}
        lines = [rows.touch_line(stamp, key) for key, stamp in notes.items()]
        data = "".join(line for line in lines if line).encode()
        if not data or not self._directory.is_dir():
            return
        with contextlib.suppress(OSError):
            fd = os.open(self._directory / TOUCH_FILE,
                         os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600)
            try:
                if os.fstat(fd).st_size + len(data) <= TOUCH_FILE_CAP:
                    os.write(fd, data)
            finally:
                os.close(fd)

    def forget(self) -> None:
        """Drop the notes and the touch files (``clear``)."""
        self._notes = {}
        for path in self._files():
            with contextlib.suppress(OSError):
                path.unlink()

    def _files(self) -> list[Path]:
        if not self._directory.is_dir():
            return []
        return sorted(self._directory.glob(f"{TOUCH_FILE}*"))


def record(recency: Any, stamps: dict[str, int], known: Callable[[str], bool]) -> None:
    """Move each key of ``stamps`` to its stamp in the LRU order (inside the caller's
    transaction). A key the order does not hold yet is added only if ``known(key)``; an
    older stamp never replaces a newer one."""
    for key, stamp in stamps.items():
        old = recency.get(rows.stamp_key(key))
        if isinstance(old, int):
            if old >= stamp:
                continue
            recency.delete(rows.recent_key(old, key))
        elif not known(key):
            continue
        recency.set(rows.recent_key(stamp, key), 0)
        recency.set(rows.stamp_key(key), stamp)


def order_rows(recency: Any) -> Iterator[tuple[str, str]]:
    """``(row, entry key)`` of the LRU order, least recently used first."""
    for row in recency.iterkeys():
        key = rows.recent_entry(row)
        if key is None:
            return  # past the order rows ("!" sorts first)
        yield row, key


def oldest(recency: Any, present: Callable[[str], bool],
           count: int) -> tuple[list[str], list[str]]:
    """Up to ``count`` present entry keys from the least recently used on, and the recency
    rows to delete with them (theirs, and those of entries already gone)."""
    victims: list[str] = []
    dead: list[str] = []
    if count <= 0:
        return victims, dead
    for row, key in order_rows(recency):
        dead.extend((row, rows.stamp_key(key)))
        if present(key):
            victims.append(key)
            if len(victims) >= count:
                break
    return victims, dead


def unknown(keys: Iterable[str], recency: Any, count: int, skip: set[str]) -> list[str]:
    """Up to ``count`` of ``keys`` that the recency order does not hold (nor ``skip``)."""
    found: list[str] = []
    for key in keys:
        if len(found) >= count:
            break
        if key not in skip and rows.stamp_key(key) not in recency:
            found.append(key)
    return found
