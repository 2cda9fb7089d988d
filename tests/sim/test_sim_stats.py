"""/sim/stats, /sim/reset, routing errors and determinism."""

from __future__ import annotations

from typing import Any

import httpx

from llmx.sim import SimServer, prompt_key

from .simkit import with_sim


def _chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": "sim-1", "messages": [{"role": "user", "content": content}], **extra}


def test_stats_count_api_requests_endpoints_and_prompts() -> None:
    async def go(sim: SimServer) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            for _ in range(3):
                await client.post("/v1/chat/completions", json=_chat("alpha"))
            await client.post("/v1/chat/completions", json=_chat("beta", stream=True))
            await client.post("/v1/messages", json={**_chat("alpha"), "max_tokens": 5})
            await client.post("/api/embed", json={"model": "e", "input": "x"})
            await client.get("/v1/models")
            await client.get("/sim/stats")  # not an API request
            stats: dict[str, Any] = (await client.get("/sim/stats")).json()
            assert stats == {**sim.stats(), "uptime_s": stats["uptime_s"]}
            return stats

    stats = with_sim(go)
    assert stats["requests"] == 7
    assert stats["by_endpoint"] == {
        "/v1/chat/completions": 4,
        "/v1/messages": 1,
        "/api/embed": 1,
        "/v1/models": 1,
    }
    assert stats["by_status"] == {"200": 7}
    assert stats["streams"] == 1
    assert stats["prompts"] == {prompt_key("alpha"): 4, prompt_key("beta"): 1}
    assert stats["recent_prompts"][-1] == "alpha"
    assert stats["open_streams"] == 0 and stats["in_flight"] == 0
    assert stats["open_connections"] == 1
    assert stats["connections"] == 1  # one keep-alive connection served everything
    assert stats["output_tokens"] == 64 * 4 + 5
    assert stats["options"]["max_tokens_default"] == 64


def test_reset_zeroes_the_counters() -> None:
    async def go(sim: SimServer) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            await client.post("/v1/chat/completions", json=_chat("one"))
            assert (await client.post("/sim/reset")).status_code == 200
            await client.post("/v1/chat/completions", json=_chat("two"))
            return dict((await client.get("/sim/stats")).json())

    stats = with_sim(go)
    assert stats["requests"] == 1
    assert stats["prompts"] == {prompt_key("two"): 1}


def test_tracked_prompts_are_bounded() -> None:
    async def go(sim: SimServer) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            for word in ("a", "b", "c", "a"):
                await client.post("/v1/chat/completions", json=_chat(word, max_tokens=1))
        return sim.stats()

    stats = with_sim(go, max_tracked_prompts=2)
    assert stats["prompts"] == {prompt_key("a"): 2, prompt_key("b"): 1}
    assert stats["prompts_untracked"] == 1


def test_unknown_paths_and_methods_get_json_errors() -> None:
    async def go(sim: SimServer) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            return [
                await client.get("/nowhere"),
                await client.post("/v1/unknown", json={}),
                await client.get("/v1/chat/completions"),
                await client.post("/v1/chat/completions", content=b"{not json"),
                await client.post("/v1/chat/completions", json=["a list"]),
            ]

    r404, r404b, r405, bad_json, not_object = with_sim(go)
    assert r404.status_code == 404 and "error" in r404.json()
    assert r404b.status_code == 404 and r404b.json()["error"]["message"]
    assert r405.status_code == 405
    assert (
        bad_json.status_code == 400 and bad_json.json()["error"]["type"] == "invalid_request_error"
    )
    assert not_object.status_code == 400


def _answers(prompts: list[str], **options: Any) -> list[str]:
    async def go(sim: SimServer) -> list[str]:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            out = []
            for p in prompts:
                r = await client.post("/v1/chat/completions", json=_chat(p))
                out.append(r.json()["choices"][0]["message"]["content"])
            return out

    return with_sim(go, **options)


def test_same_prompt_same_answer_across_servers_and_seeds() -> None:
    first = _answers(["hello", "world", "hello"])
    second = _answers(["hello", "world"], seed=99)
    assert first[0] == first[2] == second[0]
    assert first[1] == second[1]
    assert first[0] != first[1]
