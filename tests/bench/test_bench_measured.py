"""The quick bench, run twice against simulators with different latency models: the latency
and TTFT rows must move with the model (so they are measured, not printed)."""

from __future__ import annotations

import io
import json
import math
import multiprocessing
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from llmx.bench import BenchOptions, BenchResult, LatencyModel, run_bench
from llmx.bench import targets as t
from llmx.cli._io import Io
from llmx.cli.bench_cmd import plain_table, run_bench_command
from llmx.errors import UsageError

FAST = LatencyModel(ttft_ms=20.0, tokens_per_s=200.0, per_input_token_ms=0.005, jitter=0.0,
                    connect_ms=0.0)
# A 250 ms gap: the complex row also holds the client's compression work (CPU), which on a
# shared 2-core machine under a parallel test run varies by tens of milliseconds between the
# two runs; the gap must stand well above that for "moves with the model" to be a measurement.
SLOW = LatencyModel(ttft_ms=270.0, tokens_per_s=200.0, per_input_token_ms=0.005, jitter=0.0,
                    connect_ms=60.0)
ALL_ROWS = {t.SIMPLE_P50, t.SIMPLE_P95, t.COMPLEX_P50, t.HIT_RATE, t.FALSE_HITS,
            t.CONCURRENCY, t.THROUGHPUT, t.TTFT_P50, t.TTFT_P95, t.TTFT_CACHED,
            t.TOKENS_CONS, t.TOKENS_AGGR, t.COST, t.LOOKUP_P50, t.LOOKUP_P99, t.STARTUP}


# The slow run sends 10 requests per side in the simple and TTFT pairs instead of 20: every
# one of its requests sleeps at least the model's delays (jitter 0), so any of its
# percentiles is at least the model's figure whatever the count, and whether a row "moves"
# rests on the fast run's noise, which keeps the quick workload's 20.
SLOW_PAIRS = 10


