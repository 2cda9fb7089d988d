"""The settling half of a batch run: an outcome (an answer, an error, a recalled repeat)
becomes the line's result, is counted and handed to the writer; a transient error puts the
line back in the heap while its retry budget lasts. Also the run's progress figures and its
summary. ``Settler`` is mixed into the runner's ``_Run`` (llmx/batch/runner.py), which owns
the state declared here.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable

from llmx.batch.feed import Counters, Item
from llmx.batch.limits import AdaptiveGate
from llmx.batch.output import OrderedWriter, Result
from llmx.batch.repeats import RepeatMemory
from llmx.batch.summary import ProgressSink, RunStats, Summary
from llmx.errors import ProviderError, RateLimitError, TransportError
from llmx.flight import FlightCancelled
from llmx.types import Completion

PROGRESS_EVERY = 0.1  # seconds between progress updates


def is_transient(exc: BaseException) -> bool:
    """Worth sending again: 429, network/timeouts (a shared request that was abandoned,
    ``FlightCancelled``, is one), 5xx or unknown provider status, 408."""
    if isinstance(exc, RateLimitError | TransportError):
        return True
    if isinstance(exc, ProviderError):
        return exc.status is None or exc.status >= 500 or exc.status in (408, 429)
    return False


class Settler:
    """Takes outcomes; the run supplies the state, ``_refund`` and ``_halt``."""

    writer: OrderedWriter
    gate: AdaptiveGate
    count: Counters
    pending: list[tuple[int, int, Item]]  # heap of (priority, seq, item)
    repeats: RepeatMemory
    progress: ProgressSink
    clock: Callable[[], float]
    resends: Callable[[], int]
    resent_before: int
    line_retries: int
    stopping: bool
    feeding: bool
    interrupted: bool
    held: int
    max_held: int
    in_flight: int
    total: int | None
    started: float
    next_progress: float
    room: asyncio.Event

    def _refund(self, item: Item) -> None:
        raise NotImplementedError

    def _halt(self, error: BaseException | None = None) -> None:
        raise NotImplementedError

    # -- results ----------------------------------------------------------------------------

    def _settle(self, item: Item, ticket: int | None, outcome: Completion | Exception) -> None:
        job = item.job
        if not isinstance(outcome, Exception):
            if ticket is not None:
                self.gate.leave(ticket, ok=True)
                if outcome.cached:
                    self._refund(item)
            if item.key is not None:
                self.repeats.remember(item.key, outcome)
            self._count_answer(item, outcome)
            self._finish(item.seq, Result.answered(job.index, job.id, outcome, item.attempts))
            return
        if ticket is not None:
            if isinstance(outcome, RateLimitError):
                self.gate.rate_limited(ticket, outcome.retry_after)
            else:
                self.gate.leave(ticket, ok=False)
        if is_transient(outcome) and item.attempts <= self.line_retries:
            if not self.stopping:  # when stopping, the line is left for --resume
                heapq.heappush(self.pending, (job.priority, item.seq, item))
            return
        if self.stopping and isinstance(outcome, FlightCancelled):
            return  # its shared request was cancelled at the end of the grace period
        self._finish(item.seq, Result.failed(job.index, job.id, outcome, item.attempts))

    def _recall(self, item: Item) -> bool:
        """Answer a line from the run's memory when its key was answered before."""
        assert item.key is not None
        if item.key not in self.repeats:
            return False
        completion = self.repeats.recall(item.key)
        if completion is None:
            return False
        item.follower = True
        self._count_answer(item, completion)
        job = item.job
        try:
            self._finish(item.seq, Result.answered(job.index, job.id, completion, item.attempts))
        except Exception as exc:  # the writer failed (disk full, closed pipe)
            self._halt(exc)
        return True

    def _count_answer(self, item: Item, completion: Completion) -> None:
        count = self.count
        count.ok += 1
        if item.follower:
            count.coalesced += 1
        if completion.cached == "exact":
            count.exact += 1
        elif completion.cached == "semantic":
            count.semantic += 1

    def _finish(self, seq: int, result: Result) -> None:
        if result.error is not None:
            self.count.errors += 1
        written = self.writer.add(seq, result)
        if written:
            self.held -= written
            self.room.set()
        now = self.clock()
        if now >= self.next_progress:
            self.next_progress = now + PROGRESS_EVERY
            self.progress.update(self._stats(now))

    # -- reporting --------------------------------------------------------------------------

    def _stats(self, now: float | None = None) -> RunStats:
        count = self.count
        elapsed = (self.clock() if now is None else now) - self.started
        return RunStats(
            total=self._total(), read=count.read, ok=count.ok, errors=count.errors,
            skipped=count.skipped,
            cached_exact=count.exact, cached_semantic=count.semantic, coalesced=count.coalesced,
            retries=count.retries + self.resends() - self.resent_before, sends=count.sends,
            rate_limited=self.gate.pauses,
            in_flight=self.in_flight, waiting=len(self.pending), concurrency=self.gate.limit,
            paused_s=self.gate.paused_for(), elapsed_s=elapsed)

    def _total(self) -> int | None:
        """Lines this run will write: exact once the input is read; until then the caller's
        count (if any) less the ids skipped so far."""
        if not self.feeding:
            return self.count.read
        if self.total is None:
            return None
        return max(self.count.read, self.total - self.count.skipped)

    def _summary(self) -> Summary:
        stats = self._stats()
        return Summary.from_stats(stats, interrupted=self.interrupted,
                                  max_reorder_buffer=self.writer.max_buffered,
                                  max_read_ahead=self.max_held)
