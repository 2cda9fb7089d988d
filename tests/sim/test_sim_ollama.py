"""Ollama's native API on the simulator, driven with raw httpx."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx

from llmx.sim import SimServer, count_tokens

from .simkit import with_sim

CHAT: dict[str, Any] = {
    "model": "llama3.1",
    "messages": [{"role": "user", "content": "How many feet are in a nautical mile?"}],
}


def test_chat_streams_ndjson_by_default_with_a_final_done_line() -> None:
    async def go(sim: SimServer) -> None:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            r = await client.post("/api/chat", json=CHAT)
            whole = (await client.post("/api/chat", json={**CHAT, "stream": False})).json()
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in r.text.splitlines()]
        *parts, done = lines
        assert all(p["done"] is False for p in parts) and done["done"] is True
        text = "".join(p["message"]["content"] for p in parts)
        assert text == whole["message"]["content"]
        assert done["eval_count"] == count_tokens(text) == len(parts)
        assert done["prompt_eval_count"] == count_tokens(CHAT["messages"][0]["content"])
        assert done["done_reason"] == "stop"
        for key in ("total_duration", "prompt_eval_duration", "eval_duration"):
            assert isinstance(done[key], int) and done[key] > 0

    with_sim(go)


def test_chat_non_stream_reports_planned_durations_in_nanoseconds() -> None:
    async def go(sim: SimServer) -> None:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            r = await client.post(
                "/api/chat", json={**CHAT, "stream": False, "options": {"num_predict": 5}}
            )
        body = r.json()
        assert r.headers["content-type"].startswith("application/json")
        assert body["done"] is True and body["done_reason"] == "length"
        assert body["eval_count"] == 5
        n_in = body["prompt_eval_count"]
        assert body["prompt_eval_duration"] == round((2.0 + 0.5 * n_in) * 1e6)
        assert body["eval_duration"] == round(5 / 1000.0 * 1e9)

    with_sim(go, ttft_ms=2.0, per_input_token_ms=0.5, tokens_per_s=1000.0)


def test_embed_returns_a_list_of_unit_vectors() -> None:
    async def go(sim: SimServer) -> None:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            one = (await client.post("/api/embed", json={"model": "e", "input": "Hello"})).json()
            two = (
                await client.post("/api/embed", json={"model": "e", "input": ["Hello", "World"]})
            ).json()
        assert len(one["embeddings"]) == 1 and len(two["embeddings"]) == 2
        assert one["embeddings"][0] == two["embeddings"][0]
        assert two["embeddings"][0] != two["embeddings"][1]
        vec = one["embeddings"][0]
        assert len(vec) == 48 and math.isclose(sum(v * v for v in vec), 1.0, rel_tol=1e-9)
        assert two["prompt_eval_count"] == 2

    with_sim(go, embedding_dims=48)


def test_errors_are_a_plain_error_string() -> None:
    async def go(sim: SimServer) -> None:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            missing = await client.post("/api/chat", json={"messages": []})
            bad_key = await client.post(
                "/api/chat", json=CHAT, headers={"authorization": "Bearer sim-invalid"}
            )
        assert missing.status_code == 400 and isinstance(missing.json()["error"], str)
        assert bad_key.status_code == 401 and isinstance(bad_key.json()["error"], str)

    with_sim(go)