@pytest.fixture(scope="module")
def runs() -> Iterator[tuple[BenchResult, BenchResult]]:
    """Both runs at once, the fast one in a child process (each against its own twin
    simulators, so neither waits on the other; the bench is mostly sleeping), which also
    puts both under the same load of the machine."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        fast = pool.submit(run_bench, BenchOptions(quick=True, model=FAST))
        slow = run_bench(BenchOptions(quick=True, model=SLOW, targets="pass3",
                                      pairs=SLOW_PAIRS))
        yield fast.result(), slow


def _opt(result: BenchResult, name: str) -> float:
    value = result.row(name).optimised
    assert value is not None
    return value


def _base(result: BenchResult, name: str) -> float:
    value = result.row(name).baseline
    assert value is not None
    return value


def test_latency_rows_follow_the_simulator_model(runs: tuple[BenchResult, BenchResult]) -> None:
    fast, slow = runs
    gap = SLOW.ttft_ms - FAST.ttft_ms
    for name in (t.SIMPLE_P50, t.TTFT_P50, t.COMPLEX_P50):
        for side in (_opt, _base):
            moved = side(slow, name) - side(fast, name)
            assert moved > gap * 0.6, (name, side.__name__, moved)
    # a TTFT is never below the simulator's configured first-token delay
    assert _opt(fast, t.TTFT_P50) >= FAST.ttft_ms * 0.9
    assert _opt(slow, t.TTFT_P50) >= SLOW.ttft_ms * 0.9


def test_latency_notes_state_measured_parts_that_add_up(runs: tuple[BenchResult, BenchResult]
                                                        ) -> None:
    """Each latency row's note lists the parts of a request on both sides; the optimised
    side's cache look-up comes from its records log (so it is not zero), and the parts'
    savings add up to the stated difference of the two sides."""
    for result in runs:
        for name in (t.SIMPLE_P50, t.TTFT_P50):
            note = result.row(name).note
            looked = re.search(r"cache look-up 0\.00 vs ([\d.]+) ms", note)
            assert looked is not None and float(looked[1]) > 0.0, note
            total = re.search(r"in all ([\d.]+) vs ([\d.]+) ms, (saved|cost) ([\d.]+) ms",
                              note)
            assert total is not None, note
            sign = 1.0 if total[3] == "saved" else -1.0
            # three figures each rounded to 0.01: their sum can be off by up to 0.015
            assert float(total[1]) - float(total[2]) == pytest.approx(
                sign * float(total[4]), abs=0.015)
            stated = [float(m[1]) * (1.0 if m[0] == "saved" else -1.0)
                      for m in re.findall(r"\((saved|cost) ([\d.]+) ms\)", note)]
            assert len(stated) == 5
            assert sum(stated) == pytest.approx(sign * float(total[4]), abs=0.03)


def test_cached_ttft_does_not_follow_the_model(runs: tuple[BenchResult, BenchResult]) -> None:
    fast, slow = runs
    assert _opt(slow, t.TTFT_CACHED) < SLOW.ttft_ms / 2
    assert _opt(fast, t.TTFT_CACHED) < FAST.ttft_ms


def test_every_row_is_present_with_numbers(runs: tuple[BenchResult, BenchResult]) -> None:
    for result in runs:
        assert {row.name for row in result.rows} == ALL_ROWS
        for row in result.rows:
            assert row.optimised is not None and math.isfinite(row.optimised), row.name
        assert 0.0 <= _opt(result, t.HIT_RATE) <= 100.0
        assert _opt(result, t.CONCURRENCY) in (0.0, 10.0, 50.0, 100.0, 200.0)


def test_json_schema_keys(runs: tuple[BenchResult, BenchResult]) -> None:
    data = json.loads(runs[0].to_json())
    assert data["schema"] == 1
    assert {"date", "machine", "target", "workload", "rows", "price"} <= set(data)
    assert set(data["machine"]) == {"platform", "cpus", "python"}
    assert data["target"]["latency_model"]["ttft_ms"] == FAST.ttft_ms
    assert data["workload"]["simple"]["prompts"] == 20  # the quick workload's, unchanged
    assert json.loads(runs[1].to_json())["workload"]["simple"]["prompts"] == SLOW_PAIRS
    assert data["workload"]["cache_mix"]["proportions"] == {
        "repeat": 0.3, "paraphrase": 0.2, "new": 0.5}
    for row in data["rows"]:
        assert set(row) == {"name", "target", "baseline", "optimised", "unit",
                            "improvement", "pass", "note"}
        assert row["pass"] in (True, False, None)


def test_pass3_targets_are_used(runs: tuple[BenchResult, BenchResult]) -> None:
    seed, pass3 = runs
    assert seed.row(t.CONCURRENCY).target == "100+"
    assert pass3.row(t.CONCURRENCY).target == "500+"
    assert pass3.row(t.CONCURRENCY).passed is False  # only levels up to 200 are tried
    assert pass3.row(t.COMPLEX_P50).target is None
    assert pass3.row(t.COMPLEX_P50).passed is None


def test_a_new_connections_cost_is_paid_per_request_by_the_baseline_only(
        runs: tuple[BenchResult, BenchResult]) -> None:
    slow = runs[1]
    for name in (t.SIMPLE_P50, t.TTFT_P50):
        ahead = [_base(run, name) - _opt(run, name) for run in runs]
        # the optimised side's pooled connection was opened before the timed requests
        assert ahead[1] - ahead[0] > 0.6 * (SLOW.connect_ms - FAST.connect_ms), (name, ahead)
    assert "new connection 60.0 ms" in plain_table(slow)


def test_plain_table_lists_every_row(runs: tuple[BenchResult, BenchResult]) -> None:
    text = plain_table(runs[0])
    for name in ALL_ROWS:
        assert name in text
    assert "latency model: ttft 20.0 ms" in text


def _io() -> Io:
    return Io(stdin=sys.stdin.buffer, stdout=io.StringIO(), stderr=io.StringIO(), env={},
              stdin_is_tty=False, stdout_is_tty=False)


def test_cli_rejects_unknown_targets() -> None:
    with pytest.raises(UsageError):
        run_bench_command(_io(), quick=True, as_json=True, profile=None, yes=True,
                          targets="pass9")


@pytest.mark.parametrize("bad", [-1.0, 10_001.0])
def test_cli_rejects_a_connect_cost_out_of_range(bad: float) -> None:
    with pytest.raises(UsageError, match="--connect-ms: expected 0 to 10000 ms"):
        run_bench_command(_io(), quick=True, as_json=True, profile=None, yes=True,
                          targets="seed", connect_ms=bad)


def test_a_real_profile_has_no_simulated_connect_cost() -> None:
    with pytest.raises(UsageError, match="--connect-ms models the simulator"):
        run_bench_command(_io(), quick=True, as_json=True, profile="sim", yes=True,
                          targets="seed", connect_ms=5.0)


def test_a_real_profile_needs_confirmation_and_shows_the_cost_first() -> None:
    streams = _io()
    with pytest.raises(UsageError, match="without confirmation"):
        run_bench_command(streams, quick=True, as_json=True, profile="sim", yes=False,
                          targets="seed")
    said = streams.stderr.getvalue()  # type: ignore[attr-defined]
    assert "requests to profile 'sim'" in said and "estimated cost" in said
