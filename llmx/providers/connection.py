"""One HTTP/1.1 client connection for ``H11Transport``: an asyncio.Protocol feeding h11.

Bytes arrive in a buffer (reading pauses above a high-water mark); ``next_event`` turns
them into h11 events. Every failure surfaces as an httpx exception (``WriteError``,
``WriteTimeout``, ``ReadTimeout``, ``ReadError``, ``RemoteProtocolError``) without a
``request`` attached: httpx's client attaches its own, the lean path has none.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from typing import Any

import h11
import httpx

_READ_HIGH_WATER = 256 * 1024  # buffered bytes at which reading pauses
_MAX_HEADER_BYTES = 64 * 1024


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
    """One HTTP/1.1 client connection: bytes in a buffer, events out of h11."""

    def __init__(self) -> None:
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEADER_BYTES)
        self.transport: asyncio.Transport | None = None
        self.expires_at = 0.0
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._lost: Exception | None = None
        self._read_paused = False
        self._write_paused = False
        self._waiter: asyncio.Future[bool] | None = None  # result: True when timed out
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # asyncio.Protocol -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

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

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        resolve(self._waiter, False)

    # state ------------------------------------------------------------------

    def usable(self) -> bool:
        """Idle, open and quiet: safe to send the next request on."""
        return (not self._eof and not self._chunks and self.transport is not None
                and not self.transport.is_closing() and self.h11.our_state is h11.IDLE
                and self.h11.their_state is h11.IDLE)

    def finish_cycle(self) -> bool:
        """After a complete response: prepare for the next request; False if not reusable."""
        if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
            return False
        self.h11.start_next_cycle()
        return self.usable()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # IO ---------------------------------------------------------------------

    async def _wait(self, timeout: float | None) -> bool:
        """Wait for data, EOF or writability; True when ``timeout`` ran out first."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiter = fut
        handle = resolve_later(fut, timeout, True)
        try:
            return await fut
        finally:
            self._waiter = None
            if handle is not None:
                handle.cancel()

    async def send_request(self, head: h11.Request, body: bytes | AsyncIterable[bytes],
                           timeout: float | None) -> None:
        """Send one request: ``head`` (validated by h11 or by the caller), then ``body``."""
        conn = self.h11
        if isinstance(body, bytes):
            data = conn.send(head) or b""
            if body:
                data += conn.send(h11.Data(data=body)) or b""
            await self._write(data + (conn.send(h11.EndOfMessage()) or b""), timeout)
            return
        await self._write(conn.send(head), timeout)
        async for part in body:
            await self._write(conn.send(h11.Data(data=part)), timeout)
        await self._write(conn.send(h11.EndOfMessage()), timeout)

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
        """The next h11 event of the response; httpx exceptions for every failure."""
        conn = self.h11
        while True:
            state = conn.their_state
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                message = _closed_message(state) if self._eof else f"bad response: {exc}"
                raise httpx.RemoteProtocolError(message) from exc
            if event is not h11.NEED_DATA:
                if isinstance(event, h11.ConnectionClosed):
                    raise httpx.RemoteProtocolError(_closed_message(state))
                return event
            await self._fill(timeout)

    async def _fill(self, timeout: float | None) -> None:
        while not self._chunks and not self._eof:
            if await self._wait(timeout):
                raise httpx.ReadTimeout("timed out waiting for the response")
        conn = self.h11
        if self._chunks:
            for chunk in self._chunks:
                conn.receive_data(chunk)
            self._chunks.clear()
            self._size = 0
            if self._read_paused and self.transport is not None:
                self._read_paused = False
                self.transport.resume_reading()
            return
        if self._lost is not None:
            raise httpx.ReadError("the connection was reset") from self._lost
        conn.receive_data(b"")


def _closed_message(state: object) -> str:
    if state is h11.SEND_RESPONSE:
        return "the server closed the connection without sending a response"
    return "the server closed the connection mid-response"
