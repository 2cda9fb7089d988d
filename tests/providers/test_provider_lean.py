"""The lean path (``HttpEngine`` over ``H11Transport`` without httpx Request/Response objects):
what it puts on the wire, what it hands back, and recorded captures served over a socket."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import h11
import httpx
import pytest

from llmx.errors import RateLimitError, StreamError
from llmx.providers.base import HttpCall
from llmx.providers.h1 import BadHeader
from llmx.providers.http import USER_AGENT, Endpoint, HttpEngine
from llmx.providers.lean import ReplyHeaders
from llmx.providers.openai import OpenAICodec
from llmx.providers.registry import codec_for
from llmx.types import Chunk
from tests.providers.capture_kit import Capture, expected_stream, summarize
from tests.providers.test_provider_transport import Responder, TinyServer

Seen = list[tuple[h11.Request, bytes]]


def serve(reply: Callable[[h11.Request, bytes, Responder], Awaitable[None]],
          fn: Callable[[HttpEngine, Endpoint, TinyServer], Awaitable[Any]],
          **endpoint: Any) -> tuple[Any, Seen]:
    """Run ``fn`` with an engine pointed at a TinyServer whose answers ``reply`` writes."""
    seen: Seen = []

    async def handler(request: h11.Request, body: bytes, out: Responder) -> None:
        seen.append((request, body))
        await reply(request, body, out)

    async def main() -> Any:
        async with TinyServer(handler) as server:
            engine = HttpEngine(sleep=lambda s: asyncio.sleep(0))
            ep = Endpoint(base_url=server.url + "/v1", **endpoint)
            try:
                assert engine._route(ep).lean is not None  # the lean path is the one used
                return await fn(engine, ep, server)
            finally:
                await engine.aclose()

    return asyncio.run(main()), seen


def replying(body: bytes, *headers: tuple[str, str]
             ) -> Callable[[h11.Request, bytes, Responder], Awaitable[None]]:
    async def reply(request: h11.Request, got: bytes, out: Responder) -> None:
        await out.reply(body, *headers)

    return reply


CALL = HttpCall("POST", "chat/completions", {"Content-Type": "application/json",
                                             "Authorization": "Bearer sk-x"}, b'{"a":1}')


@pytest.mark.parametrize("call", [
    CALL,
    HttpCall("GET", "models?limit=2", {"X-Api-Key": "k"}),
    HttpCall("POST", "batches/b1/cancel", {"Anthropic-Version": "2023-06-01"}),
], ids=["post", "get-query", "post-empty"])
def test_the_wire_carries_what_an_httpx_request_would(call: HttpCall) -> None:
    async def go(engine: HttpEngine, ep: Endpoint, server: TinyServer) -> str:
        await engine.request_body(ep, call, OpenAICodec())
        return server.url

    url, seen = serve(replying(b"{}"), go)
    headers = {"accept": "*/*", "accept-encoding": "gzip, deflate", "user-agent": USER_AGENT,
               **call.headers}
    reference = httpx.Request(call.method, httpx.URL(url + "/v1/").join(call.path),
                              headers=headers, content=call.body)
    (request, body), = seen
    assert request.method == call.method.encode()
    assert request.target == reference.url.raw_path
    assert sorted(request.headers) == sorted(
        (k.lower(), v) for k, v in reference.headers.raw)
    assert body == call.body


def test_an_absolute_path_goes_to_its_own_target() -> None:
    async def go(engine: HttpEngine, ep: Endpoint, server: TinyServer) -> bytes:
        call = HttpCall("GET", server.url + "/elsewhere/results?x=1", {})
        return await engine.request_body(ep, call, OpenAICodec())

    body, seen = serve(replying(b"done"), go)
    assert body == b"done" and seen[0][0].target == b"/elsewhere/results?x=1"


def test_a_call_setting_its_own_user_agent_sends_one() -> None:
    async def go(engine: HttpEngine, ep: Endpoint, server: TinyServer) -> None:
        await engine.request_body(ep, HttpCall("GET", "m", {"User-Agent": "mine/1"}),
                                  OpenAICodec())

    _, seen = serve(replying(b"{}"), go)
    agents = [v for k, v in seen[0][0].headers if k == b"user-agent"]
    assert agents == [b"mine/1"]


def test_a_header_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    async def go(engine: HttpEngine, ep: Endpoint, server: TinyServer) -> None:
        bad = HttpCall("GET", "m", {"Authorization": "Bearer a\r\nX-Evil: 1"})
        with pytest.raises(BadHeader, match="Authorization"):
            await engine.request_body(ep, bad, OpenAICodec())

    _, seen = serve(replying(b"{}"), go)
    assert seen == []


PACKERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "raw-deflate": lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS),
}


@pytest.mark.parametrize("packing", sorted(PACKERS))
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_compressed_bodies_are_decoded(packing: str, stream: bool) -> None:
    text = json.dumps({"answer": "squeezed " * 300}).encode()
    encoding = "deflate" if packing == "raw-deflate" else packing

    async def go(engine: HttpEngine, ep: Endpoint, server: TinyServer) -> bytes:
        reply = await engine._route(ep).send(CALL, stream=stream)
        if not stream:
            return reply.content
        try:
            return b"".join([part async for part in reply.aiter_bytes()])
        finally:
            await reply.aclose()

    body, _ = serve(replying(PACKERS[packing](text), ("content-encoding", encoding)), go)
    assert body == text


def test_a_body_that_does_not_decompress_is_a_stream_error() -> None:
    async def go(engine: HttpEngine, ep: Endpoint, server: TinyServer) -> bytes:
        return await engine.request_body(ep, CALL, OpenAICodec())

    with pytest.raises(StreamError, match="could not decode"):
        serve(replying(b"not gzip at all", ("content-encoding", "gzip")), go)


def test_status_errors_read_headers_whatever_their_case() -> None:
    """A 429's Retry-After (any case) sets the wait; the second attempt succeeds."""
    answers = iter([429, 200])

    async def reply(request: h11.Request, body: bytes, out: Responder) -> None:
        status = next(answers)
        payload = b'{"error": {"message": "slow down", "type": "rate_limit"}}'
        await out.send(h11.Response(status_code=status, headers=[
            ("Content-Length", str(len(payload))), ("Retry-After", "0.25")]),
            h11.Data(data=payload), h11.EndOfMessage())

    waits: list[float] = []

    async def go(engine: HttpEngine, ep: Endpoint, server: TinyServer) -> int:
        async def sleep(seconds: float) -> None:
            waits.append(seconds)

        engine.sleep = sleep
        await engine.request_body(ep, CALL, OpenAICodec())
        return engine.stats.retries

    retries, seen = serve(reply, go, retries=1)
    assert retries == 1 and len(seen) == 2 and waits and waits[0] >= 0.25


