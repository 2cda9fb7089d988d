"""Why the optimised side is faster, in the bench's own words: the ``why`` note is built from
the measured completions, and twin simulators give both sides the same simulated latency."""

from __future__ import annotations

from llmx.bench.measure import Timed
from llmx.bench.rows import why
from llmx.sim.faults import Dice
from llmx.sim.options import SimOptions
from llmx.types import Completion, Usage


def timed(walls: list[float], calls: list[float], tokens: int) -> Timed:
    done = [Completion(text="x", model="m", provider="openai", latency_ms=c,
                       usage=Usage(input_tokens=tokens, output_tokens=1)) for c in calls]
    return Timed(wall_ms=walls, completions=done)


def test_why_names_the_measured_saving_and_the_clients_own_work() -> None:
    base = timed([110.0, 120.0, 130.0], [100.0, 110.0, 120.0], tokens=50)
    opt = timed([93.0, 104.0, 113.0], [90.0, 101.0, 110.0], tokens=20)
    text = why(base, opt)
    assert ("the provider call took 101.0 ms vs 110.0 ms "
            "(connection reuse + compression saved 9.0 ms)") in text
    assert "the client's own work 3.0 ms vs 10.0 ms" in text
    assert "compression sent 90 fewer input tokens" in text


def test_why_says_cost_when_the_optimised_call_is_slower() -> None:
    text = why(timed([10.0], [9.0], 5), timed([12.0], [11.0], 5))
    assert "connection reuse cost 2.0 ms" in text and "compression" not in text


def test_twin_simulators_draw_the_same_latencies_in_the_same_order() -> None:
    """What the twins rely on: the simulator's latency plan is a function of its seed and the
    request's position (so both sides' i-th requests match), and another seed differs."""
    def plans(seed: int) -> list[tuple[float, float, float]]:
        dice = Dice(SimOptions(seed=seed, jitter=0.5, ttft_ms=30.0))
        return [(plan.header_delay, plan.first_token_delay, plan.token_interval)
                for plan in (dice.plan(10) for _ in range(6))]

    assert plans(11) == plans(11)
    assert plans(11) != plans(12)
