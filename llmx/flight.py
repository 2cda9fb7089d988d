"""Single flight: identical calls in flight at once in one Client share one upstream answer.

    flights = Flights()
    flight = flights.board(key)          # synchronous: the first call for a key opens it
    if flight.claim():                   # the first participant to iterate drives it ...
        flight.publish(chunk) ... flight.land(hit) / flight.fail(error)
    else:                                # ... every other one replays what it publishes
        async for chunk in flight.replay(): ...

A ``Flight`` is opened by the first call for its key and found by every identical call made
while it is open; whichever of them iterates first drives it. Opening is synchronous, so two
calls made one after the other in the same event-loop step always share. The driver hands
each chunk to the flight as it arrives; the others replay the flight's chunks from the first
and then wait for more, so a follower streams too, at its driver's pace. The flight is
closed (no longer found) when it lands or fails; a follower that joined it reads all of it.

What a follower gets when the driver does not finish: the driver's own error (a provider
error, a timeout: the same exception object), or ``FlightCancelled`` when the driver's caller
walked away (cancelled, or closed its Answer early). A follower is never handed a partial
answer as if it were whole. When nothing had reached it yet and the error is worth trying
again, ``llmx.steps.fly`` makes it drive a new flight once (the other such followers join
that one); otherwise it may ask again.

The table of open flights holds them weakly: a flight whose participants were all dropped
unread disappears with them. Pure asyncio (imported only once a flight has to wait or fail,
so the synchronous cache-hit path never loads it).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Hashable
from typing import TYPE_CHECKING

from llmx.errors import TransportError
from llmx.types import Chunk

if TYPE_CHECKING:
    import asyncio

    from llmx.cache.tiers import Hit


class FlightCancelled(TransportError):
    """The identical request this call shared was abandoned by the caller driving it."""

    default_hint = "ask again: nothing was charged for this call"


class Flight:
    """One upstream answer and the calls that share it (see the module docstring)."""

    __slots__ = ("__weakref__", "_closing", "_waiters", "chunks", "driven", "error", "hit",
                 "landed")

    def __init__(self, closing: weakref.WeakValueDictionary[Hashable, Flight],
                 key: Hashable) -> None:
        self.chunks: list[Chunk] = []
        self.driven = False
        self.landed = False
        self.error: BaseException | None = None
        self.hit: Hit | None = None  # the driver answered from the cache (a remote lookup)
        self._waiters: list[asyncio.Future[None]] = []
        self._closing = (closing, key)

    def claim(self) -> bool:
        """Become the driver: True for the first caller only."""
        if self.driven:
            return False
        self.driven = True
        return True

    def publish(self, chunk: Chunk) -> None:
        self.chunks.append(chunk)
        self._wake()

    def land(self, hit: Hit | None) -> None:
        """The answer is whole (``hit``: it came from the cache)."""
        self.hit, self.landed = hit, True
        self._close()

    def fail(self, error: BaseException) -> None:
        """The driver did not finish: followers raise ``error`` (``FlightCancelled`` when it
        was a cancellation or an early close)."""
        from asyncio import CancelledError  # imported when a loop runs, never on a cache hit

        if isinstance(error, CancelledError | GeneratorExit):
            error = FlightCancelled("the identical request this call shared was abandoned")
        self.error = error
        self._close()

    async def replay(self) -> AsyncIterator[Chunk]:
        """Every chunk of the flight, from the first, as they come; then its error, if any."""
        seen = 0
        while True:
            while seen < len(self.chunks):
                yield self.chunks[seen]
                seen += 1
            if self.error is not None:
                raise self.error
            if self.landed:
                return
            from asyncio import get_running_loop

            waiter = get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def _close(self) -> None:
        table, key = self._closing
        if table.get(key) is self:
            del table[key]
        self._wake()

    def _wake(self) -> None:
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)


class Flights:
    """The open flights of one Client, by key."""

    __slots__ = ("_open",)

    def __init__(self) -> None:
        self._open: weakref.WeakValueDictionary[Hashable, Flight] = weakref.WeakValueDictionary()

    def __contains__(self, key: object) -> bool:
        """Is a flight open for ``key`` (would ``board`` join it)?"""
        return key in self._open

    def __len__(self) -> int:
        return len(self._open)

    def find(self, key: Hashable) -> Flight | None:
        return self._open.get(key)

    def board(self, key: Hashable) -> Flight:
        """The open flight for ``key``, or a new one opened now."""
        flight = self._open.get(key)
        if flight is None:
            flight = Flight(self._open, key)
            self._open[key] = flight
        return flight
