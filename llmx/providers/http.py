"""The one HTTP engine: pooled httpx clients, timeouts, retries, warm start.

Every transport exception is mapped to the ``LlmxError`` tree once (``http_errors``).
Provider bodies are handed to the codec; this module never interprets a wire format itself.

Warm start: ``warm(ep)`` opens ``ep.min_connections`` connections in the background (a
request that comes meanwhile waits for one of them rather than opening its own). Over llmx's
own transport (plain ``http://``) that is a bare connect; over httpx (``https``, HTTP/2, a
proxy) each is a ``HEAD`` of the base URL, whose answer (any status) is read and dropped,
so that DNS, TCP, TLS and HTTP/2 set-up are done before the first call. ``counters()``:
the engine's counts and, over llmx's transport, the pools' (``connections_*``).

Timeouts: ``connect_timeout`` bounds connecting, ``read_timeout`` any single wait for
bytes, and ``timeout`` is the total budget of a request, retries included; for a stream it
covers everything up to the first chunk. After the first chunk has been handed to the
caller nothing is retried (the text may already be on the user's screen). An in-band error
(an error event inside a 200 stream, e.g. Anthropic's ``overloaded_error``) that arrives
before the first chunk retries like its HTTP equivalent (``retry.should_retry_error``).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import httpx

from llmx import __version__
from llmx.config.fields import defaults
from llmx.config.settings import HttpSettings, Profile
from llmx.errors import LlmxError, ProviderError, RequestTimeout
from llmx.providers.base import Codec, HttpCall
from llmx.providers.deadline import Deadlines
from llmx.providers.http_errors import Failure, timeout_message, transport_failure
from llmx.providers.lean import LeanRoute
from llmx.providers.pool import PoolCounters
from llmx.providers.proxy import proxy_for
from llmx.providers.retry import (
    RetryPolicy,
    retry_after_seconds,
    should_retry_error,
    should_retry_status,
)
from llmx.providers.transport import H11Transport
from llmx.types import Chunk

USER_AGENT = f"llmx/{__version__}"
# What httpx's client adds to every request; the lean path sends the same.
_LEAN_DEFAULTS = {"accept": "*/*", "accept-encoding": "gzip, deflate", "user-agent": USER_AGENT}


_POOL = HttpSettings()
_PROFILE = defaults(Profile)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to send: the part of a profile the HTTP engine needs. The defaults
    are the profile's declared ones (``llmx.config.settings``), not restated here."""

    base_url: str
    timeout: float = _PROFILE["timeout"]
    connect_timeout: float = _POOL.connect_timeout
    read_timeout: float = _POOL.read_timeout
    retries: int = _PROFILE["retries"]
    max_connections: int = _POOL.max_connections
    max_keepalive: int = _POOL.max_keepalive
    keepalive_expiry: float = _POOL.keepalive_expiry
    min_connections: int = _POOL.min_connections
    health_check: bool = _POOL.health_check
    http2: bool = _POOL.http2

    def pool_key(self) -> tuple[Any, ...]:
        return (self.base_url, self.max_connections, self.max_keepalive,
                self.keepalive_expiry, self.min_connections, self.health_check, self.http2)


@dataclass
class EngineStats:
    requests: int = 0
    retries: int = 0
    failures: int = 0
    clients: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"requests": self.requests, "retries": self.retries,
                "failures": self.failures, "clients": self.clients}


TransportFactory = Callable[[Endpoint], httpx.AsyncBaseTransport]


