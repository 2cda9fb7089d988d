"""``llmx.serve.fleet`` and the metrics' flat fields: what one proxy reports is what the
fleet's sum shows, deltas only, and a store gone costs one warning."""

from __future__ import annotations

from llmx.cache.databases import CacheUnavailable
from llmx.serve.fleet import FLEET_NOTE, Fleet
from llmx.serve.metrics import Metrics


def _busy() -> Metrics:
    metrics = Metrics()
    metrics.request("/v1/chat/completions", 200)
    metrics.request("/v1/messages", 429)
    metrics.coalesced += 2
    metrics.answered("miss", input_tokens=7, output_tokens=30, latency_ms=42.0, ttft_ms=9.5,
                     cost=0.25)
    metrics.answered("exact", input_tokens=7, output_tokens=30, latency_ms=0.4, ttft_ms=0.1,
                     cost=0.25)
    return metrics


class Store:
    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.sent: list[dict[str, float]] = []
        self.down = False

    def add_counts(self, name: str, deltas: dict[str, float]) -> dict[str, float]:
        if self.down:
            raise CacheUnavailable("the shared cache cannot be written: Connection refused")
        self.sent.append(dict(deltas))
        for field, delta in deltas.items():
            self.sums[field] = self.sums.get(field, 0.0) + delta
        return dict(self.sums)


def test_fields_read_back_into_the_same_text() -> None:
    metrics = _busy()
    assert Metrics.of(metrics.fields()).text() == metrics.text()


def test_two_proxies_sum_and_each_reports_only_what_is_new() -> None:
    store = Store()
    a, b = Fleet(_busy(), store), Fleet(_busy(), store)
    a.report()
    text = b.text()
    assert text.startswith(FLEET_NOTE)
    assert 'llmx_requests_total{route="/v1/messages",status="429"} 2' in text
    assert "llmx_coalesced_requests_total 4" in text
    assert "llmx_upstream_latency_ms_count 2" in text
    a.metrics.request("/v1/messages", 429)
    a.report()
    assert store.sent[-1] == {"requests:/v1/messages:429": 1.0}  # only the delta
    a.report()
    assert store.sent[-1] == {}


def test_a_store_gone_costs_one_warning_then_the_proxy_shows_its_own() -> None:
    store, said = Store(), []
    fleet = Fleet(_busy(), store, said.append)
    store.down = True
    assert fleet.text() == fleet.metrics.text()
    store.down = False
    assert fleet.text() == fleet.metrics.text() and store.sent == []  # it stopped asking
    assert len(said) == 1 and "/metrics shows this proxy alone" in said[0]
