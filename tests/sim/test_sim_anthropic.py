"""The simulator through the official ``anthropic`` SDK (real HTTP over loopback)."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from llmx.sim import SimServer, count_tokens

from .simkit import with_sim

MESSAGES: Any = [{"role": "user", "content": "Write a haiku about caches."}]
SYSTEM = "Answer in English."
INPUT_TOKENS = count_tokens(SYSTEM) + count_tokens(MESSAGES[0]["content"])


def _client(sim: SimServer, key: str = "x") -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=sim.base_url, api_key=key, max_retries=0)


def test_messages_create_has_text_and_usage() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            msg = await client.messages.create(
                model="sim-1", max_tokens=1000, system=SYSTEM, messages=MESSAGES
            )
        assert msg.type == "message" and msg.role == "assistant"
        block = msg.content[0]
        assert block.type == "text" and block.text
        assert msg.stop_reason == "end_turn"
        assert msg.usage.output_tokens == count_tokens(block.text) == 40
        assert msg.usage.input_tokens == INPUT_TOKENS

    with_sim(go, max_tokens_default=40)


def test_messages_stream_accumulates_the_same_text() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            whole = await client.messages.create(
                model="sim-1", max_tokens=1000, system=SYSTEM, messages=MESSAGES
            )
            parts: list[str] = []
            async with client.messages.stream(
                model="sim-1", max_tokens=1000, system=SYSTEM, messages=MESSAGES
            ) as stream:
                async for text in stream.text_stream:
                    parts.append(text)
                final = await stream.get_final_message()
        assert len(parts) > 1
        block = whole.content[0]
        assert block.type == "text"
        assert "".join(parts) == block.text
        assert final.usage.output_tokens == count_tokens(block.text)
        assert final.usage.input_tokens == INPUT_TOKENS
        assert final.stop_reason == "end_turn"

    with_sim(go)


def test_stream_stops_at_max_tokens() -> None:
    async def go(sim: SimServer) -> None:
        async with (
            _client(sim) as client,
            client.messages.stream(model="sim-1", max_tokens=4, messages=MESSAGES) as stream,
        ):
            final = await stream.get_final_message()
        assert final.stop_reason == "max_tokens"
        assert final.usage.output_tokens == 4

    with_sim(go)


def test_invalid_key_is_an_authentication_error() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim, key="sim-invalid") as client:
            with pytest.raises(anthropic.AuthenticationError) as info:
                await client.messages.create(model="sim-1", max_tokens=10, messages=MESSAGES)
        assert info.value.status_code == 401
        body: Any = info.value.body
        assert body["error"]["type"] == "authentication_error"

    with_sim(go)


def test_missing_model_is_a_bad_request() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            with pytest.raises(anthropic.BadRequestError) as info:
                await client.messages.create(model="", max_tokens=10, messages=MESSAGES)
        body: Any = info.value.body
        assert body["type"] == "error"
        assert body["error"]["type"] == "invalid_request_error"

    with_sim(go)


def test_server_error_is_an_api_status_error_with_provider_shape() -> None:
    async def go(sim: SimServer) -> None:
        async with _client(sim) as client:
            with pytest.raises(anthropic.InternalServerError) as info:
                await client.messages.create(model="sim-1", max_tokens=10, messages=MESSAGES)
        assert info.value.status_code in (500, 529)  # Anthropic overload: 529
        body: Any = info.value.body
        assert body["error"]["type"] in ("api_error", "overloaded_error")

    with_sim(go, fail_rate=1.0)
