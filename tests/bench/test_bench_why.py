"""Why the optimised side is faster, in the bench's own words: the ``why`` note is built from
each request's measured parts, which add up to its wall time, so the parts' differences the
note states add up to the measured difference; twin simulators give both sides the same
simulated latency."""

from __future__ import annotations

import re

import pytest

from llmx.bench.paired import Sample, Timed, with_lookups
from llmx.bench.why import PARTS, by_ttft, paired, parts, saved, why
from llmx.sim.faults import Dice
from llmx.sim.options import SimOptions
from llmx.types import Completion, Usage


def sample(wall: float, setup: float, prepare: float, call: float, lookup: float = 0.0,
           tokens: int = 10, idle: float = 0.0) -> Sample:
    done = Completion(text="x", model="m", provider="openai", latency_ms=call,
                      usage=Usage(input_tokens=tokens, output_tokens=1))
    return Sample(wall, setup, prepare, call, wall - setup - prepare - call, None, done,
                  idle, lookup)


def side(*samples: Sample) -> Timed:
    timed = Timed()
    for one in samples:
        timed.add(one)
    return timed


BASE = side(sample(112.0, 0.5, 0.25, 110.0), sample(122.5, 0.5, 0.25, 121.0),
            sample(131.0, 0.25, 0.5, 129.5))
OPT = side(sample(109.0, 0.0, 0.5, 108.0, lookup=0.25, tokens=4, idle=0.75),
           sample(120.0, 0.0, 0.5, 119.0, lookup=0.5, tokens=4, idle=1.0),
           sample(129.5, 0.0, 0.75, 128.25, lookup=0.25, tokens=4, idle=0.5))


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_a_sides_parts_add_up_to_its_mean_wall_time() -> None:
    for timed in (BASE, OPT):
        assert sum(parts(timed.samples).values()) == pytest.approx(mean(timed.wall_ms))


def test_the_saved_parts_add_up_to_the_measured_difference() -> None:
    difference = mean(BASE.wall_ms) - mean(OPT.wall_ms)
    assert sum(saved(BASE, OPT).values()) == pytest.approx(difference)
    text = why(BASE, OPT)
    total = re.search(r"in all ([\d.]+) vs ([\d.]+) ms, saved ([\d.]+) ms", text)
    assert total is not None, text
    assert float(total[1]) == pytest.approx(mean(BASE.wall_ms), abs=0.005)
    assert float(total[2]) == pytest.approx(mean(OPT.wall_ms), abs=0.005)
    assert float(total[3]) == pytest.approx(difference, abs=0.005)
    stated = [float(m[1]) * (1 if m[0].startswith("saved") else -1) for m in
              re.findall(r"\((saved|cost) ([\d.]+) ms\)", text)]
    assert len(stated) == len(PARTS)
    assert sum(stated) == pytest.approx(difference, abs=0.03)


def test_why_names_each_part_and_what_moved_after_the_answer() -> None:
    text = why(BASE, OPT)
    assert "cache look-up 0.00 vs 0.33 ms (cost 0.33 ms)" in text
    assert "new client set-up 0.42 vs 0.00 ms (saved 0.42 ms)" in text
    assert "provider call (connection reuse + compression)" in text
    assert "0.75 ms median loop turn between requests, outside both timers" in text
    assert "compression sent 18 fewer input tokens" in text
    assert "a new client per request" in text  # the baseline's definition, stated


def test_why_says_cost_when_the_optimised_side_is_slower() -> None:
    text = why(side(sample(10.0, 0.0, 0.0, 9.0)), side(sample(12.0, 0.0, 0.0, 11.0)))
    assert "in all 10.00 vs 12.00 ms, cost 2.00 ms" in text
    assert "provider call (connection reuse) 9.00 vs 11.00 ms (cost 2.00 ms)" in text
    assert "fewer input tokens" not in text


def test_pairs_are_compared_by_position() -> None:
    pair = paired(BASE, OPT)  # wall differences 3.0, 2.5, 1.5
    assert (pair.faster, pair.pairs, pair.median) == (3, 3, 2.5)
    assert pair.low <= pair.median <= pair.high
    slower = paired(OPT, BASE)
    assert (slower.faster, slower.median) == (0, -2.5)
    assert paired(BASE, OPT, by_ttft).pairs == 0  # no TTFT measured in these samples
    assert "faster in 3 of 3 pairs, by 2.50 ms at the median" in why(BASE, OPT)


def test_lookups_are_matched_by_the_completions_latency() -> None:
    timed = with_lookups(OPT, {108.0: 0.125, 128.25: 0.375})
    assert [s.lookup_ms for s in timed.samples] == [0.125, 0.0, 0.375]
    assert [s.provider_ms for s in timed.samples] == [107.875, 119.0, 127.875]


def test_twin_simulators_draw_the_same_latencies_in_the_same_order() -> None:
    """What the twins rely on: the simulator's latency plan is a function of its seed and the
    request's position (so both sides' i-th requests match), and another seed differs."""
    def plans(seed: int) -> list[tuple[float, float, float]]:
        dice = Dice(SimOptions(seed=seed, jitter=0.5, ttft_ms=30.0))
        return [(plan.header_delay, plan.first_token_delay, plan.token_interval)
                for plan in (dice.plan(10) for _ in range(6))]

    assert plans(11) == plans(11)
    assert plans(11) != plans(12)
