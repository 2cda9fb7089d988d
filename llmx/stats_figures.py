"""The seed's monitoring figures, each computed from request records and process counters
(``llmx.counters``), never estimated. Pure: no IO.

``Figures`` folds records (``add``); ``to_json(counts)`` adds the counter totals. The same
definitions serve ``llmx stats`` (records and counter lines on disk), ``llmx batch
--summary-json`` (the run's own records and counters) and the proxy. Each figure, in one
line (README repeats them):

* hit_rate: exact, semantic and total hits / requests that looked in the cache.
* lookup_ms_mean: mean time of a cache look-up, over requests that looked.
* eviction_rate: entries evicted to keep the cache's limits / entries written.
* batch_size: requests per provider Batch API job; texts per embeddings request.
* coalescing_rate: calls answered by an identical call in flight (records' ``shared``) /
  all calls.
* queue_wait_ms p50 / p99: from a call being planned to being sent (a batch line's wait
  for its turn and its rate limits), over calls that were not shared.
* ttft_ms p50 / p99: time to the first token of answers the provider gave.
* tokens_per_s: answer tokens / seconds from sending to the last token, over answers the
  provider gave (a whole-body answer has no first-token time of its own, so the rate is
  over the whole request for every answer alike).
* buffer_efficiency: write() calls / answer pieces of the provider's streams that
  ``llmx ask`` wrote into a pipe (1.0: one write per piece; lower: pieces coalesced).
* connections: ``active_peak``, the most connections one pool had in use by requests at
  once (the busiest pool's: highest share of its ``max_connections``); ``errors``,
  connections that failed (connect errors, resets, broken reads); opened / reused /
  discarded; and ``utilisation``, that peak / that pool's ``max_connections``, the highest
  of any one process.

A figure with no data is null. This module is imported by every Client (it keeps a
``Figures`` of its own records); only ``to_json`` imports more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmx.records import Record

_HITS = ("exact", "semantic")


class Figures:
    """Running sums and samples of the records' part of the figures."""

    __slots__ = ("gen_s", "lookup_n", "lookup_sum", "out_tokens", "queue", "requests",
                 "shared", "tiers", "ttft")

    def __init__(self) -> None:
        self.requests = self.shared = self.lookup_n = self.out_tokens = 0
        self.lookup_sum = self.gen_s = 0.0
        self.tiers = {"exact": 0, "semantic": 0, "miss": 0, "off": 0}
        self.queue: list[float] = []
        self.ttft: list[float] = []

    def add(self, record: Record) -> None:
        self.requests += 1
        self.tiers[record.tier] = self.tiers.get(record.tier, 0) + 1
        if record.tier != "off":
            self.lookup_n += 1
            self.lookup_sum += record.lookup_ms
        if record.shared:
            self.shared += 1
            return
        self.queue.append(record.queue_ms)
        if record.tier in _HITS or record.status != "ok" or record.ttft_ms is None:
            return
        self.ttft.append(record.ttft_ms)
        if record.output_tokens and record.latency_ms > 0:
            self.out_tokens += record.output_tokens
            self.gen_s += record.latency_ms / 1000.0

    def merge(self, other: Figures) -> None:
        """Fold another accumulator into this one (several Clients of one run)."""
        self.requests += other.requests
        self.shared += other.shared
        self.lookup_n += other.lookup_n
        self.lookup_sum += other.lookup_sum
        self.out_tokens += other.out_tokens
        self.gen_s += other.gen_s
        for tier, count in other.tiers.items():
            self.tiers[tier] = self.tiers.get(tier, 0) + count
        self.queue.extend(other.queue)
        self.ttft.extend(other.ttft)

    def to_json(self, counts: Mapping[str, float]) -> dict[str, Any]:
        from llmx.stats import percentile  # here: a Client holds Figures on the hit path

        looked = sum(self.tiers[t] for t in (*_HITS, "miss"))
        exact, semantic = self.tiers["exact"], self.tiers["semantic"]
        return {
            "hit_rate": {"exact": _ratio(exact, looked), "semantic": _ratio(semantic, looked),
                         "total": _ratio(exact + semantic, looked)},
            "lookup_ms_mean": _ratio(self.lookup_sum, self.lookup_n),
            "eviction_rate": _ratio(_n(counts, "cache_evicted"), _n(counts, "cache_stored")),
            "batch_size": {
                "provider": _ratio(_n(counts, "provider_batch_lines"),
                                   _n(counts, "provider_batches")),
                "embeddings": _ratio(_n(counts, "embed_texts"), _n(counts, "embed_requests"))},
            "coalescing_rate": _ratio(self.shared, self.requests),
            "queue_wait_ms": {"p50": percentile(self.queue, 50),
                              "p99": percentile(self.queue, 99)},
            "ttft_ms": {"p50": percentile(self.ttft, 50), "p99": percentile(self.ttft, 99)},
            "tokens_per_s": _ratio(self.out_tokens, self.gen_s),
            "buffer_efficiency": _ratio(_n(counts, "stream_writes"), _n(counts, "stream_chunks")),
            "connections": {
                "active_peak": _count(counts, "conn_peak", "conn_capacity"),
                "errors": _count(counts, "conn_failed"),
                "opened": _count(counts, "conn_opened"),
                "reused": _count(counts, "conn_reused"),
                "discarded": _count(counts, "conn_discarded"),
                "utilisation": _utilisation(counts)},
        }

    def lines(self, counts: Mapping[str, float]) -> list[str]:
        """The figures as text lines for ``llmx stats`` (null: "n/a")."""
        data = self.to_json(counts)
        hit, conn = data["hit_rate"], data["connections"]
        return [
            f"hit rate: exact {_pct(hit['exact'])}, semantic {_pct(hit['semantic'])}, "
            f"total {_pct(hit['total'])}",
            f"average look-up: {_ms(data['lookup_ms_mean'])}",
            f"eviction rate: {_pct(data['eviction_rate'])} of entries written",
            f"average batch size: provider {_num(data['batch_size']['provider'])} requests, "
            f"embeddings {_num(data['batch_size']['embeddings'])} texts",
            f"coalescing rate: {_pct(data['coalescing_rate'])} of calls",
            f"queue wait: p50 {_ms(data['queue_wait_ms']['p50'])}, "
            f"p99 {_ms(data['queue_wait_ms']['p99'])}",
            f"TTFT: p50 {_ms(data['ttft_ms']['p50'])}, p99 {_ms(data['ttft_ms']['p99'])}; "
            f"{_num(data['tokens_per_s'])} tokens/s",
            f"buffer efficiency: {_num(data['buffer_efficiency'])} writes per piece",
            f"connections: {_whole(conn['active_peak'])} active at most, "
            f"{_whole(conn['errors'])} errors, pool utilisation {_pct(conn['utilisation'])}",
        ]


_POOL: tuple[str, ...] = ("conn_opened", "conn_reused", "conn_failed", "conn_discarded")


def _count(counts: Mapping[str, float], name: str, *needs: str) -> int | None:
    """A connection count, or None when no pool reported any (routes over httpx, or a
    window without requests), so that "0 errors" is never said for want of counting."""
    if not any(_n(counts, other) for other in (needs or _POOL)):
        return None
    return int(_n(counts, name))


def _utilisation(counts: Mapping[str, float]) -> float | None:
    if "pool_utilisation" in counts and _n(counts, "conn_capacity"):
        return _n(counts, "pool_utilisation")
    return _ratio(_n(counts, "conn_peak"), _n(counts, "conn_capacity"))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def _whole(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _n(counts: Mapping[str, float], name: str) -> float:
    return float(counts.get(name, 0))


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None
