"""``llmx.stats``: aggregation over hand-made records, with expectations counted by hand."""

from __future__ import annotations

import itertools
import json

import pytest

from llmx.errors import UsageError
from llmx.records import Record
from llmx.stats import parse_since, percentile, series_step, summarize
from tests.stats.factory import BASE_TS, record

NOW = BASE_TS + 600


def seven() -> list[Record]:
    """Seven requests; every expected number below was counted from this list by hand."""
    return [
        record(tier="exact", model="a", profile="p1", lookup_ms=0.5, latency_ms=2.0,
               ttft_ms=1.0, input_tokens=10, output_tokens=20, cost=0.0, cost_saved=0.03),
        record(tier="semantic", model="a", profile="p2", similarity=0.95, lookup_ms=4.0,
               latency_ms=6.0, ttft_ms=3.0, input_tokens=30, output_tokens=40,
               tokens_saved=5, cost=0.0, cost_saved=0.07),
        record(tier="miss", model="b", profile="p1", lookup_ms=1.0, latency_ms=300.0,
               ttft_ms=100.0, input_tokens=100, output_tokens=50, tokens_saved=7, cost=0.15),
        record(tier="miss", model="b", profile="p1", lookup_ms=2.0, latency_ms=500.0,
               ttft_ms=200.0, input_tokens=200, output_tokens=60, cost=0.26),
        record(tier="off", model="a", profile="p2", lookup_ms=0.0, latency_ms=400.0,
               ttft_ms=None, input_tokens=80, output_tokens=0, status="error",
               error="RateLimitError"),
        record(tier="off", model="b", profile="p2", lookup_ms=0.0, latency_ms=700.0,
               ttft_ms=250.0, input_tokens=40, output_tokens=10, cost=0.05),
        record(tier="miss", model="a", profile="p1", lookup_ms=3.0, latency_ms=100.0,
               ttft_ms=40.0, input_tokens=20, output_tokens=5, cost=0.025),
    ]


def test_totals() -> None:
    total = summarize(seven(), now=NOW).total
    assert (total.requests, total.errors) == (7, 1)
    tiers = total.tiers
    assert (tiers.exact, tiers.semantic, tiers.miss, tiers.off) == (1, 1, 3, 2)
    assert tiers.hit_rate == pytest.approx(2 / 5)  # off is not part of the rate
    assert tiers.rate(tiers.exact) == pytest.approx(1 / 5)
    # lookups of the five consulted requests: 0.5 1 2 3 4
    assert (total.lookup_p50, total.lookup_p99) == (2.0, 4.0)
    # successful hits: 2, 6; successful provider answers: 100 300 500 700 (the error is out)
    assert (total.latency_hit_p50, total.latency_hit_p95) == (2.0, 6.0)
    assert (total.latency_miss_p50, total.latency_miss_p95) == (300.0, 700.0)
    assert (total.ttft_hit_p50, total.ttft_miss_p50) == (1.0, 100.0)
    assert (total.input_tokens, total.output_tokens) == (440, 125)
    assert (total.saved_by_cache, total.saved_by_compression) == (100, 12)
    assert total.cost_spent == pytest.approx(0.485)
    assert total.cost_saved == pytest.approx(0.10)
    assert total.priced_requests == 6


def test_groups_by_model() -> None:
    summary = summarize(seven(), now=NOW, by="model")
    assert [g.name for g in summary.groups] == ["a", "b"]  # most requests first
    a, b = summary.groups
    assert (a.requests, a.errors, b.requests, b.errors) == (4, 1, 3, 0)
    assert a.tiers.hit_rate == pytest.approx(2 / 3)
    assert b.tiers.hit_rate == 0.0
    assert (a.lookup_p50, a.lookup_p99, b.lookup_p50, b.lookup_p99) == (3.0, 4.0, 1.0, 2.0)
    assert (a.latency_miss_p50, a.latency_miss_p95) == (100.0, 100.0)
    assert (b.latency_hit_p50, b.latency_miss_p50, b.latency_miss_p95) == (None, 500.0, 700.0)
    assert (a.input_tokens, a.output_tokens, a.saved_by_cache) == (100, 5, 100)
    assert a.cost_spent == pytest.approx(0.025) and a.priced_requests == 3
    assert b.cost_spent == pytest.approx(0.46) and b.cost_saved == 0.0
    assert summary.total.requests == a.requests + b.requests


