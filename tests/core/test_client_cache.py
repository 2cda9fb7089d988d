"""The Client's cache pipeline against the embedded simulator (in-process, real loopback HTTP)."""

from __future__ import annotations

import asyncio
import os

from llmx.config.profile import builtin_config, resolve_profile
from llmx.engine import Client
from llmx.prepare import Call
from llmx.types import Chunk, Completion


def sim_profile():  # type: ignore[no-untyped-def]
    return resolve_profile(builtin_config(), "sim")


async def stream_pieces(client: Client, prompt: str) -> tuple[list[Chunk], Completion]:
    answer = client.stream(prompt, Call(max_tokens=20))
    chunks = [chunk async for chunk in answer]
    return chunks, answer.completion()


def test_a_streamed_hit_replays_the_original_chunks() -> None:
    async def go() -> tuple[list[Chunk], Completion, list[Chunk], Completion, dict[str, int]]:
        async with Client(sim_profile(), env=os.environ) as client:
            first, done = await stream_pieces(client, "stream me something")
            again, replayed = await stream_pieces(client, "stream me something")
            return first, done, again, replayed, client.stats()

    first, done, again, replayed, stats = asyncio.run(go())
    assert done.cached is False and replayed.cached == "exact"
    texts = [c.text for c in first if c.text]
    assert len(texts) > 1
    assert [c.text for c in again if c.text] == texts  # same boundaries, not one blob
    assert replayed.text == done.text and replayed.usage == done.usage
    assert stats["requests"] == 1


def test_cached_is_synchronous_and_needs_no_event_loop() -> None:
    async def fill() -> Completion:
        async with Client(sim_profile(), env=os.environ) as client:
            return await client.generate("sync lookup please")

    original = asyncio.run(fill())
    client = Client(sim_profile(), env=os.environ)
    try:
        assert client.cached("something never asked") is None
        hit = client.cached("sync lookup please")
    finally:
        client.close()
    assert hit is not None and hit.cached == "exact" and hit.text == original.text


def test_state_false_touches_no_disk(tmp_path: object) -> None:
    async def go() -> Completion:
        async with Client(sim_profile(), env={"LLMX_HOME": str(tmp_path)}, state=False) as client:
            await client.generate("no state")
            return await client.generate("no state")

    assert asyncio.run(go()).cached is False
    assert list(os.scandir(str(tmp_path))) == []


def test_a_failing_embeddings_endpoint_only_costs_the_semantic_tier(tmp_path: object) -> None:
    import httpx

    from llmx.config.profile import load_config
    from llmx.providers.http import HttpEngine

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/embeddings"):
            return httpx.Response(500, json={"error": {"message": "embeddings down"}})
        return httpx.Response(200, json={
            "id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1}})

    config = load_config({"profiles": {"p": {
        "provider": "openai", "model": "m", "base_url": "http://model.test/v1", "retries": 0,
        "cache": {"embedder": "provider"}}}})
    transport = httpx.MockTransport(handler)

    async def go() -> tuple[Completion, Completion]:
        engine = HttpEngine(transport_factory=lambda ep: transport)
        async with Client(resolve_profile(config, "p"), engine=engine,
                          env={"LLMX_HOME": str(tmp_path)}) as client:
            first = await client.generate("a question")
            second = await client.generate("a question")
        await engine.aclose()
        return first, second

    first, second = asyncio.run(go())
    assert first.text == "fine" and first.cached is False
    assert second.cached == "exact"  # the answer was still stored
    assert seen.count("/v1/chat/completions") == 1 and "/v1/embeddings" in seen
