"""The reading half of a batch run: the input goes into the run's heap while fewer than
``window`` lines are held (backpressure); skipped ids, duplicate ids and bad lines are
settled on the spot. ``Feeder`` is mixed into the runner's ``_Run``, which owns the state
declared here. Standard library only (plus the batch modules).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import os
import stat
from collections.abc import AsyncIterable, AsyncIterator, Callable, Container, Iterable
from typing import Protocol

from llmx.batch.jobs import BadLine, Job
from llmx.batch.limits import Bucket
from llmx.batch.output import Result

YIELD_EVERY = 256  # lines read before the reader lets other tasks run

Source = Iterable[Job | BadLine] | AsyncIterable[Job | BadLine]


class Planned(Protocol):
    """A line prepared once (``llmx.steps.Plan``): the runner reads only its key."""

    @property
    def key(self) -> str: ...


class Item:
    """A line waiting or in flight."""

    __slots__ = ("attempts", "follower", "job", "key", "plan", "seq", "tokens")

    def __init__(self, seq: int, job: Job, plan: Planned | None) -> None:
        self.seq, self.job, self.plan = seq, job, plan
        self.key = None if plan is None else plan.key
        self.tokens = 0
        self.attempts = 0
        self.follower = False


class Counters:
    """What a run has counted so far (read, answered, failed, cached, sent, ...)."""

    __slots__ = ("coalesced", "errors", "exact", "ok", "read", "retries", "semantic", "sends",
                 "skipped")

    def __init__(self) -> None:
        self.read = self.ok = self.errors = self.exact = self.semantic = 0
        self.coalesced = self.retries = self.sends = self.skipped = 0


class Feeder:
    """Reads ``source`` into ``pending``; the run supplies the state and ``_finish``/``_halt``."""

    source: Source
    skip: Container[str]
    window: int
    planner: Callable[[Job], Planned | None] | None
    tpm: Bucket | None
    estimate: Callable[[Job], int]
    count: Counters
    pending: list[tuple[int, int, Item]]  # heap of (priority, seq, item)
    seen: set[str]
    next_seq: int
    held: int  # lines read and not yet written
    max_held: int
    feeding: bool
    stopping: bool
    ready: asyncio.Event
    room: asyncio.Event

    def _finish(self, seq: int, result: Result) -> None:
        raise NotImplementedError

    def _halt(self, error: BaseException | None = None) -> None:
        raise NotImplementedError

    def _recall(self, item: Item) -> bool:
        """Answer ``item`` from the run's memory of earlier answers, if it can."""
        raise NotImplementedError

    async def _feed(self) -> None:
        source = self.source
        try:
            if isinstance(source, AsyncIterable):
                await self._feed_async(aiter(source))
            else:
                await self._feed_sync(iter(source))
        except Exception as exc:  # the input failed (e.g. a read error): wind down, re-raise
            self._halt(exc)
        finally:
            self.feeding = False
            self.ready.set()

    async def _feed_sync(self, lines: Iterable[Job | BadLine]) -> None:
        it = iter(lines)
        count = 0
        while await self._has_room():
            entry = next(it, None)
            if entry is None:
                return
            self._admit(entry)
            count += 1
            if count % YIELD_EVERY == 0:  # e.g. a long run of skipped ids
                await asyncio.sleep(0)

    async def _feed_async(self, lines: AsyncIterator[Job | BadLine]) -> None:
        try:
            while await self._has_room():
                entry = await anext(lines, None)
                if entry is None:
                    return
                self._admit(entry)
        finally:
            close = getattr(lines, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()

    async def _has_room(self) -> bool:
        """Wait while the window is full; False once stopping."""
        while self.held >= self.window and not self.stopping:
            self.room.clear()
            await self.room.wait()
        return not self.stopping

    def _admit(self, entry: Job | BadLine) -> None:
        if entry.id in self.skip:
            self.count.skipped += 1
            return
        seq = self.next_seq
        self.next_seq += 1
        self.count.read += 1
        self.held += 1
        self.max_held = max(self.max_held, self.held)
        if isinstance(entry, BadLine):
            self._finish(seq, Result.failed(entry.index, entry.id, ("BadLine", entry.message), 0))
        elif entry.id in self.seen:
            message = f"line {entry.index + 1}: id {entry.id!r} was used by an earlier line"
            self._finish(seq, Result.failed(entry.index, entry.id, ("DuplicateId", message), 0))
        else:
            self.seen.add(entry.id)
            self._queue(seq, entry)

    def _queue(self, seq: int, job: Job) -> None:
        try:
            item = Item(seq, job, None if self.planner is None else self.planner(job))
            if self.tpm is not None:
                item.tokens = self.estimate(job)
        except Exception as exc:  # e.g. the prompt cannot be prepared: this line fails alone
            self._finish(seq, Result.failed(job.index, job.id, exc, 0))
            return
        if item.key is not None and self._recall(item):
            return
        heapq.heappush(self.pending, (job.priority, seq, item))
        self.ready.set()


def count_lines(path: str) -> int | None:
    """The lines ``read_jobs`` will take from ``path`` (blank ones skipped), counted up
    front for the progress display (~0.3 s per million lines); None unless ``path`` is a
    regular file (counting would use up a pipe or a FIFO) or when it cannot be read (the
    real read reports that)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as stream:
            return sum(1 for raw in stream if not raw.isspace())
    except OSError:
        return None
