"""Micro-batching: concurrent single-item calls grouped into one call of many items.

Used for embeddings, whose APIs take a list: during a batch run many lookups want a
vector at the same moment, and one request of 16 texts costs about what one of 1 costs.
A group goes out when it holds ``max_batch_size`` items or ``max_wait_ms`` after its first
item arrived, whichever comes first. Pure asyncio; the clock is the event loop's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class MicroBatcher(Generic[In, Out]):
    def __init__(self, call: Callable[[Sequence[In]], Awaitable[Sequence[Out]]], *,
                 max_batch_size: int = 16, max_wait_ms: float = 10.0) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self._call = call
        self._size = max_batch_size
        self._wait = max(0.0, max_wait_ms) / 1000.0
        self._items: list[In] = []
        self._waiters: list[asyncio.Future[Out]] = []
        self._timer: asyncio.TimerHandle | None = None
        self.calls = 0  # groups sent

    async def __call__(self, items: Sequence[In]) -> list[Out]:
        """Results for ``items`` (in order), sent together with other callers' items."""
        loop = asyncio.get_running_loop()
        futures = []
        for item in items:
            future: asyncio.Future[Out] = loop.create_future()
            self._items.append(item)
            self._waiters.append(future)
            futures.append(future)
            if len(self._items) >= self._size:
                self._flush()
        if self._items and self._timer is None:
            self._timer = loop.call_later(self._wait, self._flush)
        return list(await asyncio.gather(*futures))

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        items, waiters = self._items, self._waiters
        self._items, self._waiters = [], []
        if items:
            self.calls += 1
            asyncio.get_running_loop().create_task(self._send(items, waiters))

    async def _send(self, items: list[In], waiters: list[asyncio.Future[Out]]) -> None:
        try:
            results = await self._call(items)
            if len(results) != len(items):
                raise ValueError(f"expected {len(items)} results, got {len(results)}")
        except Exception as exc:  # every caller of this group sees the failure
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter, result in zip(waiters, results, strict=True):
            if not waiter.done():
                waiter.set_result(result)
