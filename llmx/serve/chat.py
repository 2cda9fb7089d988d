"""One chat request (OpenAI- or Anthropic-shaped: a ``Dialect``) through a profile's Client.

The answer goes through the same request path as ``llmx ask`` (cache, single flight,
retries, records). Errors before the first byte become an OpenAI-shaped error body with a
status that says whose fault it was (400 the request, 429 rate-limited upstream, 503 the
upstream is overloaded, 502/504 it failed); an error after a stream started is one in-band
``error`` event, then the stream ends without its normal ending (``[DONE]`` /
``message_stop``), so no client mistakes a cut answer for a whole one.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from llmx.errors import (
    UNAVAILABLE_STATUS,
    AuthError,
    LlmxError,
    ProviderError,
    RateLimitError,
    RequestTimeout,
    TransportError,
    UsageError,
)
from llmx.serve.wire import BadRequest, ChatCall

if TYPE_CHECKING:
    from llmx.answer import Answer
    from llmx.config.settings import Price
    from llmx.serve.asgi import Exchange
    from llmx.serve.budgets import Refused
    from llmx.serve.clients import Clients
    from llmx.serve.metrics import Metrics
    from llmx.types import Chunk, Completion


class Writer(Protocol):
    def first(self) -> bytes: ...
    def chunk(self, chunk: Chunk) -> bytes: ...
    def last(self) -> bytes: ...


class Dialect(Protocol):
    """A wire shape the proxy answers in (``wire_openai``, ``wire_anthropic``)."""

    prefix: str

    def parse(self, body: object) -> ChatCall: ...
    def whole(self, completion: Completion, ident: str, created: int) -> dict[str, Any]: ...
    def writer(self, ident: str, created: int, model: str, include_usage: bool) -> Writer: ...
    def error(self, kind: str, message: str) -> dict[str, Any]: ...
    def stream_error(self, kind: str, message: str) -> bytes: ...
    def over_budget(self, refused: Refused) -> tuple[dict[str, Any],
                                                     tuple[tuple[str, str], ...]]: ...


class Served(NamedTuple):
    """What a chat request came to: the cache tier it was served from (``miss``: upstream;
    empty when it failed), and the tokens the provider sent and received for it."""

    tier: str = ""
    tokens: int = 0


async def chat(exchange: Exchange, body: object, clients: Clients, metrics: Metrics,
               dialect: Dialect) -> Served:
    """Answer one chat request; the tier it came from and the provider tokens it cost."""
    try:
        asked = dialect.parse(body if isinstance(body, dict) else None)
        profile, model = clients.resolve(asked.model)
        client = await clients.client(profile)
        call = asked.call._replace(model=model)
        plan = client.plan(asked.prompt, call, stream=asked.stream)
        joined = client.in_flight(plan)  # it joins an identical call in flight
        metrics.coalesced += joined
        answer = client.stream(plan, wire_stream=asked.stream)
    except BadRequest as exc:
        await exchange.json(400, dialect.error("invalid_request_error", str(exc)))
        return Served()
    except LlmxError as exc:
        await failed(exchange, exc, dialect)
        return Served()
    tier = answer.cached or "miss"
    ident, now = dialect.prefix + secrets.token_hex(12), int(time.time())
    header = (("x-llmx-cache", tier),)
    if asked.stream:
        writer = dialect.writer(ident, now, call.model or profile.model, asked.include_usage)
        await _stream(exchange, answer, writer, dialect, header)
    else:
        try:
            completion = await answer.collect()
        except LlmxError as exc:
            await failed(exchange, exc, dialect)
            return Served(tier)
        await exchange.json(200, dialect.whole(completion, ident, now), header)
    tokens = _count(metrics, answer, tier, profile.price) if exchange.status == 200 else 0
    return Served(tier, 0 if joined else tokens)  # a follower cost the provider nothing


async def _stream(exchange: Exchange, answer: Answer, writer: Writer, dialect: Dialect,
                  header: tuple[tuple[str, str], ...]) -> None:
    """Stream the answer as SSE; the status line waits for the first chunk, so an upstream
    failure before any output still gets its own status."""
    started = False
    try:
        async for chunk in answer:
            event = writer.chunk(chunk)
            if not started:  # the opening events and the first delta leave in one write
                await exchange.start(200, "text/event-stream", (*header,
                                                                ("cache-control", "no-cache")))
                event, started = writer.first() + event, True
            if event:
                await exchange.write(event)
    except LlmxError as exc:
        if not started:
            await failed(exchange, exc, dialect)
            return
        await exchange.write(dialect.stream_error(_status(exc)[1], exc.message), more=False)
        return
    if not started:
        await exchange.start(200, "text/event-stream", header)
        await exchange.write(writer.first())
    await exchange.write(writer.last(), more=False)


def _count(metrics: Metrics, answer: Answer, tier: str, price: Price | None) -> int:
    """Count a delivered answer in the metrics; the tokens it cost upstream (0 for a hit)."""
    try:
        completion = answer.completion()
    except RuntimeError:
        return 0
    from llmx.steps import cost_of

    usage = completion.usage
    metrics.answered(tier, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                     latency_ms=completion.latency_ms, ttft_ms=completion.ttft_ms,
                     cost=0.0 if price is None else cost_of(price, usage))
    return usage.input_tokens + usage.output_tokens if tier == "miss" else 0


async def failed(exchange: Exchange, exc: LlmxError, dialect: Dialect) -> None:
    status, kind = _status(exc)
    await exchange.json(status, dialect.error(kind, exc.message))


def _status(exc: LlmxError) -> tuple[int, str]:
    """The HTTP status and error kind of an error met while answering."""
    if isinstance(exc, UsageError):
        return 400, "invalid_request_error"
    if isinstance(exc, RateLimitError):
        return 429, "rate_limit_error"
    if isinstance(exc, AuthError):  # the proxy's own upstream key: not the client's fault
        return 502, "upstream_auth_error"
    if isinstance(exc, RequestTimeout):
        return 504, "upstream_timeout"
    if isinstance(exc, TransportError):
        return 502, "upstream_unreachable"
    if isinstance(exc, ProviderError):
        upstream = exc.status or 502
        if upstream in UNAVAILABLE_STATUS:
            return 503, "upstream_overloaded"
        if 400 <= upstream < 500 and upstream not in (401, 403, 429):
            return upstream, "invalid_request_error"
        return 502, "upstream_error"
    return 500, "internal_error"
