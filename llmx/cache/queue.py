"""Cache writes waiting to be written together (``CacheStore(grouping=...)``). No IO here.

A queue holds response entries by key (a later ``put`` of the same key replaces the earlier
one) and vector rows by embedder, in order. It is *due* when it holds ``Grouping.entries``
writes or its oldest write is ``Grouping.max_age`` seconds old; the store then writes it in
one transaction per database. Whatever is queued is lost if the process dies first: a cache
entry, never an answer (the answer was delivered before it was queued).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from llmx.cache.types import Entry

# NamedTuples and a slots class, not dataclasses: a cache hit imports this module, and a
# dataclass costs ~1 ms to create.


class Grouping(NamedTuple):
    """When a queue of writes is written: at ``entries`` writes, or ``max_age`` seconds
    after its oldest one (checked on the next write), and always on flush / close."""

    entries: int = 64
    max_age: float = 0.25


class Queued(NamedTuple):
    """One response write: the entry (served to this process's reads meanwhile), its
    stored form, and its lifetime in seconds (``None``: no expiry)."""

    entry: Entry
    value: Any
    expire: float | None


class WriteQueue:
    """The writes waiting, by key (entries) and by embedder (vector rows), in order."""

    __slots__ = ("_count", "_since", "clock", "entries", "grouping", "vectors")

    def __init__(self, grouping: Grouping, clock: Callable[[], float] = time.monotonic) -> None:
        self.grouping, self.clock = grouping, clock
        self.entries: dict[str, Queued] = {}
        self.vectors: dict[str, list[bytes]] = {}  # embedder -> payloads
        self._since: float | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def put(self, key: str, queued: Queued) -> None:
        self.entries.pop(key, None)  # a rewrite goes to the back, as a new write
        self.entries[key] = queued
        self._added()

    def append_vector(self, embedder: str, payload: bytes) -> None:
        self.vectors.setdefault(embedder, []).append(payload)
        self._added()

    def discard(self, key: str) -> None:
        self.entries.pop(key, None)

    def due(self) -> bool:
        if self._since is None:
            return False
        return (self._count >= self.grouping.entries
                or self.clock() - self._since >= self.grouping.max_age)

    def take(self) -> tuple[dict[str, Queued], dict[str, list[bytes]]]:
        """Everything queued, in order; the queue starts empty again."""
        taken = self.entries, self.vectors
        self.entries, self.vectors = {}, {}
        self._since, self._count = None, 0
        return taken

    def _added(self) -> None:
        self._count += 1
        if self._since is None:
            self._since = self.clock()
