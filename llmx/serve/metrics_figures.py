"""The monitoring figures (``llmx.stats_figures``) on the proxy's ``/metrics``, as gauges.

The same definitions as ``llmx stats``, over this proxy's Clients as they stand when scraped:
the records each folded so far (``Client.figures``) and its counters with the pool's and the
cache's read now (``Client.live_counts``). A figure with no data yet has no sample (its
``# TYPE`` line stays). The counters above them may be a fleet's sum; these figures are this
proxy's own (ratios and percentiles do not add up across proxies). Pure but for reading the
Clients' state: no IO.

Names (``quantile`` / ``tier`` / ``kind`` labels as in the JSON of ``llmx stats``):
``llmx_cache_hit_ratio{tier}``, ``llmx_cache_lookup_ms_mean``, ``llmx_cache_eviction_ratio``,
``llmx_batch_size_mean{kind}``, ``llmx_coalescing_ratio``, ``llmx_queue_wait_ms{quantile}``,
``llmx_ttft_ms{quantile}``, ``llmx_output_tokens_per_second``,
``llmx_stream_writes_per_chunk``, ``llmx_connections_active_peak``,
``llmx_connections_open``, ``llmx_connection_errors_total``, ``llmx_pool_utilisation_ratio``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from llmx.counters import Counts
from llmx.stats_figures import Figures

if TYPE_CHECKING:
    from llmx.engine import Client

NOTE = "# llmx: this proxy's monitoring figures (its own, not a fleet's sum)\n"
_QUANTILES = (("p50", "0.5"), ("p99", "0.99"))


def live(clients: Iterable[Client]) -> tuple[Figures, dict[str, float]]:
    """The records' sums and the counter totals of ``clients`` now (``pool_utilisation``:
    the highest of one Client's, as ``llmx.counters.read_totals`` takes it per line)."""
    figures, counts, share, open_now = Figures(), Counts(), 0.0, 0
    for client in clients:
        figures.merge(client.figures)
        mine = client.live_counts()
        counts.update(mine)
        if mine.get("conn_capacity"):
            share = max(share, mine.get("conn_peak", 0) / mine["conn_capacity"])
        open_now += client.stats().get("connections_open", 0)
    totals: dict[str, float] = dict(counts.nonzero())
    totals["pool_utilisation"] = share
    totals["connections_open"] = open_now
    return figures, totals


def text(clients: Iterable[Client]) -> str:
    """The figures' Prometheus text (``NOTE`` first)."""
    figures, totals = live(clients)
    return NOTE + "".join(line + "\n" for line in lines(figures.to_json(totals), totals))


def lines(data: Mapping[str, Any], totals: Mapping[str, float]) -> list[str]:
    """``Figures.to_json``'s figures as gauges (a null figure: no sample)."""
    conn = data["connections"]
    out: list[str] = []
    out += _family("llmx_cache_hit_ratio", "gauge",
                   [(f'{{tier="{tier}"}}', data["hit_rate"][tier])
                    for tier in ("exact", "semantic", "total")])
    out += _family("llmx_cache_lookup_ms_mean", "gauge", [("", data["lookup_ms_mean"])])
    out += _family("llmx_cache_eviction_ratio", "gauge", [("", data["eviction_rate"])])
    out += _family("llmx_batch_size_mean", "gauge",
                   [(f'{{kind="{kind}"}}', data["batch_size"][kind])
                    for kind in ("provider", "embeddings")])
    out += _family("llmx_coalescing_ratio", "gauge", [("", data["coalescing_rate"])])
    for name, key in (("llmx_queue_wait_ms", "queue_wait_ms"), ("llmx_ttft_ms", "ttft_ms")):
        out += _family(name, "gauge", [(f'{{quantile="{q}"}}', data[key][p])
                                       for p, q in _QUANTILES])
    out += _family("llmx_output_tokens_per_second", "gauge", [("", data["tokens_per_s"])])
    out += _family("llmx_stream_writes_per_chunk", "gauge", [("", data["buffer_efficiency"])])
    out += _family("llmx_connections_active_peak", "gauge", [("", conn["active_peak"])])
    opened = totals.get("connections_open") if conn["opened"] is not None else None
    out += _family("llmx_connections_open", "gauge", [("", opened)])
    out += _family("llmx_connection_errors_total", "counter", [("", conn["errors"])])
    out += _family("llmx_pool_utilisation_ratio", "gauge", [("", conn["utilisation"])])
    return out


def _family(name: str, kind: str, samples: list[tuple[str, float | None]]) -> list[str]:
    out = [f"# TYPE {name} {kind}"]
    out += [f"{name}{labels} {_value(value)}" for labels, value in samples
            if value is not None]
    return out


def _value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"
