"""Many calls' deadlines under one timer: each call still times out on time, alone."""

from __future__ import annotations

import asyncio
import time

import pytest

from llmx.providers.deadline import Deadlines


def test_a_call_past_its_deadline_is_a_timeout_and_the_others_finish() -> None:
    async def main() -> tuple[list[object], float, int]:
        deadlines = Deadlines()
        began = time.monotonic()

        async def call(seconds: float, lasts: float) -> object:
            try:
                return await deadlines.within(seconds, asyncio.sleep(lasts, result=lasts))
            except TimeoutError:
                return "timeout"

        results = await asyncio.gather(call(5.0, 0.01), call(0.05, 1.0), call(5.0, 0.1),
                                       call(0.2, 0.02))
        return results, time.monotonic() - began, len(deadlines)

    results, took, left = asyncio.run(main())
    assert results == [0.01, "timeout", 0.1, 0.02]
    assert took < 0.9  # the 1 s call was cut at 0.05 s, though a 5 s deadline came first
    assert left == 0


def test_a_later_shorter_deadline_moves_the_timer_forward() -> None:
    async def main() -> float:
        deadlines = Deadlines()
        slow = asyncio.ensure_future(deadlines.within(30.0, asyncio.sleep(0.3)))
        await asyncio.sleep(0)
        began = time.monotonic()
        with pytest.raises(TimeoutError):
            await deadlines.within(0.05, asyncio.sleep(10))
        took = time.monotonic() - began
        await slow
        return took

    assert asyncio.run(main()) < 1.0


def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    async def main() -> None:
        deadlines = Deadlines()
        task = asyncio.ensure_future(deadlines.within(10.0, asyncio.sleep(10)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(deadlines) == 0

    asyncio.run(main())


def test_one_instance_serves_one_loop_after_another() -> None:
    deadlines = Deadlines()

    async def main() -> str:
        try:
            await deadlines.within(0.02, asyncio.sleep(5))
        except TimeoutError:
            return "timeout"
        return "done"

    assert asyncio.run(main()) == "timeout"
    assert asyncio.run(main()) == "timeout"
