"""The monitoring figures fed by the running parts: the pool's busiest moment (active
connections, utilisation) and the pipe writer's pieces and writes (buffer efficiency), from
a real Client and a real ``llmx ask`` against a simulator over loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from llmx.config.profile import load_config, resolve_profile
from llmx.counters import Counts, counters_dir, read_totals, sink_counts
from llmx.engine import Client
from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.openai import OpenAICodec
from llmx.providers.pool import PoolCounters
from llmx.sim import SimOptions, SimServer
from llmx.types import Message, Request
from tests.cli.harness import InProcessCli, private_home
from tests.integration.conftest import profile_toml, start_sim, stop_sim
from tests.sim.simkit import with_sim

REQUEST = Request(model="sim-1", messages=(Message("user", "hi"),), stream=False)


def test_the_pool_counts_the_most_connections_in_use_at_once() -> None:
    async def go(sim: SimServer) -> dict[str, int]:
        engine, codec = HttpEngine(), OpenAICodec()
        ep = Endpoint(base_url=sim.base_url + "/v1", max_connections=4)
        try:
            await asyncio.gather(*(engine.request(ep, codec.build(REQUEST, "k"), codec)
                                   for _ in range(3)))
            await engine.request(ep, codec.build(REQUEST, "k"), codec)  # one, reused
            return engine.counters()
        finally:
            await engine.aclose()

    counts = with_sim(go, latency_ms=40)
    assert (counts["connections_peak"], counts["connections_capacity"]) == (3, 4)
    assert counts["connections_opened"] == 3 and counts["connections_reused"] == 1


def test_a_sum_of_pools_keeps_the_busiest_pools_peak_and_capacity() -> None:
    total = PoolCounters()
    total.add(PoolCounters(opened=2, peak=2, capacity=10))  # 20 % in use at most
    total.add(PoolCounters(opened=1, peak=3, capacity=4))  # 75 %: the busiest
    total.add(PoolCounters(opened=5, peak=5, capacity=100))
    assert (total.opened, total.peak, total.capacity) == (8, 3, 4)
    unused = PoolCounters()
    unused.add(PoolCounters(capacity=8))
    assert (unused.peak, unused.capacity) == (0, 8)  # a pool that carried nothing yet
    run = Counts()  # several Clients of one batch run: the pair stays one pool's
    run.update({"conn_peak": 2, "conn_capacity": 10, "conn_opened": 2})
    run.update({"conn_peak": 3, "conn_capacity": 4, "conn_opened": 3})
    run.update({"conn_peak": 5, "conn_capacity": 100})
    assert run.nonzero() == {"conn_opened": 5, "conn_peak": 3, "conn_capacity": 4}


def test_a_client_writes_its_pools_peak_and_capacity_to_the_counters(tmp_path: Path) -> None:
    env = {"LLMX_HOME": str(tmp_path)}

    async def go() -> None:
        async with SimServer(SimOptions(latency_ms=40)) as sim:
            config = load_config({"profiles": {"p": {
                "provider": "openai", "model": "sim-1", "base_url": sim.base_url + "/v1",
                "retries": 0, "http": {"max_connections": 5}}}})
            async with Client(resolve_profile(config, "p"), env=env) as client:
                await asyncio.gather(*(client.generate(f"question {i}") for i in range(3)))

    asyncio.run(go())
    totals = read_totals(counters_dir(env))
    assert (totals["conn_peak"], totals["conn_capacity"]) == (3, 5)
    assert totals["pool_utilisation"] == 3 / 5


def test_a_sink_without_counts_gives_none() -> None:
    assert sink_counts(object()) == {}


def _cli(tmp_path: Path, url: str) -> InProcessCli:
    cli = InProcessCli(*private_home(tmp_path))
    cli.write_config(profile_toml(url))
    return cli


def _monitoring(cli: InProcessCli) -> dict[str, Any]:
    result = cli.run("stats", "--json")
    assert result.returncode == 0, result.err
    data: dict[str, Any] = json.loads(result.stdout)["monitoring"]
    return data


def test_ask_into_a_pipe_counts_pieces_and_writes_and_stats_reports_them(
        tmp_path: Path) -> None:
    sim = start_sim("--tokens-per-s", "4000")
    try:
        cli = _cli(tmp_path, sim.url)
        first = cli.run("ask", "--max-tokens", "200", "tell me a long story")
        assert first.returncode == 0, first.err
        totals = read_totals(counters_dir(cli.env))
        chunks, writes = totals["stream_chunks"], totals["stream_writes"]
        assert chunks > 1 and 1 <= writes <= chunks
        again = cli.run("ask", "--max-tokens", "200", "tell me a long story")
        assert again.returncode == 0 and again.stdout == first.stdout
        after = read_totals(counters_dir(cli.env))  # a hit's replay is not a stream counted
        assert (after["stream_chunks"], after["stream_writes"]) == (chunks, writes)
        figures = _monitoring(cli)
        assert figures["buffer_efficiency"] == writes / chunks
        assert figures["connections"]["active_peak"] == 1
        assert figures["connections"]["errors"] == 0  # counted, none failed: 0, not null
    finally:
        stop_sim(sim)


def test_chat_from_a_pipe_counts_its_streams_too(tmp_path: Path) -> None:
    sim = start_sim("--tokens-per-s", "4000")
    try:
        cli = _cli(tmp_path, sim.url)
        done = cli.run("chat", "--max-tokens", "200", stdin=b"tell me a long story\nagain\n")
        assert done.returncode == 0, done.err
        totals = read_totals(counters_dir(cli.env))
        assert totals["stream_chunks"] > 2 and 1 <= totals["stream_writes"] <= totals[
            "stream_chunks"]
    finally:
        stop_sim(sim)
