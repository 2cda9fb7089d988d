"""Directed reply shapes over real HTTP, read back by llmx's own engine and codecs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from llmx.errors import AuthError, LlmxError, ProviderError, RateLimitError, StreamError
from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.registry import codec_for
from llmx.sim import SimServer
from llmx.sim.directives import Directive, find
from llmx.types import Chunk, Message, Request

from .simkit import with_sim


def base(sim: SimServer, provider: str) -> str:
    return sim.base_url + "/v1" if provider == "openai" else sim.base_url


async def ask(sim: SimServer, provider: str, prompt: str, *, stream: bool,
              retries: int = 0, key: str | None = None) -> tuple[list[Chunk], HttpEngine]:
    engine = HttpEngine()
    codec = codec_for(provider)
    endpoint = Endpoint(base_url=base(sim, provider), retries=retries, timeout=10.0)
    call = codec.build(Request("sim-1", (Message("user", prompt),), stream=stream), key)
    try:
        if not stream:
            return [await engine.request(endpoint, call, codec)], engine
        return [chunk async for chunk in engine.stream(endpoint, call, codec)], engine
    finally:
        await engine.aclose()


def outcome(provider: str, prompt: str, stream: bool) -> tuple[str, str | None, str]:
    """The answer's text, its last finish reason and its refusal text."""
    async def go(sim: SimServer) -> tuple[str, str | None, str]:
        chunks, _ = await ask(sim, provider, prompt, stream=stream)
        finishes = [c.finish_reason for c in chunks if c.finish_reason]
        return ("".join(c.text for c in chunks), (finishes[-1] if finishes else None),
                "".join(c.refusal for c in chunks))

    return with_sim(go)


FINISHES = [
    ("openai", "tool_calls", "tool_calls"),
    ("openai", "refusal", "refusal"),
    ("openai", "content_filter", "content_filter"),
    ("openai", "no_message", None),
    ("anthropic", "tool_calls", "tool_calls"),
    ("anthropic", "refusal", "refusal"),
    ("ollama", "tool_calls", "tool_calls"),
]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize(("provider", "name", "finish"), FINISHES)
def test_directed_reply_reaches_the_codec_as_that_finish_reason(
        provider: str, name: str, finish: str | None, stream: bool) -> None:
    text, got, refusal = outcome(provider, f"hello [[sim:{name}]]", stream)
    assert got == finish
    if name in ("tool_calls", "no_message", "load"):
        assert text == ""
    if name == "refusal" and provider == "openai":
        assert "can't help" in refusal and text == ""


ERRORS = [
    ("openai", "overloaded", True, StreamError, 503),
    ("openai", "rate_limited", True, RateLimitError, None),
    ("openai", "error_after_text", True, StreamError, 500),
    ("openai", "error_then_done", True, StreamError, 500),
    ("openai", "overloaded", False, ProviderError, 503),
    ("anthropic", "overloaded", True, StreamError, 529),
    ("anthropic", "rate_limited", True, RateLimitError, None),
    ("anthropic", "error_after_text", True, StreamError, 500),
    ("anthropic", "overloaded", False, ProviderError, 529),
    ("ollama", "overloaded", True, ProviderError, 503),
    ("ollama", "error_after_text", True, StreamError, 500),
]


@pytest.mark.parametrize(("provider", "name", "stream", "cls", "status"), ERRORS)
def test_directed_errors_map_like_their_http_twins(provider: str, name: str, stream: bool,
                                                   cls: type[LlmxError],
                                                   status: int | None) -> None:
    async def go(sim: SimServer) -> LlmxError:
        with pytest.raises(LlmxError) as info:
            await ask(sim, provider, f"hi [[sim:{name}]]", stream=stream)
        return info.value

    error = with_sim(go)
    assert type(error) is cls
    assert getattr(error, "status", None) == status


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_ollama_load_reply_is_not_an_answer(stream: bool) -> None:
    """``done_reason: "load"`` ends no answer: a stream of only that line ended early, a
    whole reply saying it is an error (never an empty answer that exits 0)."""
    async def go(sim: SimServer) -> LlmxError:
        with pytest.raises(StreamError) as info:
            await ask(sim, "ollama", "hello [[sim:load]]", stream=stream)
        return info.value

    message = str(with_sim(go))
    assert ("ended early" in message) if stream else ("done_reason: load" in message)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_inband_overload_once_is_retried_and_the_answer_arrives(provider: str) -> None:
    async def go(sim: SimServer) -> tuple[str, int]:
        chunks, engine = await ask(sim, provider, "count to three [[sim:overloaded*1]]",
                                   stream=True, retries=2)
        return "".join(c.text for c in chunks), engine.stats.requests

    text, requests = with_sim(go)
    assert text and requests == 2


def test_unsupported_directive_is_a_400_naming_it() -> None:
    async def go(sim: SimServer) -> httpx.Response:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            body: dict[str, Any] = {"model": "m", "stream": False,
                                    "messages": [{"role": "user", "content": "[[sim:load]]"}]}
            return await client.post("/v1/chat/completions", json=body)

    response = with_sim(go)
    assert response.status_code == 400
    assert "load" in response.json()["error"]["message"]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
def test_echo_key_prefix_is_refused_with_the_key_in_the_body(provider: str) -> None:
    key = "sim-echo-abcdefgh12345678"

    async def go(sim: SimServer) -> AuthError:
        with pytest.raises(AuthError) as info:
            await ask(sim, provider, "hi", stream=True, key=key)
        return info.value

    assert "401" in with_sim(go).message

    async def raw(sim: SimServer) -> httpx.Response:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            return await client.post("/v1/chat/completions", headers={
                "authorization": f"Bearer {key}"}, json={"model": "m", "messages": []})

    response = with_sim(raw)
    assert response.status_code == 401 and key in response.text


def test_directive_parsing() -> None:
    assert find("plain") is None
    assert find("a [[sim:refusal]] b") == Directive("refusal", None)
    once = find("[[sim:overloaded*2]]")
    assert once == Directive("overloaded", 2)
    assert [once.applies(n) for n in (1, 2, 3)] == [True, True, False]
