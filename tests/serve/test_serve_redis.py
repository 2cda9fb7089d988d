"""Two `llmx serve` processes sharing one redis-server: one upstream request per question
across the fleet."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import openai
import pytest

from tests.integration.conftest import Sim
from tests.redis_kit import RedisServer, _redis_session, redis_server
from tests.serve.conftest import Serve

__all__ = ["_redis_session", "redis_server"]

Factory = Callable[..., Serve]


def _config(sim: Sim, redis_url: str) -> str:
    return (f'default_profile = "local"\n[profiles.local]\nprovider = "openai"\n'
            f'model = "sim-1"\nbase_url = "{sim.url}/v1"\n'
            f'[profiles.local.cache]\nbackend = "redis"\nredis_url = "{redis_url}"\n')


def _requests(sim: Sim) -> int:
    return int(httpx.get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def test_a_miss_on_one_proxy_is_a_hit_on_the_other(sim: Sim, serve_factory: Factory,
                                                   redis_server: RedisServer) -> None:
    a = serve_factory(sim, config=_config(sim, redis_server.url))
    b = serve_factory(sim, config=_config(sim, redis_server.url))
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
    proxies = [serve_factory(slow, config=_config(slow, redis_server.url)) for _ in range(2)]

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
    config = (_config(sim, redis_server.url)
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
