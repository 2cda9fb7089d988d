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
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Mapping

import httpx

from llmx.providers.connection import Connection, resolve, resolve_later
from llmx.providers.h1 import END, Head, check_headers, request_head

_EXPIRED = object()  # what a pool waiter's future holds when its wait ran out
_CLOSED = object()  # ... when the transport was closed meanwhile
_CLOSE_GRACE_S = 1.0
_HTTP11 = {"http_version": b"HTTP/1.1"}


def _os_reason(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else str(exc)


class _Pool:
    """Keep-alive connections to one origin, at most ``max_connections`` at a time."""

    def __init__(self, host: str, port: int, limits: httpx.Limits) -> None:
        self.host, self.port = host, port
        self._max = limits.max_connections or 2**31
        self._max_idle = (self._max if limits.max_keepalive_connections is None
                          else limits.max_keepalive_connections)
        self._expiry = limits.keepalive_expiry
        self._idle: deque[Connection] = deque()
        self._waiters: deque[asyncio.Future[object]] = deque()
        self.count = 0  # connections counted against the limit (connecting, busy or idle)
        self.all: set[Connection] = set()
        self.closed = False

    async def acquire(self, timeouts: Mapping[str, float | None]) -> Connection:
        conn = self._take_idle()
        if conn is not None:
            return conn
        if self.count < self._max and not self._waiters:
            self.count += 1
        else:
            handed = await self._wait_turn(timeouts.get("pool"))
            if isinstance(handed, Connection):
                if handed.usable():
                    return handed
                handed.close()  # dead while handed over: keep its slot, connect anew
                self.all.discard(handed)
        try:
            return await self._connect(timeouts.get("connect"))
        except BaseException:
            self._free_slot()
            raise

    def _take_idle(self) -> Connection | None:
        idle = self._idle
        now = asyncio.get_running_loop().time()
        while idle and idle[0].expires_at <= now:
            self.drop(idle.popleft())
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            self.drop(conn)
        return None

    async def _wait_turn(self, timeout: float | None) -> object:
        """Queue for a connection (or a free slot, handed over as None)."""
        fut: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        handle = resolve_later(fut, timeout, _EXPIRED)
        try:
            handed = await fut
        except BaseException:
            self._give_back(fut)
            raise
        finally:
            if handle is not None:
                handle.cancel()
        if handed is _EXPIRED:
            with contextlib.suppress(ValueError):  # a releaser may have skipped it already
                self._waiters.remove(fut)
            raise httpx.PoolTimeout("timed out waiting for a free connection")
        if handed is _CLOSED:
            raise httpx.ConnectError("the transport was closed")
        return handed

    def _give_back(self, fut: asyncio.Future[object]) -> None:
        """A waiter gave up; pass on whatever was handed to it meanwhile."""
        handed = fut.result() if fut.done() and not fut.cancelled() else _EXPIRED
        if handed is _CLOSED:
            return
        if isinstance(handed, Connection):
            if handed.usable():
                self._recycle(handed)
            else:
                self.drop(handed)
        elif handed is None:
            self._free_slot()
        else:
            fut.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(fut)

    async def _connect(self, timeout: float | None) -> Connection:
        loop = asyncio.get_running_loop()
        target = f"{self.host}:{self.port}"
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(Connection, self.host, self.port)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"timed out connecting to {target}") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {target}: {_os_reason(exc)}") from exc
        if self.closed:
            conn.close()
            raise httpx.ConnectError("the transport was closed")
        self.all.add(conn)
        return conn

    def release(self, conn: Connection) -> None:
        """A response was read to its end: reuse the connection, or close it."""
        if conn.finish_cycle():
            self._recycle(conn)
        else:
            self.drop(conn)

    def _recycle(self, conn: Connection) -> None:
        """Hand a reusable connection to the first waiter, or keep it idle."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(conn)
                return
        if len(self._idle) >= self._max_idle:
            self.drop(conn)
            return
        expiry = float("inf") if self._expiry is None else self._expiry
        conn.expires_at = asyncio.get_running_loop().time() + expiry
        self._idle.append(conn)

    def drop(self, conn: Connection) -> None:
        """Close a connection; its slot goes to the next waiter."""
        conn.close()
        self.all.discard(conn)
        self._free_slot()

    def _free_slot(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.count -= 1

    def close_all(self) -> list[asyncio.Future[None]]:
        self.closed = True
        for fut in self._waiters:
            resolve(fut, _CLOSED)
        self._waiters.clear()
        self._idle.clear()
        closing = list(self.all)
        self.all.clear()
        self.count = 0
        for conn in closing:
            if conn.transport is not None:
                conn.transport.abort()
        return [c.closed for c in closing]


class ResponseStream(httpx.AsyncByteStream):
    """The body as it arrives; the connection goes back to the pool at its end."""

    def __init__(self, pool: _Pool, conn: Connection, timeout: float | None) -> None:
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
        except BaseException:
            self._discard()
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
        except BaseException:
            self._discard()
            raise
        self._conn = None
        self._pool.release(conn)
        return body

    async def aclose(self) -> None:
        self._discard()

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.drop(conn)


class H11Transport(httpx.AsyncBaseTransport):
    """Plain-HTTP/1.1 transport with keep-alive pools (limits apply per origin).

    ``limits`` as for httpx: ``max_connections`` caps the connections to one host:port,
    further requests wait in FIFO order up to the request's ``pool`` timeout;
    ``max_keepalive_connections`` caps idle ones; ``keepalive_expiry`` drops idle
    connections older than that many seconds.
    """

    def __init__(self, limits: httpx.Limits | None = None) -> None:
        self._limits = limits if limits is not None else httpx.Limits(
            max_connections=100, max_keepalive_connections=100, keepalive_expiry=60.0)
        self._pools: dict[tuple[str, int], _Pool] = {}
        self._closed = False

    def open_connections(self) -> int:
        """How many connections are open (connecting, busy or idle) over all origins."""
        return sum(len(pool.all) for pool in self._pools.values())

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
        conn = await pool.acquire(timeouts)
        try:
            await conn.send_request(head, body, timeouts.get("write"), head_only=head_only,
                                    close=close, chunked=chunked)
            read = timeouts.get("read")
            reply = await conn.next_event(read)
            while reply.status_code < 200:  # informational: the final head comes next
                reply = await conn.next_event(read)
        except BaseException:
            pool.drop(conn)
            raise
        return reply, ResponseStream(pool, conn, timeouts.get("read"))

    def _pool(self, host: str, port: int) -> _Pool:
        key = (host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(host, port, self._limits)
        return pool

    async def aclose(self) -> None:
        """Close every connection (busy ones too) and wait until their sockets are closed."""
        self._closed = True
        pools, self._pools = list(self._pools.values()), {}
        closing = [fut for pool in pools for fut in pool.close_all()]
        pending = [fut for fut in closing if not fut.done()]
        if pending:
            await asyncio.wait(pending, timeout=_CLOSE_GRACE_S)
