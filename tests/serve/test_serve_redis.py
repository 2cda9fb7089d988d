"""Two `llmx serve` processes sharing one redis-server: one upstream request per question
across the fleet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import openai
import pytest

from tests.integration.conftest import Sim
from tests.redis_kit import RedisServer, _redis_session, redis_server
from tests.serve.conftest import Serve, redis_config

__all__ = ["_redis_session", "redis_server"]

Factory = Callable[..., Serve]


def _requests(sim: Sim) -> int:
    return int(httpx.get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def test_a_miss_on_one_proxy_is_a_hit_on_the_other(sim: Sim, serve_factory: Factory,
                                                   redis_server: RedisServer) -> None:
    a = serve_factory(sim, config=redis_config(sim, redis_server.url))
    b = serve_factory(sim, config=redis_config(sim, redis_server.url))
    messages = [{"role": "user", "content": "what is a consistent hash ring"}]
    first = openai.OpenAI(base_url=a.v1, api_key="x", max_retries=0).chat.completions \
        .with_raw_response.create(model="local", messages=messages)  # type: ignore[arg-type]
    second = openai.OpenAI(base_url=b.v1, api_key="x", max_retries=0).chat.completions \
        .with_raw_response.create(model="local", messages=messages)  # type: ignore[arg-type]
    assert (first.headers["x-llmx-cache"], second.headers["x-llmx-cache"]) == ("miss", "exact")
    assert (first.parse().choices[0].message.content
            == second.parse().choices[0].message.content)
    assert _requests(sim) == 1


def test_ten_streams_over_two_proxies_reach_the_provider_once(
        sim_factory: Callable[..., Sim], serve_factory: Factory,
        redis_server: RedisServer) -> None:
    slow = sim_factory("--ttft-ms", "500", "--tokens-per-s", "200")
    proxies = [serve_factory(slow, config=redis_config(slow, redis_server.url)) for _ in range(2)]

    async def ten() -> list[str]:
        clients = [openai.AsyncOpenAI(base_url=p.v1, api_key="x", max_retries=0)
                   for p in proxies]

        async def one(i: int) -> str:
            stream = await clients[i % 2].chat.completions.create(
                model="local", stream=True,
                messages=[{"role": "user", "content": "explain a merkle tree"}])
            return "".join([c.choices[0].delta.content or "" async for c in stream
                            if c.choices])

        try:
            return await asyncio.gather(*(one(i) for i in range(10)))
        finally:
            for client in clients:
                await client.close()

    answers = asyncio.run(ten())
    assert len(set(answers)) == 1 and answers[0]
    assert _requests(slow) == 1


def test_a_client_budget_is_one_budget_across_proxies(sim: Sim, serve_factory: Factory,
                                                      redis_server: RedisServer) -> None:
    config = (redis_config(sim, redis_server.url)
              + '[serve.clients.ci]\nkey_env = "CI_KEY"\nrpm = 3\n')
    env = {"CI_KEY": "ci-secret"}
    proxies = [serve_factory(sim, env=env, config=config) for _ in range(2)]
    clients = [openai.OpenAI(base_url=p.v1, api_key="ci-secret", max_retries=0)
               for p in proxies]
    for i in range(3):  # A, B, A: three of the minute's three requests
        clients[i % 2].chat.completions.create(
            model="local", messages=[{"role": "user", "content": f"budget question {i}"}])
    with pytest.raises(openai.RateLimitError) as caught:  # B has served only one
        clients[1].chat.completions.create(
            model="local", messages=[{"role": "user", "content": "one too many"}])
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert redis_server.command("EXISTS", "llmx:b:serve:requests:ci") == "1"


def _counter(text: str, name: str) -> float:
    found = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(name + " ")]
    assert len(found) == 1, (name, text)
    return float(found[0])


def _calls(redis_server: RedisServer, command: str) -> int:
    stats = redis_server.command("INFO", "commandstats")
    line = [part for part in stats.splitlines() if part.startswith(f"cmdstat_{command}:")]
    return int(line[0].split("calls=")[1].split(",")[0]) if line else 0


def test_metrics_are_the_fleets_sum_without_a_round_trip_per_request(
        sim: Sim, serve_factory: Factory, redis_server: RedisServer) -> None:
    a, b = (serve_factory(sim, config=redis_config(sim, redis_server.url)) for _ in range(2))
    ask_a, ask_b = (openai.OpenAI(base_url=p.v1, api_key="x", max_retries=0).chat.completions
                    for p in (a, b))
    one = [{"role": "user", "content": "what does a load balancer do"}]
    two = [{"role": "user", "content": "what is a write-ahead log"}]
    ask_a.create(model="local", messages=one)  # type: ignore[arg-type]
    ask_b.create(model="local", messages=one)  # type: ignore[arg-type]  (a hit)
    ask_b.create(model="local", messages=two)  # type: ignore[arg-type]
    httpx.get(b.url + "/metrics", timeout=10)  # B reports its counts
    text = httpx.get(a.url + "/metrics", timeout=10).text
    assert text.startswith("# llmx: the fleet's counters")
    chat_ok = 'llmx_requests_total{route="/v1/chat/completions",status="200"}'
    assert _counter(text, chat_ok) == 3
    assert _counter(text, 'llmx_cache_hits_total{tier="exact"}') == 1
    assert _counter(text, "llmx_upstream_latency_ms_count") == 2  # two misses, A's and B's
    before, started = _calls(redis_server, "hgetall"), time.monotonic()
    for _ in range(30):
        ask_a.create(model="local", messages=one)  # type: ignore[arg-type]
    reports = _calls(redis_server, "hgetall") - before
    elapsed = time.monotonic() - started
    assert reports <= 2 * (elapsed / 1.0 + 1), (reports, elapsed)  # per second, not request
    assert reports < 30
    # A's counts reach the sum within a second, unscraped (B's scrapes report only B's)
    deadline, hits = time.monotonic() + 1.5, 0.0
    while hits != 31 and time.monotonic() < deadline:
        time.sleep(0.05)
        text = httpx.get(b.url + "/metrics", timeout=10).text
        hits = _counter(text, 'llmx_cache_hits_total{tier="exact"}')
    assert hits == 31
