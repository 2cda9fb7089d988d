"""Refresh-ahead: an exact hit served in the last share of its entry's life is asked again,
once, in the background, so that a hot answer is fresh before it expires.

``cache.refresh_ahead = 0.1`` means "in the last 10 % of its TTL". It is the honest form of
"predictive caching": nothing guesses what will be asked; an answer that is being asked for
right now, and is about to expire, is renewed. What a caller may rely on:

* only exact hits are refreshed (a semantic hit's entry belongs to another prompt);
* one refresh per key at a time in one Client; a hit on an entry whose refresh is running
  is served the current entry and starts nothing;
* the refresh is an ordinary ``--refresh`` call through the request path (sent, stored,
  recorded); if it fails, the entry stays until it expires and the warning is said once;
* only a hit served by ``Client.stream``/``generate`` inside a running event loop starts
  one (``Client.lookup`` is synchronous and never does);
* never in a one-shot process: the CLI's ``ask`` builds its Client with
  ``refresh_ahead=False`` (a process about to exit must not send a request nobody reads);
* ``Refresher.close`` waits for the refreshes in flight, so the answers paid for are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from llmx.cache.types import Hit


def due(hit: Hit, share: float, ttl_s: float, now: float) -> bool:
    """True when ``hit`` is exact and its entry has lived past ``1 - share`` of ``ttl_s``."""
    if share <= 0.0 or hit.tier != "exact" or ttl_s <= 0.0:
        return False
    return now - hit.entry.created >= (1.0 - share) * ttl_s


class Refresher:
    """The refreshes one Client started and has not seen finish."""

    __slots__ = ("_on_error", "_tasks")

    def __init__(self, on_error: Callable[[BaseException], None]) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._on_error = on_error

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, key: str, refresh: Callable[[], Coroutine[Any, Any, Any]]) -> bool:
        """Run ``refresh()`` in the background unless ``key`` is being refreshed already;
        True when it started one. Needs a running event loop."""
        if key in self._tasks:
            return False
        import asyncio  # here, not at the top: the exact-hit path imports this module

        task = asyncio.get_running_loop().create_task(refresh())
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return True

    def _finished(self, key: str, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(key, None)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self._on_error(error)

    async def close(self) -> None:
        """Wait for every refresh still running (their answers are paid for)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
