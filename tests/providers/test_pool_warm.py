"""Warm start: ``http.min_connections`` connections opened when a Client is entered."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, TypeVar

import httpx
import pytest

from llmx.config.profile import load_config, resolve_profile
from llmx.engine import Client
from llmx.errors import ConfigError, TransportError
from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.openai import OpenAICodec
from llmx.sim import SimServer
from llmx.types import Message, Request
from tests.sim.simkit import with_sim

T = TypeVar("T")
REQUEST = Request(model="sim-1", messages=(Message("user", "hi"),), stream=False)
CODEC = OpenAICodec()


def profile(base_url: str, **http: Any) -> Any:
    return resolve_profile(load_config({"profiles": {"p": {
        "provider": "openai", "model": "sim-1", "base_url": base_url, "api_key_env": "SIM_KEY",
        "retries": 0, "http": http}}}), "p")


def test_warm_opens_the_connections_and_requests_use_them() -> None:
    async def go(sim: SimServer) -> tuple[int, dict[str, int], int]:
        engine = HttpEngine()
        ep = Endpoint(base_url=sim.base_url + "/v1", min_connections=3)
        try:
            opened = await engine.warm(ep)
            await asyncio.gather(*(engine.request(ep, CODEC.build(REQUEST, "k"), CODEC)
                                   for _ in range(3)))
            return opened, engine.counters(), sim.stats()["connections"]
        finally:
            await engine.aclose()

    opened, counts, served_on = with_sim(go, latency_ms=20)
    assert opened == 3 and served_on == 3
    assert counts["connections_opened"] == 3 and counts["connections_open"] == 3


def test_a_request_made_while_warming_waits_for_a_warm_connection() -> None:
    async def go(sim: SimServer) -> tuple[int, int]:
        engine = HttpEngine()
        ep = Endpoint(base_url=sim.base_url + "/v1", min_connections=2)
        try:
            engine.warm(ep)  # not awaited: the requests come at once
            await asyncio.gather(*(engine.request(ep, CODEC.build(REQUEST, "k"), CODEC)
                                   for _ in range(2)))
            return engine.counters()["connections_opened"], sim.stats()["connections"]
        finally:
            await engine.aclose()

    assert with_sim(go) == (2, 2)


def test_warming_never_opens_more_than_max_connections_or_than_are_open() -> None:
    async def go(sim: SimServer) -> tuple[int, int]:
        engine = HttpEngine()
        ep = Endpoint(base_url=sim.base_url + "/v1", max_connections=2, max_keepalive=2)
        try:
            first = await engine.warm(ep, 5)
            again = await engine.warm(ep, 2)
            return first, again
        finally:
            await engine.aclose()

    assert with_sim(go) == (2, 0)


def test_a_failed_warm_start_raises_nothing_and_the_first_request_reports_it() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there

    async def go() -> tuple[int, dict[str, int], str]:
        engine = HttpEngine()
        ep = Endpoint(base_url=f"http://127.0.0.1:{port}/v1", min_connections=2, retries=0)
        try:
            opened = await engine.warm(ep)
            with pytest.raises(TransportError) as caught:
                await engine.request(ep, CODEC.build(REQUEST, "k"), CODEC)
            return opened, engine.counters(), str(caught.value)
        finally:
            await engine.aclose()

    opened, counts, message = asyncio.run(go())
    assert opened == 0 and counts["connections_failed"] == 3  # two warm-ups, one request
    assert "cannot connect" in message


def test_over_httpx_each_warm_connection_is_a_head_of_the_base_url() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        return httpx.Response(404)

    async def go() -> int:
        engine = HttpEngine(transport_factory=lambda ep: httpx.MockTransport(handler))
        try:
            return await engine.warm(Endpoint(base_url="https://api.example/v1",
                                              min_connections=2))
        finally:
            await engine.aclose()

    assert asyncio.run(go()) == 2
    assert seen == [("HEAD", "/v1/"), ("HEAD", "/v1/")]


def test_entering_a_client_warms_when_configured_and_the_first_request_skips_the_set_up(
        ) -> None:
    """The simulator charges 300 ms to set up each new connection."""

    async def first_request_s(sim: SimServer, **http: Any) -> tuple[float, dict[str, int]]:
        prof = profile(sim.base_url + "/v1", **http)
        async with Client(prof, state=False, env={"SIM_KEY": "k"}) as client:
            await asyncio.sleep(0.4)  # the program does other things after entering
            started = time.perf_counter()
            await client.generate("hello")
            return time.perf_counter() - started, client.stats()

    async def go(sim: SimServer) -> tuple[Any, Any]:
        return await first_request_s(sim), await first_request_s(sim, min_connections=1)

    (cold_s, cold), (warm_s, warm) = with_sim(go, connect_delay_ms=300)
    assert cold_s >= 0.3 > warm_s
    assert cold["connections_opened"] == warm["connections_opened"] == 1
    assert warm["connections_reused"] == 0


def test_min_connections_above_max_connections_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        profile("http://127.0.0.1:9/v1", min_connections=6, max_connections=5)
    assert "min_connections" in str(caught.value)
    assert "at most http.max_connections (5)" in str(caught.value)