class _Reply(Protocol):
    """What a sent call gives back: an ``httpx.Response`` or the lean path's ``LeanReply``."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def content(self) -> bytes: ...
    async def aread(self) -> bytes: ...
    def aiter_bytes(self) -> AsyncIterator[bytes]: ...
    async def aclose(self) -> None: ...


@dataclass(slots=True)
class _Route:
    """How one endpoint's calls go out.

    With ``lean`` (llmx's own H11Transport) a call skips AsyncClient's auth, redirect and
    cookie layers, none of which llmx uses, and builds no httpx Request or Response.
    """

    client: httpx.AsyncClient
    lean: LeanRoute | None = None
    proxy: str | None = None  # the proxy the client goes through (``proxy.proxy_for``)

    async def send(self, call: HttpCall, *, stream: bool) -> _Reply:
        if self.lean is not None:
            return await self.lean.send(call.method, call.path, call.headers, call.body,
                                        stream=stream)
        request = self.client.build_request(call.method, call.path, content=call.body,
                                            headers=_headers(call))
        return await self.client.send(request, stream=stream)

    def warm(self, n: int) -> Awaitable[int]:
        """Open ``n`` connections (see ``HttpEngine.warm``); await it for how many opened."""
        if self.lean is not None:
            return self.lean.warm(n)
        return self._heads(n)

    async def _heads(self, n: int) -> int:
        results = await asyncio.gather(*(self._head() for _ in range(n)))
        return sum(results)

    async def _head(self) -> bool:
        try:
            response = await self.client.head("")
            await response.aclose()
        except httpx.HTTPError:
            return False
        return True


@dataclass
class HttpEngine:
    """Sends codec-built calls with pooled clients (one per endpoint) and retries."""

    transport_factory: TransportFactory | None = None
    sleep: Callable[[float], Any] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    stats: EngineStats = field(default_factory=EngineStats)
    _routes: dict[tuple[Any, ...], _Route] = field(default_factory=dict)
    _deadlines: Deadlines = field(default_factory=Deadlines)  # one timer for all calls

    _warming: set[asyncio.Task[int]] = field(default_factory=set)

    async def aclose(self) -> None:
        for task in list(self._warming):
            task.cancel()
        if self._warming:
            await asyncio.gather(*self._warming, return_exceptions=True)
        routes, self._routes = list(self._routes.values()), {}
        for route in routes:
            await route.client.aclose()

    def warm(self, ep: Endpoint, n: int | None = None) -> asyncio.Task[int]:
        """Open ``n`` (default ``ep.min_connections``) connections to ``ep`` in the
        background; the task's result is how many were opened. Never raises: a failed
        connect is counted and left for the first request to report."""
        route = self._route(ep)
        wanted = ep.min_connections if n is None else n
        task = asyncio.ensure_future(_counted(route.warm(max(0, wanted))))
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)
        return task

    def counters(self) -> dict[str, int]:
        """``stats`` plus, for routes over llmx's transport, the pools' counts:
        ``connections_opened`` / ``_reused`` / ``_discarded`` / ``_failed`` / ``_expired``
        / ``_retried`` (cumulative), ``connections_peak`` / ``_capacity`` (the busiest
        pool's most connections in use at once, and its ``max_connections``) and
        ``connections_open`` / ``_idle`` (now)."""
        counts = self.stats.as_dict()
        lean = [r.lean.transport for r in self._routes.values() if r.lean is not None]
        if lean:
            total = PoolCounters()
            for transport in lean:
                total.add(transport.counters())
            counts.update({f"connections_{k}": v for k, v in asdict(total).items()})
            counts["connections_open"] = sum(t.open_connections() for t in lean)
            counts["connections_idle"] = sum(t.idle_connections() for t in lean)
        return counts

    def client(self, ep: Endpoint) -> httpx.AsyncClient:
        return self._route(ep).client

    def _route(self, ep: Endpoint) -> _Route:
        key = ep.pool_key()
        found = self._routes.get(key)
        if found is None:
            proxy = None if self.transport_factory else proxy_for(ep.base_url, os.environ)
            client, direct = self._new_client(ep, proxy)
            lean = None if direct is None else LeanRoute(
                direct, str(client.base_url), client.timeout.as_dict(), _LEAN_DEFAULTS)
            found = self._routes[key] = _Route(client, lean, proxy)
            self.stats.clients += 1
        return found

    def _new_client(self, ep: Endpoint, proxy: str | None
                    ) -> tuple[httpx.AsyncClient, H11Transport | None]:
        """The endpoint's pooled client, and llmx's own transport when it is the one used.
        The environment's proxies are applied here, once (``proxy``), never by httpx."""
        limits = httpx.Limits(
            max_connections=ep.max_connections,
            max_keepalive_connections=ep.max_keepalive,
            keepalive_expiry=ep.keepalive_expiry,
        )
        timeout = httpx.Timeout(ep.read_timeout, connect=ep.connect_timeout, pool=ep.timeout)
        base = ep.base_url.rstrip("/") + "/"
        if self.transport_factory is not None:
            client = httpx.AsyncClient(base_url=base, timeout=timeout,
                                       transport=self.transport_factory(ep))
            return client, None
        if base.startswith("http://") and not ep.http2 and proxy is None:
            # httpcore's pool is CPU-bound at high concurrency; H11Transport is not.
            lean = H11Transport(limits, min_connections=ep.min_connections,
                                health_check=ep.health_check)
            return httpx.AsyncClient(base_url=base, timeout=timeout, transport=lean), lean
        # Plain http never does TLS: skip loading the CA bundle (~50 ms per process). The
        # context honours SSL_CERT_FILE / SSL_CERT_DIR, as httpx's trust_env would.
        verify = False if base.startswith("http://") else httpx.create_ssl_context()
        return httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout,
                                 http2=ep.http2, verify=verify, proxy=proxy,
                                 trust_env=False), None

    async def request(self, ep: Endpoint, call: HttpCall, codec: Codec) -> Chunk:
        """Send a non-streamed call and return the whole reply as one Chunk."""
        body = await self.request_body(ep, call, codec)
        try:
            return _parse_or_fail(codec, body)
        except Failure as failure:
            raise failure.error from None

    async def request_body(self, ep: Endpoint, call: HttpCall, codec: Codec) -> bytes:
        """Send a call and return its 2xx body (errors go through ``codec.parse_error``)."""
        deadline = self.clock() + ep.timeout
        attempt = 0
        while True:
            try:
                return await self._deadlines.within(deadline - self.clock(),
                                                    self._request_once(ep, call, codec))
            except Failure as failure:
                attempt = await self._before_retry(failure, attempt, ep, deadline, False)
            except TimeoutError:
                raise RequestTimeout(timeout_message(ep.base_url, ep.timeout)) from None

    async def stream(self, ep: Endpoint, call: HttpCall, codec: Codec) -> AsyncIterator[Chunk]:
        """Stream a call's chunks. Retries only before the first chunk is yielded."""
        deadline = self.clock() + ep.timeout
        attempt = 0
        while True:
            emitted = False
            try:
                async with aclosing(self._stream_once(ep, call, codec, deadline)) as chunks:
                    async for chunk in chunks:
                        emitted = True
                        yield chunk
                return
            except Failure as failure:
                attempt = await self._before_retry(failure, attempt, ep, deadline, emitted)

    async def _before_retry(
        self, failure: Failure, attempt: int, ep: Endpoint, deadline: float, emitted: bool
    ) -> int:
        """Wait before the next attempt, or raise the failure's error if it is final."""
        self.stats.failures += 1
        if emitted or not failure.retryable or attempt >= ep.retries:
            raise failure.error
        delay = RetryPolicy(ep.retries).delay(attempt, failure.retry_after, self.rand)
        if self.clock() + delay >= deadline:
            raise failure.error
        self.stats.retries += 1
        await self.sleep(delay)
        return attempt + 1

    async def _request_once(self, ep: Endpoint, call: HttpCall, codec: Codec) -> bytes:
        self.stats.requests += 1
        route = self._route(ep)
        try:
            response = await route.send(call, stream=False)
        except httpx.HTTPError as exc:
            raise _mapped(exc, ep, route.proxy) from None
        if response.status_code >= 300:
            raise _status_failure(codec, response.status_code, response.headers, response.content)
        return response.content

    async def _stream_once(
        self, ep: Endpoint, call: HttpCall, codec: Codec, deadline: float
    ) -> AsyncGenerator[Chunk, None]:
        """One attempt. The total budget covers the wait for the first chunk only."""
        self.stats.requests += 1
        route = self._route(ep)
        response: _Reply | None = None
        try:
            async with asyncio.timeout(max(0.0, deadline - self.clock())):
                response = await route.send(call, stream=True)
                chunks = _decode_stream(response, codec)
                first = await anext(chunks, None)
            if first is None:
                return
            yield first
            async with aclosing(chunks):
                async for chunk in chunks:
                    yield chunk
        except httpx.HTTPError as exc:
            raise _mapped(exc, ep, route.proxy) from None
        except TimeoutError:
            raise Failure(RequestTimeout(timeout_message(ep.base_url, ep.timeout)),
                          retryable=False) from None
        finally:
            if response is not None:
                await response.aclose()


async def _counted(opening: Awaitable[int]) -> int:
    return await opening


async def _decode_stream(response: _Reply, codec: Codec) -> AsyncGenerator[Chunk, None]:
    if response.status_code >= 300:
        body = await response.aread()
        raise _status_failure(codec, response.status_code, response.headers, body)
    if response.headers.get("content-type", "").startswith("application/json"):
        # The server ignored `stream: true` and answered with one JSON body.
        yield _parse_or_fail(codec, await response.aread())
        return
    decoder = codec.stream_decoder()
    async for data in response.aiter_bytes():
        for chunk in _feed(decoder.feed, data):
            yield chunk
    for chunk in _feed(lambda _: decoder.close(), b""):
        yield chunk


def _feed(step: Callable[[bytes], list[Chunk]], data: bytes) -> list[Chunk]:
    """Decode; an in-band error is retryable like its HTTP twin (``stream`` retries only
    while nothing has been yielded)."""
    try:
        return step(data)
    except LlmxError as exc:
        raise Failure(exc, retryable=should_retry_error(exc)) from None


def _parse_or_fail(codec: Codec, body: bytes) -> Chunk:
    try:
        return codec.parse_response(body)
    except LlmxError as exc:
        raise Failure(exc, retryable=should_retry_error(exc)) from None
    except (ValueError, KeyError, TypeError, IndexError):
        error = ProviderError(f"{codec.name}: unreadable response body ({len(body)} bytes)")
        raise Failure(error, retryable=False) from None


def _headers(call: HttpCall) -> dict[str, str]:
    headers = {"user-agent": USER_AGENT}
    headers.update(call.headers)
    return headers


def _status_failure(codec: Codec, status: int, headers: Mapping[str, str], body: bytes) -> Failure:
    error = codec.parse_error(status, headers, body)
    retry_after = retry_after_seconds(headers)
    if retry_after is not None and hasattr(error, "retry_after"):
        error.retry_after = retry_after
    return Failure(error, should_retry_status(status, headers), retry_after)


def _mapped(exc: httpx.HTTPError, ep: Endpoint, proxy: str | None) -> Failure:
    return transport_failure(exc, ep.base_url, proxy, (ep.connect_timeout, ep.read_timeout))
