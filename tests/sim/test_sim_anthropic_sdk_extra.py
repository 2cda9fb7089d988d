"""The simulator's Anthropic count_tokens, models and 529 overload, through the `anthropic`
SDK; Ollama generate/tags/show over plain HTTP."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from llmx.sim import SimServer
from tests.sim.simkit import with_sim


def _client(sim: SimServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0)


def test_count_tokens_matches_the_usage_of_the_same_prompt() -> None:
    async def run(sim: SimServer) -> None:
        messages = [{"role": "user", "content": "count these words please"}]
        async with _client(sim) as client:
            counted = await client.messages.count_tokens(model="sim-1", messages=messages,
                                                         system="be brief")
            reply = await client.messages.create(model="sim-1", messages=messages,
                                                 system="be brief", max_tokens=5)
        assert counted.input_tokens == reply.usage.input_tokens > 0

    with_sim(run)


def test_models_list_and_retrieve_are_anthropic_shaped() -> None:
    async def run(sim: SimServer) -> None:
        async with _client(sim) as client:
            page = await client.models.list()
            one = await client.models.retrieve("sim-1")
            with pytest.raises(anthropic.NotFoundError):
                await client.models.retrieve("claude-nope")
        ids = [m.id for m in page.data]
        assert "sim-1" in ids and all(m.type == "model" for m in page.data)
        assert one.id == "sim-1" and one.display_name

    with_sim(run)


def test_overload_is_a_529_overloaded_error() -> None:
    async def run(sim: SimServer) -> None:
        errors: list[anthropic.APIStatusError] = []
        async with _client(sim) as client:
            for _ in range(12):  # fail_rate answers 500 or the overload, at random
                with pytest.raises(anthropic.APIStatusError) as info:
                    await client.messages.create(
                        model="sim-1", max_tokens=5,
                        messages=[{"role": "user", "content": "hi"}])
                errors.append(info.value)
        overloads = [e for e in errors if e.status_code != 500]
        assert overloads and {e.status_code for e in overloads} == {529}
        assert all(isinstance(e, anthropic.OverloadedError) for e in overloads)
        body = overloads[0].body
        assert isinstance(body, dict) and body["error"]["type"] == "overloaded_error"

    with_sim(run, fail_rate=1.0)


def test_openai_clients_still_get_503_for_overload() -> None:
    async def run(sim: SimServer) -> None:
        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            statuses = {(await http.post("/v1/chat/completions", json={
                "model": "sim-1", "messages": [{"role": "user", "content": "hi"}]})).status_code
                for _ in range(12)}
        assert statuses == {500, 503}

    with_sim(run, fail_rate=1.0)


def test_ollama_generate_tags_and_show() -> None:
    async def run(sim: SimServer) -> None:
        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            whole = (await http.post("/api/generate", json={
                "model": "sim-1", "prompt": "why is the sky blue", "stream": False})).json()
            streamed = await http.post("/api/generate", json={
                "model": "sim-1", "prompt": "why is the sky blue"})
            tags = (await http.get("/api/tags")).json()
            show = await http.post("/api/show", json={"model": "sim-1"})
            missing = await http.post("/api/show", json={"model": "nope"})
        lines = [json.loads(line) for line in streamed.text.splitlines()]
        assert streamed.headers["content-type"] == "application/x-ndjson"
        assert "".join(line["response"] for line in lines) == whole["response"]
        assert lines[-1]["done"] is True and whole["done_reason"] == "stop"
        assert whole["eval_count"] == len(lines) - 1
        assert "sim-1:latest" in [m["name"] for m in tags["models"]]
        assert show.status_code == 200 and show.json()["capabilities"] == ["completion"]
        assert missing.status_code == 404 and missing.json() == {"error": "model 'nope' not found"}

    with_sim(run)