def test_groups_by_profile() -> None:
    p1, p2 = summarize(seven(), now=NOW, by="profile").groups
    assert (p1.name, p1.requests, p2.name, p2.requests) == ("p1", 4, "p2", 3)
    assert p1.tiers.hit_rate == pytest.approx(1 / 4)
    assert p2.tiers.hit_rate == 1.0  # one semantic hit; the two "off" requests do not count


def test_no_groups_unless_asked() -> None:
    assert summarize(seven(), now=NOW).groups == ()


def test_group_ties_are_ordered_by_name() -> None:
    records = [record(model="zeta"), record(model="alpha"), record(model="mid"),
               record(model="mid")]
    assert [g.name for g in summarize(records, now=NOW, by="model").groups] == [
        "mid", "alpha", "zeta"]


def test_money_is_na_without_any_price() -> None:
    total = summarize([record(), record(tier="exact")], now=NOW).total
    assert (total.cost_spent, total.cost_saved, total.priced_requests) == (None, None, 0)
    assert summarize([record(tier="off")], now=NOW).total.to_json()["cost"] == {
        "spent": None, "saved": None, "priced_requests": 0}


def test_nothing_consulted_has_no_rates() -> None:
    total = summarize([record(tier="off")], now=NOW).total
    assert total.tiers.hit_rate is None and total.lookup_p50 is None
    assert total.to_json()["hit_rate"] == {"exact": None, "semantic": None, "total": None}


def test_empty_summary() -> None:
    summary = summarize([], now=NOW)
    assert summary.total.requests == 0 and summary.start is None and summary.series == ()
    assert summary.total.latency_miss_p50 is None
    assert sum(bucket.count for bucket in summary.histogram) == 0


@pytest.mark.parametrize(("values", "p", "expected"), [
    ([15, 20, 35, 40, 50], 5, 15),
    ([15, 20, 35, 40, 50], 30, 20),
    ([15, 20, 35, 40, 50], 40, 20),
    ([15, 20, 35, 40, 50], 50, 35),
    ([15, 20, 35, 40, 50], 100, 50),
    ([20, 16, 15, 13, 10, 8, 8, 7, 6, 3], 25, 7),
    ([20, 16, 15, 13, 10, 8, 8, 7, 6, 3], 50, 8),
    ([20, 16, 15, 13, 10, 8, 8, 7, 6, 3], 75, 15),
    ([20, 16, 15, 13, 10, 8, 8, 7, 6, 3], 90, 16),
    (list(range(1, 101)), 99, 99),
    (list(range(1, 1001)), 99, 990),
    ([42], 99, 42),
    ([7, 1], 0, 1),
])
def test_percentile_nearest_rank(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == expected


def test_percentile_of_nothing() -> None:
    assert percentile([], 50) is None


def test_latency_histogram_buckets() -> None:
    latencies = [0.5, 1.0, 1.99, 2.0, 49_999.0, 50_000.0, 1e6]
    records = [record(latency_ms=ms) for ms in latencies]
    records.append(record(latency_ms=3.0, status="error", error="StreamError"))
    histogram = summarize(records, now=NOW).histogram
    counts = {(b.lo_ms, b.hi_ms): b.count for b in histogram}
    assert counts[(0.0, 1.0)] == 1
    assert counts[(1.0, 2.0)] == 2
    assert counts[(2.0, 5.0)] == 1  # 2.0 only: the failed 3 ms request is not drawn
    assert counts[(20_000.0, 50_000.0)] == 1
    assert counts[(50_000.0, None)] == 2
    assert sum(counts.values()) == len(latencies)
    assert len(histogram) == 16
    assert all(a.hi_ms == b.lo_ms for a, b in itertools.pairwise(histogram))


HOUR_ALIGNED = 1_699_999_200.0  # a multiple of 3600


def test_hits_over_a_day_in_hourly_buckets() -> None:
    start, now = HOUR_ALIGNED, HOUR_ALIGNED + 86_400
    records = [record(ts=start + 10, tier="exact"), record(ts=start + 20),
               record(ts=start + 5 * 3600 + 1, tier="semantic"), record(ts=now)]
    summary = summarize(records, now=now, start=start)
    assert summary.bucket_s == 3600
    assert len(summary.series) == 25  # 24 whole hours plus the one `now` falls in
    assert summary.series[0].start == start
    by_hour = {round((p.start - start) / 3600): (p.requests, p.hits) for p in summary.series}
    assert by_hour[0] == (2, 1) and by_hour[5] == (1, 1) and by_hour[24] == (1, 0)
    assert sum(p.requests for p in summary.series) == 4
    assert sum(p.hits for p in summary.series) == 2


def test_series_starts_at_the_oldest_record_without_since() -> None:
    records = [record(ts=HOUR_ALIGNED + 120), record(ts=HOUR_ALIGNED + 1000, tier="exact")]
    summary = summarize(records, now=HOUR_ALIGNED + 1800)
    assert summary.start == HOUR_ALIGNED + 120
    assert summary.bucket_s == 60  # 30 minutes fit in 48 one-minute buckets
    assert summary.series[0].start == HOUR_ALIGNED + 120
    assert sum(p.hits for p in summary.series) == 1


@pytest.mark.parametrize(("window", "step"), [
    (30 * 60, 60),          # 31 one-minute buckets
    (3 * 3600, 300),        # 37 five-minute buckets
    (86_400, 3600),         # 25 hours (15-minute buckets would be 97)
    (7 * 86_400, 21_600),   # 29 six-hour buckets (3-hour ones: 57)
])
def test_series_step(window: int, step: int) -> None:
    assert series_step(HOUR_ALIGNED, HOUR_ALIGNED + window) == step


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("30m", 1800), ("24h", 86_400), ("7d", 604_800), ("2w", 1_209_600),
    ("1.5h", 5400), (" 24h ", 86_400),
])
def test_parse_since(text: str, seconds: float) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "0h", "-1h", "24x", "1e3s", "24 h", "24H",
                                  "inf", "1h30m"])
