"""The simulator through the official ``openai`` SDK (real HTTP over loopback)."""

from __future__ import annotations

import math
from typing import Any

import openai
import pytest

from llmx.sim import SimServer, count_tokens

from .simkit import with_sim

MESSAGES: Any = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name three rivers, please."},
]
INPUT_TOKENS = count_tokens("You are terse.") + count_tokens("Name three rivers, please.")


def _client(sim: SimServer, **kw: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0, **kw)


def test_chat_non_stream_has_text_and_real_usage() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            r = await client.chat.completions.create(model="sim-1", messages=MESSAGES)
        text = r.choices[0].message.content or ""
        assert text
        assert r.model == "sim-1"
        assert r.choices[0].finish_reason == "stop"
        assert r.usage is not None
        assert r.usage.completion_tokens == count_tokens(text) == 64  # max_tokens_default
        assert r.usage.prompt_tokens == INPUT_TOKENS
        assert r.usage.total_tokens == INPUT_TOKENS + 64

    with_sim(go)


def test_chat_max_tokens_truncates_with_finish_reason_length() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            full = await client.chat.completions.create(model="sim-1", messages=MESSAGES)
            short = await client.chat.completions.create(
                model="sim-1", messages=MESSAGES, max_completion_tokens=5
            )
        assert short.choices[0].finish_reason == "length"
        assert short.usage is not None and short.usage.completion_tokens == 5
        assert (full.choices[0].message.content or "").startswith(
            short.choices[0].message.content or "<none>"
        )

    with_sim(go, max_tokens_default=20)


def test_stream_with_include_usage_matches_the_non_stream_answer() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            whole = await client.chat.completions.create(model="sim-1", messages=MESSAGES)
            stream = await client.chat.completions.create(
                model="sim-1",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
            chunks = [chunk async for chunk in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == whole.choices[0].message.content
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
        assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
        last = chunks[-1]
        assert last.choices == []
        assert last.usage is not None
        assert last.usage.completion_tokens == count_tokens(text)
        assert last.usage.prompt_tokens == INPUT_TOKENS
        assert all(c.usage is None for c in chunks[:-1])

    with_sim(go)


def test_stream_without_include_usage_has_no_usage_chunk() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            stream = await client.chat.completions.create(
                model="sim-1", messages=MESSAGES, stream=True, max_tokens=3
            )
            chunks = [chunk async for chunk in stream]
        assert all(c.choices for c in chunks)
        assert chunks[-1].choices[0].finish_reason == "length"
        assert sum(1 for c in chunks if c.choices[0].delta.content) == 3

    with_sim(go)


def test_embeddings_default_base64_and_float_agree() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            packed = await client.embeddings.create(
                model="sim-embed-1", input=["hello world", "goodbye"]
            )
            floats = await client.embeddings.create(
                model="sim-embed-1", input="hello world", encoding_format="float", dimensions=256
            )
        assert [d.index for d in packed.data] == [0, 1]
        a, b = packed.data[0].embedding, floats.data[0].embedding
        assert len(a) == len(b) == 256
        assert all(
            math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-7) for x, y in zip(a, b, strict=True)
        )
        assert math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-5)
        assert packed.usage.prompt_tokens == 3

    with_sim(go)


def test_embedding_dimensions_are_respected() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            r = await client.embeddings.create(model="m", input="x", dimensions=32)
        assert len(r.data[0].embedding) == 32

    with_sim(go)


def test_models_list() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            models = [m.id async for m in client.models.list()]
        assert "sim-1" in models

    with_sim(go)


def test_invalid_key_is_an_authentication_error() -> None:
    async def go(sim: SimServer) -> None:
        client = openai.AsyncOpenAI(
            base_url=sim.base_url + "/v1", api_key="sim-invalid", max_retries=0
        )
        async with client:
            with pytest.raises(openai.AuthenticationError) as info:
                await client.chat.completions.create(model="sim-1", messages=MESSAGES)
        assert info.value.status_code == 401
        assert info.value.code == "invalid_api_key"
        assert "sim-invalid" not in str(info.value)

    with_sim(go)


def test_missing_model_is_a_bad_request() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            with pytest.raises(openai.BadRequestError) as info:
                await client.chat.completions.create(model="", messages=MESSAGES)
        assert info.value.status_code == 400
        assert info.value.type == "invalid_request_error"

    with_sim(go)


def test_sdk_retries_honour_retry_after_ms_on_429() -> None:
    async def go(sim: SimServer) -> None:
        client = openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=2)
        async with client:
            with pytest.raises(openai.RateLimitError) as info:
                await client.chat.completions.create(model="sim-1", messages=MESSAGES)
        assert info.value.code == "rate_limit_exceeded"
        assert sim.stats()["by_status"] == {"429": 3}  # one try and two retries

    with_sim(go, rate_limit_rate=1.0, retry_after_s=0.01)
