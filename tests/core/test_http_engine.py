"""The HTTP engine over httpx.MockTransport: retries, budgets, error mapping. No sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from llmx.errors import (
    AuthError,
    ProviderError,
    RateLimitError,
    RequestTimeout,
    StreamError,
    TransportError,
)
from llmx.providers.anthropic import AnthropicCodec
from llmx.providers.base import Codec
from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.openai import OpenAICodec
from llmx.types import Chunk, Message, Request

Handler = Callable[[httpx.Request], httpx.Response]
EP = Endpoint(base_url="http://model.test/v1", timeout=30.0, retries=2)
REQUEST = Request(model="m", messages=(Message("user", "hi"),), stream=False)


def reply(text: str) -> httpx.Response:
    body = {"id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
    return httpx.Response(200, json=body)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers,
                          json={"error": {"message": message, "type": "x", "code": None}})


def sse(*objects: object, done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(o)}\n\n" for o in objects]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def delta(text: str, finish: str | None = None) -> dict[str, object]:
    return {"id": "x", "object": "chat.completion.chunk", "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


class Script:
    """Serves a fixed sequence of responses and records what was asked."""

    def __init__(self, *steps: httpx.Response | Exception) -> None:
        self.steps: Iterator[httpx.Response | Exception] = iter(steps)
        self.seen: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        step = next(self.steps)
        if isinstance(step, Exception):
            raise step
        return step

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def engine(self) -> HttpEngine:
        transport = httpx.MockTransport(self.handler)
        return HttpEngine(transport_factory=lambda ep: transport, sleep=self.sleep,
                          rand=lambda: 0.5)


def run_request(script: Script, ep: Endpoint = EP) -> Chunk:
    async def go() -> Chunk:
        engine = script.engine()
        try:
            codec = OpenAICodec()
            return await engine.request(ep, codec.build(REQUEST, "sk-test"), codec)
        finally:
            await engine.aclose()

    return asyncio.run(go())


def run_stream(script: Script, sink: list[str], codec: Codec | None = None) -> None:
    chosen: Codec = OpenAICodec() if codec is None else codec

    async def go() -> None:
        engine = script.engine()
        try:
            call = chosen.build(Request(model="m", messages=REQUEST.messages), None)
            async for chunk in engine.stream(EP, call, chosen):
                sink.append(chunk.text)
        finally:
            await engine.aclose()

    asyncio.run(go())


def test_429_then_success_waits_the_servers_retry_after() -> None:
    script = Script(error(429, "slow down", {"retry-after-ms": "120"}), reply("ok"))
    assert run_request(script).text == "ok"
    assert len(script.seen) == 2
    assert script.sleeps == [pytest.approx(0.12)]


def test_5xx_backs_off_with_jitter_then_gives_up_with_the_providers_message() -> None:
    script = Script(*(error(503, "overloaded now") for _ in range(3)))
    with pytest.raises(ProviderError, match="overloaded now") as info:
        run_request(script)
    assert info.value.status == 503
    assert len(script.seen) == 3  # 1 + retries
    assert script.sleeps == [pytest.approx(0.125), pytest.approx(0.25)]  # rand=0.5 * 0.25 * 2**n


def test_401_is_not_retried() -> None:
    script = Script(error(401, "bad key"))
    with pytest.raises(AuthError, match="bad key"):
        run_request(script)
    assert len(script.seen) == 1


def test_429_after_retries_is_a_rate_limit_error_with_retry_after() -> None:
    script = Script(*(error(429, "limit", {"retry-after": "0.01"}) for _ in range(3)))
    with pytest.raises(RateLimitError) as info:
        run_request(script)
    assert info.value.retry_after == pytest.approx(0.01)
    assert len(script.seen) == 3


def test_a_wait_beyond_the_time_budget_is_not_taken() -> None:
    script = Script(error(429, "limit", {"retry-after": "120"}))
    with pytest.raises(RateLimitError):
        run_request(script)
    assert script.sleeps == []


def test_connection_refused_is_retried_then_named_by_host_only() -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    script = Script(refused, refused, refused)
    ep = Endpoint(base_url="http://user:pw@model.test:8080/v1?key=sk-secret", retries=2)
    with pytest.raises(TransportError) as info:
        run_request(script, ep)
    assert "model.test:8080" in info.value.message
    assert "connection refused" in info.value.message
    assert "sk-secret" not in info.value.message and "pw" not in info.value.message
    assert len(script.seen) == 3


def test_read_timeout_maps_to_request_timeout() -> None:
    script = Script(*(httpx.ReadTimeout("slow") for _ in range(3)))
    with pytest.raises(RequestTimeout):
        run_request(script)


def test_stream_retries_before_the_first_chunk() -> None:
    body = sse(delta("Hel"), delta("lo", "stop"))
    ok = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    script = Script(error(503, "warming up"), ok)
    texts: list[str] = []
    run_stream(script, texts)
    assert "".join(texts) == "Hello"
    assert len(script.seen) == 2


def test_stream_is_never_retried_once_a_chunk_was_handed_out() -> None:
    async def cut() -> AsyncIterator[bytes]:
        yield sse(delta("partial "), done=False)
        raise httpx.ReadError("connection reset")

    ok = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=cut())
    script = Script(ok, reply("must not be requested"))
    texts: list[str] = []
    with pytest.raises(TransportError, match="closed mid-response"):
        run_stream(script, texts)
    assert texts == ["partial "]
    assert len(script.seen) == 1


def test_stream_answered_with_plain_json_still_works() -> None:
    script = Script(reply("whole"))
    texts: list[str] = []
    run_stream(script, texts)
    assert texts == ["whole"]


def test_one_pooled_client_per_endpoint() -> None:
    async def go() -> int:
        engine = HttpEngine()
        a = engine.client(EP)
        b = engine.client(EP)
        c = engine.client(Endpoint(base_url="http://other.test"))
        await engine.aclose()
        return len({id(a), id(b), id(c)})

    assert asyncio.run(go()) == 2


OVERLOADED = {"error": {"message": "Our servers are currently overloaded.",
                        "type": "service_unavailable_error", "param": None,
                        "code": "server_is_overloaded"}}
ROLE = {"id": "x", "object": "chat.completion.chunk", "model": "m",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}


def streamed(body: bytes | AsyncIterator[bytes]) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def test_inband_overload_before_the_first_token_is_retried_then_succeeds() -> None:
    script = Script(streamed(sse(ROLE, OVERLOADED, done=False)),
                    streamed(sse(delta("Hel"), delta("lo", "stop"))))
    texts: list[str] = []
    run_stream(script, texts)
    assert "".join(texts) == "Hello"
    assert len(script.seen) == 2 and len(script.sleeps) == 1


def test_anthropic_overloaded_error_event_before_the_first_token_is_retried() -> None:
    def event(name: str, data: object) -> bytes:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

    start = event("message_start", {"type": "message_start", "message": {"model": "c"}})
    overloaded = event("error", {"type": "error", "error": {"type": "overloaded_error",
                                                            "message": "Overloaded"}})
    text = event("content_block_delta", {"type": "content_block_delta",
                                         "delta": {"type": "text_delta", "text": "Hi"}})
    stop = event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}})
    script = Script(streamed(start + overloaded),
                    streamed(start + text + stop + event("message_stop", {})))
    texts: list[str] = []
    run_stream(script, texts, AnthropicCodec())
    assert "".join(texts) == "Hi"
    assert len(script.seen) == 2


def test_inband_rate_limit_retried_then_exit_4_when_it_persists() -> None:
    limited = {"error": {"message": "Rate limit reached", "type": "requests",
                         "code": "rate_limit_exceeded"}}
    script = Script(*(streamed(sse(limited, done=False)) for _ in range(3)))
    with pytest.raises(RateLimitError, match="Rate limit reached") as info:
        run_stream(script, [])
    assert int(info.value.exit_code) == 4
    assert len(script.seen) == 3


def test_inband_overload_after_the_first_token_is_not_retried() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield sse(delta("partial "), done=False)
        yield sse(OVERLOADED, done=False)

    script = Script(streamed(body()), reply("must not be requested"))
    texts: list[str] = []
    with pytest.raises(StreamError, match="overloaded"):
        run_stream(script, texts)
    assert texts == ["partial "]
    assert len(script.seen) == 1


def test_inband_client_error_is_not_retried() -> None:
    bad = {"object": "error", "message": "bad grammar", "type": "BadRequestError", "code": 400}
    script = Script(streamed(sse(bad)), reply("must not be requested"))
    with pytest.raises(StreamError, match="bad grammar"):
        run_stream(script, [])
    assert len(script.seen) == 1
