"""The monitoring figures on ``llmx serve``'s ``/metrics`` (``llmx.serve.metrics_figures``):
known figures as gauges, a live Client's, and a real proxy's page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx

from llmx.config.profile import load_config, resolve_profile
from llmx.engine import Client
from llmx.serve import metrics_figures
from llmx.sim import SimOptions, SimServer
from llmx.stats_figures import Figures
from tests.integration.conftest import Sim
from tests.serve.conftest import Serve
from tests.serve.conftest import _sims as _sims  # fixtures, for this module's tests
from tests.serve.conftest import serve_factory as serve_factory
from tests.serve.conftest import sim as sim
from tests.serve.conftest import sim_factory as sim_factory
from tests.stats.test_stats_figures import KNOWN, _figures


def samples(text: str) -> dict[str, float]:
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
            if line and not line.startswith("#")}


def test_each_figure_is_a_gauge_with_its_value() -> None:
    totals: dict[str, float] = {**KNOWN, "connections_open": 2}
    got = samples("\n".join(metrics_figures.lines(_figures().to_json(totals), totals)))
    assert got == {
        'llmx_cache_hit_ratio{tier="exact"}': 0.25, 'llmx_cache_hit_ratio{tier="semantic"}': 0.25,
        'llmx_cache_hit_ratio{tier="total"}': 0.5, "llmx_cache_lookup_ms_mean": 2.0,
        "llmx_cache_eviction_ratio": 0.25, 'llmx_batch_size_mean{kind="provider"}': 15.0,
        'llmx_batch_size_mean{kind="embeddings"}': 16.0,
        "llmx_coalescing_ratio": float(f"{1 / 6:.6g}"),
        'llmx_queue_wait_ms{quantile="0.5"}': 10.0, 'llmx_queue_wait_ms{quantile="0.99"}': 30.0,
        'llmx_ttft_ms{quantile="0.5"}': 100.0, 'llmx_ttft_ms{quantile="0.99"}': 300.0,
        "llmx_output_tokens_per_second": 100.0, "llmx_stream_writes_per_chunk": 0.25,
        "llmx_connections_active_peak": 6, "llmx_connections_open": 2,
        "llmx_connection_errors_total": 1, "llmx_pool_utilisation_ratio": 0.75}


def test_a_figure_without_data_has_no_sample() -> None:
    text = "\n".join(metrics_figures.lines(Figures().to_json({}), {}))
    assert samples(text) == {}
    assert "# TYPE llmx_pool_utilisation_ratio gauge" in text


def test_a_live_clients_figures_include_its_pool_and_cache_now(tmp_path: Path) -> None:
    async def go() -> str:
        async with SimServer(SimOptions(latency_ms=30)) as server:
            config = load_config({"profiles": {"p": {
                "provider": "openai", "model": "sim-1", "base_url": server.base_url + "/v1",
                "retries": 0, "http": {"max_connections": 4}}}})
            async with Client(resolve_profile(config, "p"),
                              env={"LLMX_HOME": str(tmp_path)}) as client:
                await asyncio.gather(*(client.generate(f"q{i}") for i in range(2)))
                await client.generate("q0")  # an exact hit
                return metrics_figures.text([client])

    got = samples(asyncio.run(go()))
    assert got['llmx_cache_hit_ratio{tier="exact"}'] == float(f"{1 / 3:.6g}")
    assert got["llmx_connections_active_peak"] == 2
    assert got["llmx_pool_utilisation_ratio"] == 0.5
    assert got["llmx_connection_errors_total"] == 0 and got["llmx_connections_open"] == 2
    assert got["llmx_cache_eviction_ratio"] == 0  # two written, none evicted, while open


def test_the_proxys_metrics_page_carries_the_figures(
        sim: Sim, serve_factory: Callable[..., Serve]) -> None:
    server = serve_factory(sim)
    body = {"model": "local", "messages": [{"role": "user", "content": "figures, please"}]}
    for _ in range(2):
        assert httpx.post(server.v1 + "/chat/completions", json=body, timeout=30).is_success
    page = httpx.get(server.url + "/metrics", timeout=10).text
    got = samples(page)
    assert got['llmx_cache_hits_total{tier="exact"}'] == 1  # the counters are still there
    assert got['llmx_cache_hit_ratio{tier="exact"}'] == 0.5
    assert got["llmx_connections_active_peak"] == 1
    assert 'llmx_ttft_ms{quantile="0.5"}' in got and metrics_figures.NOTE in page
