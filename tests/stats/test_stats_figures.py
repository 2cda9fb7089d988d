"""The monitoring figures (``llmx.stats_figures``) from known records and counter lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmx.cli.stats_cmd import run_stats
from llmx.counters import Counts, append, counters_dir, pool_counts, read_totals
from llmx.paths import records_dir
from llmx.records import Record, RecordLog
from llmx.stats_figures import Figures
from tests.cli.harness import memory_io
from tests.stats.factory import BASE_TS, record


def _records() -> tuple[Record, ...]:
    return (
        record(tier="exact", lookup_ms=1.0, ttft_ms=0.5, latency_ms=1.0, queue_ms=4.0),
        record(tier="semantic", lookup_ms=3.0, ttft_ms=0.5, latency_ms=1.0, queue_ms=0.0),
        record(tier="miss", lookup_ms=2.0, ttft_ms=100.0, latency_ms=2000.0,
               output_tokens=100, queue_ms=10.0),
        record(tier="miss", lookup_ms=2.0, ttft_ms=300.0, latency_ms=2000.0,
               output_tokens=300, queue_ms=20.0),
        record(tier="off", lookup_ms=0.0, ttft_ms=None, status="error", error="Timeout",
               queue_ms=30.0),
        record(tier="off", lookup_ms=0.0, shared=True, cost=0.0, cost_saved=0.1),
    )


def _figures() -> Figures:
    figures = Figures()
    for item in _records():
        figures.add(item)
    return figures


KNOWN = {"cache_stored": 40, "cache_evicted": 10, "provider_batches": 2,
         "provider_batch_lines": 30, "embed_requests": 4, "embed_texts": 64,
         "stream_chunks": 200, "stream_writes": 50, "conn_opened": 3, "conn_reused": 97,
         "conn_failed": 1, "conn_discarded": 2, "conn_peak": 6, "conn_capacity": 8}
EXPECTED = {  # each figure of the records above and KNOWN, worked out by hand
    "hit_rate": {"exact": 0.25, "semantic": 0.25, "total": 0.5},  # of the 4 that looked
    "lookup_ms_mean": 2.0,  # (1 + 3 + 2 + 2) / 4
    "eviction_rate": 0.25,  # 10 evicted / 40 written
    "batch_size": {"provider": 15.0, "embeddings": 16.0},  # 30 / 2, 64 / 4
    "coalescing_rate": 1 / 6,  # one shared of six
    "queue_wait_ms": {"p50": 10.0, "p99": 30.0},  # 4, 0, 10, 20, 30 (the shared one waits none)
    "ttft_ms": {"p50": 100.0, "p99": 300.0},  # the provider's answers only
    "tokens_per_s": 100.0,  # 400 tokens / 4 s
    "buffer_efficiency": 0.25,  # 50 writes / 200 pieces
    "connections": {"active_peak": 6, "errors": 1, "opened": 3, "reused": 97,
                    "discarded": 2, "utilisation": 0.75},  # 6 of 8
}


def test_each_figure_from_known_records_and_counters(tmp_path: Path) -> None:
    counts = Counts()
    counts.update({"cache_stored": 40, "cache_evicted": 10, "provider_batches": 2,
                   "provider_batch_lines": 30, "embed_requests": 4, "embed_texts": 64,
                   "stream_chunks": 200, "stream_writes": 50, "conn_opened": 3,
                   "conn_reused": 97, "conn_failed": 1, "conn_discarded": 2, "conn_peak": 6,
                   "conn_capacity": 8})
    assert append(tmp_path, "p", counts, now=BASE_TS)
    assert append(tmp_path, "p", Counts(), now=BASE_TS) is False  # nothing counted
    later = Counts()
    later.update({"conn_peak": 9, "conn_capacity": 10, "cache_stored": 10})
    append(tmp_path, "q", later, now=BASE_TS + 10)
    totals = read_totals(tmp_path)
    data = _figures().to_json(totals)
    assert data["hit_rate"] == {"exact": 0.25, "semantic": 0.25, "total": 0.5}
    assert data["lookup_ms_mean"] == 2.0  # (1 + 3 + 2 + 2) / 4 that looked
    assert data["eviction_rate"] == 10 / 50
    assert data["batch_size"] == {"provider": 15.0, "embeddings": 16.0}
    assert data["coalescing_rate"] == 1 / 6
    assert data["queue_wait_ms"] == {"p50": 10.0, "p99": 30.0}  # the shared call waits none
    assert data["ttft_ms"] == {"p50": 100.0, "p99": 300.0}  # provider answers only
    assert data["tokens_per_s"] == 400 / 4.0
    assert data["buffer_efficiency"] == 0.25
    assert data["connections"] == {"active_peak": 9, "errors": 1, "opened": 3, "reused": 97,
                                   "discarded": 2, "utilisation": 0.9}
    assert read_totals(tmp_path, since=BASE_TS + 5)["cache_stored"] == 10  # --since


def test_no_data_is_null_not_zero() -> None:
    data = Figures().to_json({})
    assert data["hit_rate"]["total"] is None and data["tokens_per_s"] is None
    assert data["queue_wait_ms"]["p99"] is None
    assert set(data["connections"].values()) == {None}  # no pool counted: not "0 errors"
    assert all("n/a" in line for line in Figures().lines({})[:2])


def test_an_unknown_counter_is_a_bug_and_a_bad_line_is_skipped(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        Counts().add("made_up")
    (tmp_path / "counters-2026-12.jsonl").write_text('garbage\n{"v": 1, "ts": "x"}\n')
    assert read_totals(tmp_path)["cache_stored"] == 0


def test_the_pools_counts_arrive_under_their_names() -> None:
    engine = {"requests": 9, "connections_opened": 2, "connections_reused": 7,
              "connections_failed": 1, "connections_discarded": 0, "connections_open": 2}
    assert pool_counts(engine) == {"conn_opened": 2, "conn_reused": 7, "conn_failed": 1,
                                   "conn_discarded": 0}
    assert pool_counts({"requests": 3}) == {}  # a route over httpx reports none
    data = Figures().to_json(pool_counts(engine))
    assert data["connections"]["errors"] == 1 and data["connections"]["reused"] == 7
    assert data["connections"]["active_peak"] is None  # no peak reported (an older engine)
    engine.update(connections_peak=3, connections_capacity=4)
    assert pool_counts(engine)["conn_peak"] == 3 and pool_counts(engine)["conn_capacity"] == 4
    data = Figures().to_json(pool_counts(engine))
    assert data["connections"]["active_peak"] == 3
    assert data["connections"]["utilisation"] == 0.75


def _leaves(data: object, path: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, f"{path}.{key}")
    else:
        yield path, data


def test_llmx_stats_json_carries_every_figure_from_records_and_counters_on_disk(
        tmp_path: Path) -> None:
    env = {"LLMX_HOME": str(tmp_path)}
    log = RecordLog(records_dir(env))
    for item in _records():
        log.append(item)
    log.close()
    counts = Counts()
    counts.update(KNOWN)
    assert append(counters_dir(env), "default", counts, now=BASE_TS)
    streams = memory_io(env=env)
    assert run_stats(streams.io, as_json=True, since=None, by=None, entries=None,
                     disk_bytes=None) == 0
    data = json.loads(streams.out())["monitoring"]
    assert data == EXPECTED
    assert [path for path, value in _leaves(data) if value is None] == []  # none left null
