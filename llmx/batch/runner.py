"""run_batch: many Jobs through one ``send``, concurrently, in bounded memory.

    summary = await run_batch(read_jobs(stream), send=send, writer=OrderedWriter(out),
                              concurrency=100, plan=plan, shared=shared, stop=stop_event)

How a line travels: read (and planned once, ``plan(job)``) while fewer than ``window`` lines
are held (waiting, in flight, or done but waiting for an earlier line; a full window stops
reading: backpressure) -> a heap by (priority, input order) -> the gate (adaptive
concurrency, the shared 429 pause) and the --rpm/--tpm buckets -> ``send(job, plan)``, called
at launch and awaited in the line's task -> a Result, or back to the heap after a transient
error while the line's retry budget lasts -> the writer. Identical lines in flight together
are sent once by the Client's own single flight (``llmx.flight``): a line that
``shared(job, plan)`` says would join one goes without a gate ticket or a bucket charge and
counts in ``coalesced``, not ``sends``.

Repeats: a line whose key was already answered in this run is answered from the run's
``RepeatMemory`` (llmx/batch/repeats.py) when it is read or reaches the top of the heap: no
send, whatever the cache's size or mode. Its output line carries the earlier answer's text,
usage and ``cached`` (false unless that answer came from the cache), ``latency_ms`` 0 and
``attempts`` 0 (it never went out); the summary counts it in ``coalesced``. A failed answer
is not remembered: a later identical line is sent again.

Retries: ``retries`` counts every re-send, the runner's own (a line sent again after a
transient error) and the engine's (``resends()``: HTTP retries inside one ``send``).

Ids: an id in ``skip`` (``--resume``) is not run and gets no line; an id seen earlier in the
same input gets an error line (``DuplicateId``) instead of running again, so resuming by id
stays sound. The set of ids seen is the only state that grows with the input (~100 bytes
per id).

Stopping: when ``stop`` is set nothing new is sent; lines in flight get ``grace`` seconds to
finish, then are cancelled and get NO line (resume runs them again); finished lines are
written (out of order if a line before them never finished) and ``interrupted`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Awaitable, Callable, Container, Iterable
from typing import Any

from llmx.batch.feed import Counters, Feeder, Item, Planned, Source
from llmx.batch.jobs import Job, estimate_tokens
from llmx.batch.limits import AdaptiveGate, Bucket, Sleep
from llmx.batch.output import OrderedWriter
from llmx.batch.repeats import RepeatMemory
from llmx.batch.settle import Settler, is_transient
from llmx.batch.summary import NullProgress, ProgressSink, RunStats, Summary
from llmx.types import Completion

__all__ = ["NullProgress", "ProgressSink", "RunStats", "Summary", "is_transient", "run_batch"]

DEFAULT_GRACE = 5.0
DEFAULT_LINE_RETRIES = 2
WINDOW_PER_SLOT = 4  # default read-ahead window: 4 x concurrency

Send = Callable[[Job, Planned | None], Awaitable[Completion]]


async def run_batch(
    jobs: Source, *, send: Send, writer: OrderedWriter, concurrency: int,
    plan: Callable[[Job], Planned | None] | None = None,
    shared: Callable[[Job, Planned], bool] | None = None, gate: AdaptiveGate | None = None,
    rpm: Bucket | None = None, tpm: Bucket | None = None,
    estimate: Callable[[Job], int] = estimate_tokens, progress: ProgressSink | None = None,
    stop: asyncio.Event | None = None, grace: float = DEFAULT_GRACE,
    line_retries: int = DEFAULT_LINE_RETRIES, window: int | None = None,
    skip: Container[str] = frozenset(), total: int | None = None,
    repeats: RepeatMemory | None = None, resends: Callable[[], int] | None = None,
    clock: Callable[[], float] = time.perf_counter, sleep: Sleep = asyncio.sleep,
) -> Summary:
    """Run every job; write exactly one line per input line (unless stopped); summarise.

    ``plan(job)``: the line prepared once (``Client.plan``); its ``key`` is the request's
    identity (None: no sharing). ``shared(job, plan)``: would it join a request in flight
    (``Client.in_flight``)? ``repeats``: the run's answers by key, to answer a line whose key
    was answered before (default a fresh ``RepeatMemory()``, closed at the end).
    ``resends()``: re-sends made below ``send`` so far (the HTTP engines' retries), counted
    into ``retries`` from the value at the start.
    ``gate``: defaults to ``AdaptiveGate(concurrency)``. ``rpm``/``tpm``: buckets charged
    1 and ``estimate(job)`` per send (refunded when the answer came from the cache).
    ``window``: lines held at once, default ``4 * concurrency``. ``total``: the input's line
    count when known beforehand, for the progress display only. Raises what the writer or
    the input raised, after winding down.
    """
    run = _Run(jobs, send, writer, gate or AdaptiveGate(concurrency), stop or asyncio.Event())
    run.planner, run.rpm, run.tpm, run.estimate = plan, rpm, tpm, estimate
    run.paced = rpm is not None or tpm is not None  # without buckets: no wait to ask for
    run.shared = shared or (lambda job, plan: False)
    run.progress = progress or NullProgress()
    run.grace, run.line_retries, run.skip = grace, line_retries, skip
    run.window = max(1, window if window is not None else WINDOW_PER_SLOT * concurrency)
    run.clock, run.sleep, run.total = clock, sleep, total
    run.resends = resends or _none
    with RepeatMemory() if repeats is None else repeats as run.repeats:
        return await run.run()


def _none() -> int:
    return 0


async def _raising(error: Exception) -> Completion:
    raise error


class _Run(Settler, Feeder):
    """One run; reading the input is ``Feeder``'s half (llmx/batch/feed.py), taking the
    outcomes and reporting is ``Settler``'s (llmx/batch/settle.py)."""

    rpm: Bucket | None
    paced: bool
    progress: ProgressSink
    grace: float
    line_retries: int
    clock: Callable[[], float]
    sleep: Sleep
    total: int | None
    repeats: RepeatMemory
    resends: Callable[[], int]
    shared: Callable[[Job, Planned], bool]

    def __init__(self, source: Source, send: Send, writer: OrderedWriter, gate: AdaptiveGate,
                 stop: asyncio.Event) -> None:
        self.source, self.send, self.writer, self.gate, self.stop = (
            source, send, writer, gate, stop)
        self.count = Counters()
        self.pending: list[tuple[int, int, Item]] = []  # heap of (priority, seq, item)
        self.tasks: set[asyncio.Task[None]] = set()
        self.seen: set[str] = set()
        self.in_flight = 0
        self.next_seq = 0
        self.held = 0  # lines read and not yet written
        self.max_held = 0
        self.feeding = True
        self.stopping = False
        self.interrupted = False
        self.fatal: BaseException | None = None
        self.ready = asyncio.Event()  # something for the dispatcher to look at
        self.room = asyncio.Event()  # the window has room again
        self.halted = asyncio.Event()
        self.started = 0.0
        self.next_progress = 0.0
        self.resent_before = 0  # resends() at the start

    # -- the whole run ----------------------------------------------------------------------

    async def run(self) -> Summary:
        self.started = self.clock()
        self.resent_before = self.resends()
        self.progress.start(self.total)
        watcher = asyncio.create_task(self._watch_stop())
        feeder = asyncio.create_task(self._feed())
        try:
            await self._dispatch()
            if self.stopping:
                await self._wind_down()
        finally:
            watcher.cancel()
            feeder.cancel()
            await asyncio.sleep(0)  # let tasks created just now start, so each can be cancelled
            await self._cancel(self.tasks)
            await asyncio.gather(watcher, feeder, return_exceptions=True)
        if self.fatal is not None:
            with contextlib.suppress(Exception):  # keep what finished, unless writing failed
                self.writer.drain()
            raise self.fatal
        if self.interrupted:
            self.writer.drain()
        summary = self._summary()
        self.progress.update(self._stats())
        self.progress.finish(summary)
        return summary

    async def _watch_stop(self) -> None:
        await self.stop.wait()
        self.interrupted = True
        self._halt()

    def _halt(self, error: BaseException | None = None) -> None:
        if error is not None and self.fatal is None:
            self.fatal = error
        self.stopping = True
        self.halted.set()
        self.ready.set()
        self.room.set()

    async def _wind_down(self) -> None:
        """Give lines in flight ``grace`` seconds, then cancel them (they get no line)."""
        if self.tasks:
            _, late = await asyncio.wait(set(self.tasks), timeout=self.grace)
            await self._cancel(late)

    @staticmethod
    async def _cancel(tasks: Iterable[asyncio.Future[Any]]) -> None:
        late = [task for task in tasks if not task.done()]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    # -- sending ----------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        """Send the best waiting line whenever the gate and the buckets allow."""
        gate, pending = self.gate, self.pending
        while not self.stopping:
            if not pending:
                if not self.feeding and not self.in_flight:
                    return
                await self._idle()
                continue
            item = pending[0][2]
            if item.key is not None and self._recall(item):
                heapq.heappop(pending)  # answered from the run's memory: no send
                continue
            paused = gate.paused_for()
            if paused > 0:
                await self._nap(paused)
                continue
            if item.plan is not None and self.shared(item.job, item.plan):
                heapq.heappop(pending)  # the identical request in flight answers it
                self._launch(item, None)
                continue
            if not gate.has_room():
                await self._idle()
                continue
            heapq.heappop(pending)
            if self.paced and not await self._pace(item):
                heapq.heappush(pending, (item.job.priority, item.seq, item))
                continue
            self._launch(item, gate.enter())

    async def _idle(self) -> None:
        self.ready.clear()
        await self.ready.wait()

    async def _pace(self, item: Item) -> bool:
        """Charge the rpm/tpm buckets; wait if they say so. False: do not send now."""
        delay = 0.0
        if self.rpm is not None:
            delay = self.rpm.reserve(1)
        if self.tpm is not None:
            delay = max(delay, self.tpm.reserve(item.tokens))
        if delay <= 0:
            return True
        await self._nap(delay)
        if self.stopping or self.gate.paused_for() > 0:
            self._refund(item)
            return False
        return True

    def _refund(self, item: Item) -> None:
        if self.rpm is not None:
            self.rpm.refund(1)
        if self.tpm is not None:
            self.tpm.refund(item.tokens)

    async def _nap(self, delay: float) -> None:
        """Sleep (injected clock), waking early when the run halts."""
        sleeper = asyncio.ensure_future(self.sleep(delay))
        waker = asyncio.ensure_future(self.halted.wait())
        await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        await self._cancel((sleeper, waker))

    def _launch(self, item: Item, ticket: int | None) -> None:
        """Start one send (without a ticket: join the identical one in flight), one task
        per line."""
        item.attempts += 1
        item.follower = ticket is None
        try:
            call = self.send(item.job, item.plan)  # the Client opens or joins its flight now
        except Exception as exc:
            call = _raising(exc)
        if not item.follower:
            self.count.sends += 1
            if item.attempts > 1:
                self.count.retries += 1
        self.in_flight += 1
        task = asyncio.create_task(self._attempt(item, ticket, call))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _attempt(self, item: Item, ticket: int | None, call: Awaitable[Completion]
                       ) -> None:
        outcome: Completion | Exception
        try:
            outcome = await call
        except Exception as exc:
            outcome = exc
        except BaseException:  # cancelled after the grace period: no line
            self.in_flight -= 1
            if ticket is not None:
                self.gate.leave(ticket, ok=False)
            raise
        self.in_flight -= 1
        try:
            self._settle(item, ticket, outcome)
        except Exception as exc:  # the writer failed (disk full, closed pipe)
            self._halt(exc)
        self.ready.set()
