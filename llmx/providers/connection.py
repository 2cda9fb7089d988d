"""One HTTP/1.1 client connection for ``H11Transport``: an asyncio.Protocol feeding
``llmx.providers.h1``'s response reader.

Bytes arrive in a buffer (reading pauses above a high-water mark); ``next_event`` turns
them into the reader's events: a ``Head``, body parts (``bytes``), ``END``. Every failure
surfaces as an httpx exception (``WriteError``, ``WriteTimeout``, ``ReadTimeout``,
``ReadError``, ``RemoteProtocolError``) without a ``request`` attached: httpx's client
attaches its own, the lean path has none. ``NothingSent`` (a ``WriteError``) says the
connection was found closed before any byte of the request reached the socket: such a
request may be sent again on another connection whatever its method.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import AsyncIterable
from typing import Any

import httpx

from llmx.providers.h1 import END, LAST_CHUNK, NEED_DATA, BadResponse, ResponseReader, chunk

_READ_HIGH_WATER = 256 * 1024  # buffered bytes at which reading pauses
_NEVER = float("inf")
_SLACK = 1e-3  # a timer may run this much early (the loop's clock resolution)


class NothingSent(httpx.WriteError):
    """The connection was closed before any byte of the request was written."""


def resolve_later(fut: asyncio.Future[Any], timeout: float | None,
                  value: object) -> asyncio.TimerHandle | None:
    """Resolve ``fut`` with ``value`` after ``timeout`` seconds unless it is done by then."""
    if timeout is None:
        return None
    return fut.get_loop().call_later(max(0.0, timeout), resolve, fut, value)


def resolve(fut: asyncio.Future[Any] | None, value: object) -> None:
    """Set ``fut``'s result to ``value`` unless it is missing or already done."""
    if fut is not None and not fut.done():
        fut.set_result(value)