def test_a_final_status_error_keeps_the_providers_message() -> None:
    payload = b'{"error": {"message": "slow down please", "type": "rate_limit"}}'

    async def go(engine: HttpEngine, ep: Endpoint, server: TinyServer) -> None:
        await engine.request_body(ep, CALL, OpenAICodec())

    async def reply(request: h11.Request, body: bytes, out: Responder) -> None:
        await out.send(h11.Response(status_code=429, headers=[
            ("content-length", str(len(payload)))]), h11.Data(data=payload), h11.EndOfMessage())

    with pytest.raises(RateLimitError, match="slow down please"):
        serve(reply, go, retries=0)


def test_reply_headers_are_case_insensitive_and_join_repeats() -> None:
    headers = ReplyHeaders([(b"set-cookie", b"a=1"), (b"Set-Cookie", b"b=2"),
                            (b"content-type", b"text/plain")])
    assert headers["SET-COOKIE"] == "a=1, b=2" and headers.get("Content-Type") == "text/plain"
    assert "Content-Type" in headers and 1 not in headers and len(headers) == 2
    assert sorted(headers) == ["content-type", "set-cookie"]


def served_capture(capture: Capture, stream: bool) -> list[Chunk]:
    """The capture's recorded body served over a socket, read back through the engine."""
    codec = codec_for(capture.provider)
    kept = [(k, v) for k, v in capture.headers.items()
            if k in ("content-type", "retry-after", "x-should-retry")]

    async def go(engine: HttpEngine, ep: Endpoint, server: TinyServer) -> list[Chunk]:
        call = HttpCall("POST", "x", {"Content-Type": "application/json"}, b"{}")
        if not stream:
            return [await engine.request(ep, call, codec)]
        return [chunk async for chunk in engine.stream(ep, call, codec)]

    chunks, _ = serve(replying(capture.body, *kept), go, retries=0)
    assert isinstance(chunks, list)
    return chunks


def test_recorded_streams_arrive_whole_over_the_lean_path(stream_capture: Capture) -> None:
    chunks = served_capture(stream_capture, stream=True)
    expected = expected_stream(stream_capture.provider, stream_capture.body)
    assert summarize(chunks) == expected


def test_recorded_replies_parse_as_over_httpx(chat_capture: Capture) -> None:
    (chunk,) = served_capture(chat_capture, stream=False)
    assert chunk == codec_for(chat_capture.provider).parse_response(chat_capture.body)
