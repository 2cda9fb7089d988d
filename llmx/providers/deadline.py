"""Total deadlines for many calls under one loop timer (``HttpEngine.request_body``).

``asyncio.timeout`` builds a ``Timeout`` and a loop ``TimerHandle`` per call, pushed on the
loop's heap and cancelled again when the call ends: at -j 100 that is a few percent of a
batch's CPU. ``Deadlines`` keeps the calls in flight in a dict and one timer armed for the
earliest deadline. Calls mostly share a timeout, so a later call never moves the timer and
it fires about once per timeout: it then cancels the calls that are past their deadline
(``within`` turns that cancellation into ``TimeoutError``, exactly as ``asyncio.timeout``
does) and re-arms for the earliest one left. Standard library only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")
_NEVER = float("inf")
_SLACK = 1e-3  # a timer may run this much early (the loop's clock resolution)


class _Watch:
    __slots__ = ("at", "cancelling", "expired", "task")

    def __init__(self, task: asyncio.Task[object], at: float) -> None:
        self.task, self.at = task, at
        self.cancelling = task.cancelling()
        self.expired = False


class Deadlines:
    """The deadlines of the calls in flight on one event loop (rebound to a new loop when
    used from one)."""

    __slots__ = ("_loop", "_timer", "_timer_at", "_watches")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watches: dict[_Watch, None] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = _NEVER

    def __len__(self) -> int:
        return len(self._watches)

    async def within(self, seconds: float, call: Awaitable[T]) -> T:
        """``await call``, cancelled after ``seconds`` (then ``TimeoutError``)."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always in a task under asyncio
            raise RuntimeError("Deadlines.within runs inside a task")
        watch = self._watch(task, max(0.0, seconds))
        try:
            return await call
        except asyncio.CancelledError:
            if watch.expired and task.uncancel() <= watch.cancelling:
                raise TimeoutError from None
            raise
        finally:
            self._watches.pop(watch, None)

    def _watch(self, task: asyncio.Task[object], seconds: float) -> _Watch:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop: the old one's timer and calls are gone
            self._loop, self._watches, self._timer, self._timer_at = loop, {}, None, _NEVER
        watch = _Watch(task, loop.time() + seconds)
        self._watches[watch] = None
        if watch.at < self._timer_at:
            self._arm(watch.at)
        return watch

    def _arm(self, at: float) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = self._loop.call_at(at, self._fire), at

    def _fire(self) -> None:
        self._timer, self._timer_at = None, _NEVER
        assert self._loop is not None
        now = self._loop.time() + _SLACK
        earliest = _NEVER
        for watch in list(self._watches):
            if watch.at <= now:
                if not watch.expired:
                    watch.expired = True
                    watch.task.cancel()
            elif watch.at < earliest:
                earliest = watch.at
        if earliest < _NEVER:
            self._arm(earliest)