class Connection(asyncio.Protocol):
    """One HTTP/1.1 client connection: bytes in a buffer, events out of the reader."""

    def __init__(self) -> None:
        self.reader = ResponseReader()
        self._sending = False  # a request is being written
        self.transport: asyncio.Transport | None = None
        self._fd = -1  # the socket's descriptor, for ``alive``
        self.requests = 0  # requests sent on this connection
        self.expires_at = 0.0
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._lost: Exception | None = None
        self._read_paused = False
        self._write_paused = False
        self._waiter: asyncio.Future[bool] | None = None  # result: True when timed out
        self._loop = asyncio.get_running_loop()
        self._wait_until = _NEVER  # loop time at which the current wait times out
        self._timer: asyncio.TimerHandle | None = None  # fires at _timer_at, then checks
        self._timer_at = _NEVER
        self.closed: asyncio.Future[None] = self._loop.create_future()

    # asyncio.Protocol -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        self._fd = sock.fileno() if sock is not None else -1

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size > _READ_HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._read_paused = True
        resolve(self._waiter, False)

    def eof_received(self) -> bool | None:
        self._eof = True
        resolve(self._waiter, False)
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc
        self._write_paused = False
        resolve(self._waiter, False)
        resolve(self.closed, None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        resolve(self._waiter, False)

    # state ------------------------------------------------------------------

    def usable(self) -> bool:
        """Idle, open and quiet: safe to send the next request on."""
        return (not self._eof and not self._chunks and self.transport is not None
                and not self.transport.is_closing() and not self._sending
                and self.reader.done and self.reader.quiet)

    def alive(self) -> bool:
        """``usable``, and a zero-timeout poll of the socket finds nothing to read: an idle
        HTTP/1.1 connection that is readable holds the server's close (or stray bytes)
        which the event loop has not delivered yet."""
        if not self.usable():
            return False
        if self._fd < 0:
            return True
        try:
            readable, _, _ = select.select((self._fd,), (), (), 0)
        except (OSError, ValueError):
            return False
        return not readable

    def finish_cycle(self) -> bool:
        """After a complete response: True if the connection may carry the next request."""
        return self.reader.keep_alive() and self.usable()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # IO ---------------------------------------------------------------------

    async def _wait(self, timeout: float | None) -> bool:
        """Wait for data, EOF or writability; True when ``timeout`` ran out first.

        One timer per connection, not one per wait: it is armed when a wait needs it and,
        when it fires, times out the wait in progress or re-arms for that wait's own end.
        Waits on one connection mostly share a timeout, so it rarely fires at all."""
        loop = self._loop
        fut: asyncio.Future[bool] = loop.create_future()
        self._waiter = fut
        if timeout is None:
            self._wait_until = _NEVER
        else:
            self._wait_until = until = loop.time() + max(0.0, timeout)
            if until < self._timer_at:
                self._arm(until)
        try:
            return await fut
        finally:
            self._waiter = None

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = self._loop.call_at(at, self._on_timer), at

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, _NEVER
        fut = self._waiter
        if fut is None or fut.done() or self._wait_until == _NEVER:
            return
        if self._loop.time() + _SLACK >= self._wait_until:
            fut.set_result(True)
        else:
            self._arm(self._wait_until)

    async def send_request(self, head: bytes, body: bytes | AsyncIterable[bytes],
                           timeout: float | None, *, head_only: bool = False,
                           close: bool = False, chunked: bool = False) -> None:
        """Send one request: ``head`` (``h1.request_head`` of valid headers), then ``body``
        (``chunked``: framed so, as its ``Transfer-Encoding`` header says). ``head_only``:
        it is a HEAD (its response has no body); ``close``: it asked to close after."""
        self.reader.expect(head_only=head_only, close=close)
        self._sending = True
        self.requests += 1
        first = head + body if isinstance(body, bytes) and body else head
        transport = self.transport
        if self._eof or transport is None or transport.is_closing():
            raise NothingSent("the connection was closed before the request was sent")
        transport.write(first)
        if transport.is_closing():  # the socket refused the first bytes (reset, broken pipe)
            raise NothingSent("the connection was closed before the request was sent")
        await self._write(None, timeout)
        if not isinstance(body, bytes):
            async for part in body:
                await self._write(chunk(part) if chunked else part, timeout)
            if chunked:
                await self._write(LAST_CHUNK, timeout)
        self._sending = False

    async def _write(self, data: bytes | None, timeout: float | None) -> None:
        transport = self.transport
        if self._eof or transport is None or transport.is_closing():
            raise httpx.WriteError(
                "the connection was closed before the request was sent") from self._lost
        if data:
            transport.write(data)
        while self._write_paused:
            if await self._wait(timeout):
                raise httpx.WriteTimeout("timed out sending the request")

    async def next_event(self, timeout: float | None) -> Any:
        """The next event of the response; httpx exceptions for every failure."""
        reader = self.reader
        while True:
            try:
                event = reader.next_event()
            except BadResponse as exc:
                if not exc.closed:
                    raise httpx.RemoteProtocolError(f"bad response: {exc}") from exc
                raise httpx.RemoteProtocolError(_closed_message(reader.started)) from exc
            if event is not NEED_DATA:
                return event
            await self._fill(timeout)

    async def read_body(self, timeout: float | None) -> bytes:
        """The rest of the body, whole (``next_event`` until ``END``)."""
        parts: list[bytes] = []
        while True:
            event = await self.next_event(timeout)
            if event is END:
                return b"".join(parts) if len(parts) != 1 else parts[0]
            parts.append(event)

    async def _fill(self, timeout: float | None) -> None:
        while not self._chunks and not self._eof:
            if await self._wait(timeout):
                raise httpx.ReadTimeout("timed out waiting for the response")
        if self._chunks:
            chunks = self._chunks
            self.reader.feed(chunks[0] if len(chunks) == 1 else b"".join(chunks))
            chunks.clear()
            self._size = 0
            if self._read_paused and self.transport is not None:
                self._read_paused = False
                self.transport.resume_reading()
            return
        if self._lost is not None:
            raise httpx.ReadError("the connection was reset") from self._lost
        self.reader.feed(b"")


def _closed_message(started: bool) -> str:
    if not started:
        return "the server closed the connection without sending a response"
    return "the server closed the connection mid-response"