def test_parse_since_rejects(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_since(text)
    assert repr(text) in caught.value.message
    assert caught.value.hint is not None and "24h" in caught.value.hint


def test_unknown_grouping_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        summarize([], now=NOW, by="provider")


GROUP_KEYS = {"name", "requests", "errors", "tiers", "hit_rate", "lookup_ms", "latency_ms",
              "ttft_ms", "tokens", "cost"}


def test_json_schema() -> None:
    data = summarize(seven(), now=NOW, by="model").to_json()
    assert set(data) == {"schema", "now", "start", "by", "total", "groups",
                         "latency_histogram", "hits_over_time", "skipped_lines"}
    assert data["skipped_lines"] == 0
    assert (data["schema"], data["by"], data["now"]) == (1, "model", NOW)
    for group in (data["total"], *data["groups"]):
        assert set(group) == GROUP_KEYS
        assert set(group["tiers"]) == {"exact", "semantic", "miss", "off"}
        assert set(group["hit_rate"]) == {"exact", "semantic", "total"}
        assert set(group["lookup_ms"]) == {"p50", "p99"}
        assert group["latency_ms"]["hit"].keys() == group["latency_ms"]["miss"].keys() == {
            "p50", "p95"}
        assert set(group["ttft_ms"]) == {"hit", "miss"}
        assert set(group["tokens"]) == {"input", "output", "saved_by_compression",
                                        "saved_by_cache"}
        assert set(group["cost"]) == {"spent", "saved", "priced_requests"}
    assert data["total"]["name"] == "all"
    assert data["total"]["tiers"] == {"exact": 1, "semantic": 1, "miss": 3, "off": 2}
    assert data["total"]["latency_ms"]["miss"] == {"p50": 300.0, "p95": 700.0}
    assert set(data["latency_histogram"][0]) == {"lo_ms", "hi_ms", "count"}
    assert set(data["hits_over_time"]) == {"bucket_s", "points"}
    assert set(data["hits_over_time"]["points"][0]) == {"start", "requests", "hits"}
    assert json.loads(json.dumps(data)) == data  # plain JSON values only
