"""Approximate LRU order of the response entries, kept above diskcache's public API.

diskcache's own LRU (``eviction_policy="least-recently-used"``) writes an access time on
every ``get``, so every hit would be a write (and, on close, a synced checkpoint). Instead
the LRU order is diskcache's iteration order, which is insertion order (documented with
``Cache.peekitem``; ``diskcache.Index`` is an ordered mapping built on it): the front of
``iter(cache)`` is the least recently used entry, and an entry moves to the back when it
is deleted and set again. So:

* a hit only notes ``(stamp, key)`` in memory (``Touches.note``); a process that ends
  without having written appends its notes to the touch file ``<cache>/touches`` (one
  ``write``, no fsync; the file is capped at ``TOUCH_FILE_CAP`` bytes, touches beyond it are
  dropped);
* the next write transaction, in any process, takes the touch files and its own notes and
  moves those entries to the back, oldest touch first, before its own writes
  (``llmx.cache.writes``);
* eviction deletes from the front of the iteration order, after dropping expired rows.

Trade-offs, all of which cost at most a cache entry kept or dropped too early:

* the order is approximate: uses noted by a process that was killed, beyond the touch
  file's cap, or appended while a writer takes the file are lost; an entry then looks as
  old as its last recorded use (or its write);
* within one write, folded uses are ordered by their stamps (wall-clock nanoseconds,
  monotonic within a process; a clock step between processes reorders them), and all of
  them count as older than the write's own entries;
* moving an entry rewrites it (its value is read and written back in the writer's
  transaction): a write pays for the hits since the last one.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Final

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
        self._directory = directory  # the cache directory (the touch files live here)
        self._notes: dict[str, int] = {}

    def note(self, key: str) -> None:
        self._notes[key] = next_stamp()

    def take(self) -> list[str]:
        """Every key used since the last take (this process's and the touch files'), oldest
        use first; forgotten here and on disk (the files are renamed before they are read:
        later appends start a new file)."""
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
        return sorted(found, key=found.__getitem__)

    def spill(self) -> None:
        """Append the notes to the touch file (best effort, no fsync), then forget them. The
        file is only created inside an existing cache directory."""
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
