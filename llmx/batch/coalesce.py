"""Single flight: identical requests in flight are sent once and their answer shared.

    flight = SingleFlight[Completion]()
    completion = await flight.run(key, lambda: send(job))   # key None: no sharing

The first caller for a key (the leader) runs the factory; callers that arrive with the same
key while it runs (followers) await the same outcome, answer or exception, and are counted in
``coalesced``. ``run`` registers the leader when it is *called*, not when its awaitable first
runs, so a caller can hand the awaitable to a task and still have later callers join it.
When the leader is cancelled, its followers get ``FlightCancelled`` (an ordinary exception:
they were not cancelled themselves and may try again). Pure asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class FlightCancelled(Exception):
    """The shared request this caller was waiting for was cancelled."""


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[T]] = {}
        self.coalesced = 0  # callers answered (or failed) by another caller's request

    def __contains__(self, key: object) -> bool:
        """Is a request with this key in flight (would ``run`` share it)?"""
        return key in self._flights

    def __len__(self) -> int:
        return len(self._flights)

    def run(self, key: str | None, factory: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        """The outcome for ``key``: the request in flight for it, or a new one from ``factory``."""
        if key is None:
            return factory()
        shared = self._flights.get(key)
        if shared is not None:
            self.coalesced += 1
            return asyncio.shield(shared)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        return self._lead(key, future, factory)

    async def _lead(self, key: str, future: asyncio.Future[T],
                    factory: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await factory()
        except asyncio.CancelledError:
            _fail(future, FlightCancelled("the shared request was cancelled"))
            raise
        except BaseException as exc:
            _fail(future, exc)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            if self._flights.get(key) is future:
                del self._flights[key]


def _fail(future: asyncio.Future[T], exc: BaseException) -> None:
    future.set_exception(exc)
    future.exception()  # mark it retrieved: no warning when nobody was waiting
