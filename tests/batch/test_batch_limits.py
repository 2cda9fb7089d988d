"""Token buckets and the adaptive gate, on fake time."""

from __future__ import annotations

import asyncio

import pytest

from llmx.batch.limits import AdaptiveGate, TokenBucket

from .fakes import FakeTime


def test_bucket_paces_requests_at_its_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(60, clock=time, sleep=time.sleep)  # one a second, burst of one
    starts = []

    async def go() -> None:
        for _ in range(5):
            await bucket.take()
            starts.append(time.now)

    asyncio.run(go())
    assert starts == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0])


def test_bucket_refills_up_to_its_capacity_only() -> None:
    time = FakeTime()
    bucket = TokenBucket(600, capacity=5, clock=time)  # 10 a second
    assert [bucket.reserve(1) for _ in range(5)] == [0, 0, 0, 0, 0]
    assert bucket.reserve(1) == pytest.approx(0.1)
    time.now += 100  # a long idle time refills to the capacity, not beyond
    assert bucket.tokens == 5
    assert bucket.reserve(5) == 0
    assert bucket.reserve(1) == pytest.approx(0.1)


def test_a_request_larger_than_the_bucket_goes_out_and_leaves_a_debt() -> None:
    time = FakeTime()
    bucket = TokenBucket(600, capacity=10, clock=time)  # 10 tokens a second
    assert bucket.reserve(50) == 0  # full bucket: allowed
    assert bucket.tokens == -40
    assert bucket.reserve(10) == pytest.approx(5.0)  # waits for the debt and its own tokens


def test_refund_gives_tokens_back() -> None:
    time = FakeTime()
    bucket = TokenBucket(60, clock=time)
    bucket.reserve(1)
    assert bucket.reserve(1) == pytest.approx(1.0)
    bucket.refund(1)
    assert bucket.reserve(1) == pytest.approx(1.0)


def test_bucket_rejects_a_zero_rate() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_gate_limits_requests_in_flight() -> None:
    gate = AdaptiveGate(2, clock=FakeTime())
    tickets = [gate.enter(), gate.enter()]
    assert not gate.has_room()
    gate.leave(tickets[0], ok=True)
    assert gate.has_room() and gate.in_use == 1


def test_a_429_pauses_everyone_and_halves_the_limit_once_per_episode() -> None:
    time = FakeTime()
    gate = AdaptiveGate(16, clock=time, default_pause=1.0)
    early = [gate.enter() for _ in range(8)]
    gate.rate_limited(early[0], retry_after=3.0)
    assert gate.limit == 8 and gate.paused_for() == pytest.approx(3.0)
    for ticket in early[1:4]:  # the same burst answering 429 too: no further cuts
        gate.rate_limited(ticket, retry_after=None)
    assert gate.limit == 8 and gate.pauses == 4
    time.now += 3.0
    assert gate.paused_for() == 0
    late = gate.enter()  # sent after the cut: its 429 cuts again
    gate.rate_limited(late, retry_after=0)
    assert gate.limit == 4
    assert gate.paused_for() == pytest.approx(1.0)  # no Retry-After: the default pause


def test_limit_never_drops_below_the_minimum() -> None:
    gate = AdaptiveGate(4, minimum=2, clock=FakeTime())
    for _ in range(5):
        gate.rate_limited(gate.enter(), retry_after=0.1)
    assert gate.limit == 2


def test_limit_recovers_additively_after_runs_of_successes() -> None:
    time = FakeTime()
    gate = AdaptiveGate(8, recover_after=3, clock=time)
    gate.rate_limited(gate.enter(), retry_after=1)
    assert gate.limit == 4
    for _ in range(2):
        gate.leave(gate.enter(), ok=True)
    gate.leave(gate.enter(), ok=False)  # a failure does not count towards the run
    assert gate.limit == 4
    for _ in range(3):
        gate.leave(gate.enter(), ok=True)
    assert gate.limit == 5
    for _ in range(30):
        gate.leave(gate.enter(), ok=True)
    assert gate.limit == 8  # capped at the maximum


def test_acquire_waits_for_room_and_for_the_pause() -> None:
    time = FakeTime()
    gate = AdaptiveGate(1, clock=time, sleep=time.sleep)

    async def go() -> list[float]:
        starts: list[float] = []
        first = await gate.acquire()

        async def second() -> None:
            ticket = await gate.acquire()
            starts.append(time.now)
            gate.leave(ticket, ok=True)

        waiting = asyncio.ensure_future(second())
        await asyncio.sleep(0)
        assert not starts  # no room yet
        gate.rate_limited(first, retry_after=2.0)
        await waiting
        return starts

    assert asyncio.run(go()) == [pytest.approx(2.0)]
