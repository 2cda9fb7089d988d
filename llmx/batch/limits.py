"""Rate limits for batch runs: token buckets and an adaptive concurrency gate. Pure asyncio.

``TokenBucket`` paces --rpm (one token per request) and --tpm (estimated tokens per request);
``SharedBucket`` does the same with its tokens in a shared Redis (``cache.backend = "redis"``).
``AdaptiveGate`` bounds requests in flight with an AIMD limit: a 429 pauses every sender for
its Retry-After and halves the limit; a run of successes raises it by one again.
Both take an injected ``clock`` (seconds, monotonic) and ``sleep`` so tests run on fake time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_PAUSE = 1.0  # seconds paused after a 429 that named no Retry-After
DEFAULT_RECOVER_AFTER = 10  # successes in a row before the limit grows by one


class Bucket(Protocol):
    """What the batch runner needs of a rate limiter (``TokenBucket``, ``SharedBucket``)."""

    rate: float

    def reserve(self, amount: float) -> float: ...
    def refund(self, amount: float) -> None: ...


class TokenBucket:
    """``per_minute`` tokens a minute, refilled continuously, holding at most ``capacity``.

    ``capacity`` defaults to one second's worth (at least 1): smooth pacing, small bursts.
    A request larger than the capacity goes out when the bucket is full and leaves it in
    debt, so huge requests are slowed, never refused.
    """

    def __init__(self, per_minute: float, *, capacity: float | None = None,
                 clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        if per_minute <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.rate = per_minute / 60.0  # tokens per second
        self.capacity = max(1.0, self.rate) if capacity is None else capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._stamp = clock()

    @property
    def tokens(self) -> float:
        """Tokens available now (negative while in debt)."""
        self._refill()
        return self._tokens

    def reserve(self, amount: float) -> float:
        """Take ``amount`` now; returns how many seconds to wait before using it."""
        self._refill()
        need = min(amount, self.capacity)
        wait = max(0.0, (need - self._tokens) / self.rate)
        self._tokens -= amount
        return wait

    def refund(self, amount: float) -> None:
        """Give back tokens that were not spent (e.g. the answer came from the cache)."""
        self._refill()
        self._tokens = min(self.capacity, self._tokens + amount)

    async def take(self, amount: float = 1.0) -> None:
        delay = self.reserve(amount)
        if delay > 0:
            await self._sleep(delay)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now


class SharedBucket:
    """A ``TokenBucket`` whose tokens live in a shared store (every process using the same
    Redis draws from one bucket: ``RedisStore.bucket``, the Redis server's clock). When the
    store cannot be reached it carries on with a local bucket of the same rate (``warn``
    says so once), so a run is never stopped by its limiter."""

    def __init__(self, remote: Callable[[float, float, float], float], per_minute: float, *,
                 warn: Callable[[str], None], sleep: Sleep = asyncio.sleep) -> None:
        self._remote = remote
        self._local = TokenBucket(per_minute, sleep=sleep)
        self.rate, self.capacity = self._local.rate, self._local.capacity
        self._warn: Callable[[str], None] | None = warn
        self._sleep = sleep

    def reserve(self, amount: float) -> float:
        if self._warn is None:
            return self._local.reserve(amount)
        from llmx.cache.databases import CacheUnavailable

        try:
            return self._remote(self.rate, self.capacity, amount)
        except CacheUnavailable as exc:
            self._warn(f"{exc.message}; rate limits are kept by this process alone")
            self._warn = None
            return self._local.reserve(amount)

    def refund(self, amount: float) -> None:
        self.reserve(-amount)

    async def take(self, amount: float = 1.0) -> None:
        delay = self.reserve(amount)
        if delay > 0:
            await self._sleep(delay)


class AdaptiveGate:
    """How many requests may be in flight, moved AIMD, plus a pause shared by every sender.

    ``enter()`` returns a ticket; give it back with ``leave(ticket, ok=...)`` or, for a 429,
    ``rate_limited(ticket, retry_after)``: that pauses everyone for ``retry_after`` (or
    ``default_pause``) and halves the limit (not below ``minimum``) -- once per episode: a
    429 for a request sent before the last cut only extends the pause. ``recover_after``
    successes in a row raise the limit by one, up to ``maximum``.
    """

    def __init__(self, maximum: int, *, minimum: int = 1,
                 recover_after: int = DEFAULT_RECOVER_AFTER, default_pause: float = DEFAULT_PAUSE,
                 clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        if maximum < 1:
            raise ValueError("a gate needs room for at least one request")
        self.maximum = maximum
        self.minimum = max(1, min(minimum, maximum))
        self.limit = maximum
        self.in_use = 0
        self.cuts = 0  # times the limit was halved; also the ticket of a request sent now
        self.pauses = 0  # 429s seen
        self._recover_after = max(1, recover_after)
        self._default_pause = default_pause
        self._clock = clock
        self._sleep = sleep
        self._streak = 0
        self._paused_until = -math.inf
        self._waiters: deque[asyncio.Future[None]] = deque()

    def paused_for(self) -> float:
        """Seconds until sending may resume (0 when not paused)."""
        return max(0.0, self._paused_until - self._clock())

    def has_room(self) -> bool:
        return self.in_use < self.limit

    def enter(self) -> int:
        """Take a slot now (the caller checked ``has_room`` and ``paused_for``)."""
        self.in_use += 1
        return self.cuts

    def leave(self, ticket: int, *, ok: bool) -> None:
        self.in_use -= 1
        if ok:
            self._streak += 1
            if self._streak >= self._recover_after and self.limit < self.maximum:
                self.limit += 1
                self._streak = 0
                self._wake()
        self._wake()

    def rate_limited(self, ticket: int, retry_after: float | None) -> None:
        """``leave`` for a request answered 429: pause everyone, cut the limit."""
        self.in_use -= 1
        self.pauses += 1
        self._streak = 0
        pause = self._default_pause if retry_after is None or retry_after <= 0 else retry_after
        self._paused_until = max(self._paused_until, self._clock() + pause)
        if ticket == self.cuts:
            self.limit = max(self.minimum, self.limit // 2)
            self.cuts += 1
        self._wake()

    async def acquire(self) -> int:
        """Wait for a slot (and for any pause to end); returns the ticket."""
        while True:
            pause = self.paused_for()
            if pause > 0:
                await self._sleep(pause)
            elif self.has_room():
                return self.enter()
            else:
                await self._wait_for_room()

    async def _wait_for_room(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # woken and cancelled at once: pass the wake-up on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
