"""A lean HTTP/1.1 transport for httpx: asyncio.Protocol + ``llmx.providers.h1``, one
keep-alive pool per origin.

httpx's default transport (httpcore) spends so much CPU in its connection pool that one
client with 100 connections tops out near 100 requests/s here. ``H11Transport`` keeps the
pool O(1) per request: idle connections in a deque, waiters in a FIFO of futures, timeouts
as loop timers (no extra tasks). It speaks plain ``http://`` only (no TLS, no HTTP/2, no
proxies) and needs neither httpcore nor anyio.

Failures surface as httpx exceptions, so callers map them in one place:
``PoolTimeout``, ``ConnectTimeout``, ``ConnectError`` (the OS error as ``__cause__``),
``WriteTimeout``, ``ReadTimeout``, ``ReadError`` and ``RemoteProtocolError`` (the server
closed mid-response or broke the protocol).

The pools (``llmx.providers.pool``) check an idle connection before reuse, can be warmed
(``warm``), shrink after idle time and count what they do (``counters``). A request whose
connection turns out closed before any of its bytes were written (``NothingSent``) is sent
once more on a fresh connection, whatever its method: nothing reached the server. Any
other failure is raised, never retried here (``HttpEngine`` decides).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping

import httpx

from llmx.providers.connection import Connection, NothingSent
from llmx.providers.h1 import END, Head, check_headers, request_head
from llmx.providers.pool import Pool, PoolCounters, PoolPolicy

_CLOSE_GRACE_S = 1.0
_HTTP11 = {"http_version": b"HTTP/1.1"}


class ResponseStream(httpx.AsyncByteStream):
    """The body as it arrives; the connection goes back to the pool at its end."""

    def __init__(self, pool: Pool, conn: Connection, timeout: float | None) -> None:
        self._pool = pool
        self._conn: Connection | None = conn
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            while True:
                event = await conn.next_event(self._timeout)
                if event is END:
                    break
                yield event
        except BaseException as exc:
            self._discard(exc)
            raise
        self._conn = None
        self._pool.release(conn)

    async def read(self) -> bytes:
        """The whole (rest of the) body, as iterating would give it, joined."""
        conn = self._conn
        if conn is None:
            return b""
        try:
            body = await conn.read_body(self._timeout)
        except BaseException as exc:
            self._discard(exc)
            raise
        self._conn = None
        self._pool.release(conn)
        return body

    async def aclose(self) -> None:
        self._discard()

    def _discard(self, exc: BaseException | None = None) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.lost(conn, exc)


class H11Transport(httpx.AsyncBaseTransport):
    """Plain-HTTP/1.1 transport with keep-alive pools (limits apply per origin).

    ``limits`` as for httpx: ``max_connections`` caps the connections to one host:port,
    further requests wait in FIFO order up to the request's ``pool`` timeout;
    ``max_keepalive_connections`` caps idle ones; ``keepalive_expiry`` closes idle
    connections older than that many seconds, down to ``min_connections``.
    ``health_check`` False reuses idle connections unchecked and never re-sends (a
    baseline for benchmarks).
    """

    def __init__(self, limits: httpx.Limits | None = None, *, min_connections: int = 0,
                 health_check: bool = True) -> None:
        limits = limits if limits is not None else httpx.Limits(
            max_connections=100, max_keepalive_connections=100, keepalive_expiry=60.0)
        self._policy = PoolPolicy(limits, min_connections, health_check)
        self._pools: dict[tuple[str, int], Pool] = {}
        self._closed = False
        self._gone = PoolCounters()  # the counts of pools closed already

    def open_connections(self) -> int:
        """How many connections are open (connecting, busy or idle) over all origins."""
        return sum(len(pool.all) for pool in self._pools.values())

    def idle_connections(self) -> int:
        return sum(pool.idle for pool in self._pools.values())

    def counters(self) -> PoolCounters:
        """What the pools have done so far, summed over origins (``PoolCounters``)."""
        total = PoolCounters()
        total.add(self._gone)
        for pool in self._pools.values():
            total.add(pool.counters)
        return total

    def warm(self, host: str, port: int, n: int,
             timeouts: Mapping[str, float | None]) -> Awaitable[int]:
        """Open connections to ``host:port`` until ``n`` are open; await the result for how
        many were opened. They count as on their way from this call on (a request made
        meanwhile waits for one). Failures are counted, not raised."""
        if self._closed:
            return asyncio.sleep(0, 0)
        pool = self._pool(host, port)
        return pool.warm(pool.reserve(n), timeouts)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol(
                f"H11Transport speaks plain http only, not {url.scheme!r}", request=request)
        fields = request.headers.raw
        check_headers(fields)
        head = request_head(request.method.encode("ascii"), url.raw_path, fields)
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        close = "close" in request.headers.get("connection", "").lower()
        try:
            body: bytes | AsyncIterable[bytes] = request.content
        except httpx.RequestNotRead:
            assert isinstance(request.stream, httpx.AsyncByteStream)
            body = request.stream
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        reply, stream = await self.exchange(url.host, url.port or 80, head, body, timeouts,
                                            head_only=request.method == "HEAD", close=close,
                                            chunked=chunked)
        extensions = {**_HTTP11, "reason_phrase": bytes(reply.reason)}
        return httpx.Response(reply.status_code, headers=reply.headers,
                              stream=stream, extensions=extensions)

    async def exchange(self, host: str, port: int, head: bytes,
                       body: bytes | AsyncIterable[bytes],
                       timeouts: Mapping[str, float | None], *, head_only: bool = False,
                       close: bool = False, chunked: bool = False
                       ) -> tuple[Head, ResponseStream]:
        """Send ``head`` (``h1.request_head``) and ``body`` to ``host:port``; return the
        response head and its body (flags as ``Connection.send_request`` takes them).

        The body must be read to its end (the connection then goes back to the pool) or
        closed (the connection is dropped). Timeouts as httpx names them: ``pool``,
        ``connect``, ``write``, ``read``.
        """
        if self._closed:
            raise RuntimeError("H11Transport is closed")
        pool = self._pool(host, port)
        conn, _ = await pool.acquire(timeouts)
        send = functools.partial(Connection.send_request, head=head, body=body,
                                 timeout=timeouts.get("write"), head_only=head_only,
                                 close=close, chunked=chunked)
        conn = await self._sent(pool, conn, send, timeouts, resendable=isinstance(body, bytes))
        try:
            read = timeouts.get("read")
            reply = await conn.next_event(read)
            while reply.status_code < 200:  # informational: the final head comes next
                reply = await conn.next_event(read)
        except BaseException as exc:
            pool.lost(conn, exc)
            raise
        return reply, ResponseStream(pool, conn, timeouts.get("read"))

    @staticmethod
    async def _sent(pool: Pool, conn: Connection,
                    send: Callable[[Connection], Awaitable[None]],
                    timeouts: Mapping[str, float | None], *, resendable: bool) -> Connection:
        """Send on ``conn``; if it was closed before any byte went out, once more on a fresh
        connection. The connection the request went out on."""
        try:
            await send(conn)
            return conn
        except NothingSent as exc:
            if not (pool.health_check and resendable):
                pool.lost(conn, exc)
                raise
        except BaseException as exc:
            pool.lost(conn, exc)
            raise
        pool.failed(conn, keep_slot=True)
        pool.counters.retried += 1
        conn = await pool.fresh(timeouts)
        try:
            await send(conn)
        except BaseException as exc:
            pool.lost(conn, exc)
            raise
        return conn

    def _pool(self, host: str, port: int) -> Pool:
        key = (host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = Pool(host, port, self._policy)
        return pool

    async def aclose(self) -> None:
        """Close every connection (busy ones too) and wait until their sockets are closed."""
        self._closed = True
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            self._gone.add(pool.counters)
        closing = [fut for pool in pools for fut in pool.close_all()]
        pending = [fut for fut in closing if not fut.done()]
        if pending:
            await asyncio.wait(pending, timeout=_CLOSE_GRACE_S)
