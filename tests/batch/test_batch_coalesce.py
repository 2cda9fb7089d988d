"""SingleFlight: one request per key in flight, its outcome shared."""

from __future__ import annotations

import asyncio

import pytest

from llmx.batch.coalesce import FlightCancelled, SingleFlight
from llmx.errors import TransportError


def test_identical_keys_in_flight_share_one_call() -> None:
    async def go() -> tuple[list[str], int, int]:
        flight: SingleFlight[str] = SingleFlight()
        calls = 0
        release = asyncio.Event()

        async def factory() -> str:
            nonlocal calls
            calls += 1
            await release.wait()
            return f"answer {calls}"

        waiting = [asyncio.ensure_future(flight.run("k", factory)) for _ in range(5)]
        other = asyncio.ensure_future(flight.run("other", factory))
        assert "k" in flight and len(flight) == 2
        release.set()
        results = await asyncio.gather(*waiting)
        await other
        return results, calls, flight.coalesced

    results, calls, coalesced = asyncio.run(go())
    assert calls == 2  # one for "k", one for "other"
    assert len(set(results)) == 1
    assert coalesced == 4


def test_the_key_is_taken_when_run_is_called_not_when_awaited() -> None:
    async def go() -> int:
        flight: SingleFlight[int] = SingleFlight()
        calls = 0

        async def factory() -> int:
            nonlocal calls
            calls += 1
            return calls

        first = flight.run("k", factory)  # not awaited yet
        second = flight.run("k", factory)
        assert await first == 1 and await second == 1
        assert "k" not in flight
        assert await flight.run("k", factory) == 2  # a later call sends again
        return calls

    assert asyncio.run(go()) == 2


def test_no_key_means_no_sharing() -> None:
    async def go() -> int:
        flight: SingleFlight[int] = SingleFlight()
        calls = 0

        async def factory() -> int:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0)
            return calls

        await asyncio.gather(*(flight.run(None, factory) for _ in range(3)))
        return calls

    assert asyncio.run(go()) == 3


def test_errors_reach_every_waiter() -> None:
    async def go() -> list[BaseException | str]:
        flight: SingleFlight[str] = SingleFlight()

        async def factory() -> str:
            await asyncio.sleep(0)
            raise TransportError("reset")

        outcomes = await asyncio.gather(*(flight.run("k", factory) for _ in range(3)),
                                        return_exceptions=True)
        return list(outcomes)

    outcomes = asyncio.run(go())
    assert all(isinstance(o, TransportError) for o in outcomes)


def test_a_cancelled_leader_fails_its_followers_without_cancelling_them() -> None:
    async def go() -> tuple[bool, BaseException | None]:
        flight: SingleFlight[str] = SingleFlight()

        async def factory() -> str:
            await asyncio.Event().wait()
            return "never"

        leader = asyncio.ensure_future(flight.run("k", factory))
        follower = asyncio.ensure_future(flight.run("k", factory))
        await asyncio.sleep(0)
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        try:
            await follower
        except FlightCancelled as exc:
            return follower.cancelled(), exc
        return follower.cancelled(), None

    cancelled, error = asyncio.run(go())
    assert not cancelled
    assert isinstance(error, FlightCancelled)
