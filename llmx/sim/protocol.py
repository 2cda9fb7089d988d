"""One HTTP/1.1 connection of the simulator: h11 over an asyncio Protocol.

Requests on a connection are answered one at a time, in order (keep-alive and
pipelining-safe: h11 buffers whatever arrives early). A response with no delay
and no fault is written synchronously from ``data_received``; anything that
waits (latency, streams, faults) runs in one task per connection, which is
cancelled when the peer goes away, so a stalled request never outlives its
client.

Two options shape the connection itself (``SimOptions``): ``connect_delay_ms`` pauses
reading from a new connection for that long (its first request waits; one sent on a
connection opened earlier does not), and ``idle_close_ms`` closes a connection once it
has been idle that long (no request in progress, no byte of the next one received).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any

import h11

from llmx.sim.app import Outcome, Reply, SimApp, StreamReply
from llmx.sim.common import Durations, Fault, Headers

MAX_BODY = 32 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
_BATCH = 64  # pieces per write when output is not paced
_SERVER: Headers = ((b"server", b"llmx-sim"),)
_INTERNAL_ERROR = b'{"error":{"message":"internal simulator error","type":"server_error"}}'


def _response(status: int, headers: Headers, length: int | None) -> h11.Response:
    hs: list[tuple[bytes, bytes]] = [*_SERVER, *headers]
    if length is not None:
        hs.append((b"content-length", str(length).encode()))
    return h11.Response(status_code=status, headers=hs)


class SimConnection(asyncio.Protocol):
    """An accepted connection; registers itself in ``registry`` while open."""

    def __init__(self, app: SimApp, registry: set[SimConnection]) -> None:
        self._app = app
        self._registry = registry
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        self._transport: asyncio.Transport | None = None
        self._request: h11.Request | None = None
        self._body = bytearray()
        self._busy = False
        self._task: asyncio.Task[None] | None = None
        self._paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # asyncio.Protocol -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._registry.add(self)
        stats = self._app.stats
        stats.open_connections += 1
        stats.connections += 1
        opts = self._app.opts
        if opts.connect_delay_ms > 0:
            transport.pause_reading()
            asyncio.get_running_loop().call_later(opts.connect_delay_ms / 1000.0, self._ready)
        else:
            self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_idle()
        self._registry.discard(self)
        self._app.stats.open_connections -= 1
        if not self.closed.done():
            self.closed.set_result(None)
        self._wake_writer()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def data_received(self, data: bytes) -> None:
        self._disarm_idle()
        try:
            self._h11.receive_data(data)
        except RuntimeError:  # data after the connection was closed: ignore it
            return
        self._pump()

    def eof_received(self) -> bool | None:
        return None  # the client is gone: close, which cancels any pending work

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_writer()

    # public -----------------------------------------------------------------

    def abort(self) -> asyncio.Task[None] | None:
        """Drop the connection now; return the task that was serving it, if any."""
        if self._transport is not None:
            self._transport.abort()
        return self._task

    # the connection's own timers ---------------------------------------------

    def _ready(self) -> None:
        """The simulated connection set-up is over: start reading."""
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()
            self._arm_idle()

    def _arm_idle(self) -> None:
        idle_ms = self._app.opts.idle_close_ms
        if idle_ms > 0 and self._idle_timer is None and not self._busy:
            loop = asyncio.get_running_loop()
            self._idle_timer = loop.call_later(idle_ms / 1000.0, self._idle_expired)

    def _disarm_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _between_requests(self) -> bool:
        """No request in progress and no byte of the next one received."""
        conn = self._h11
        return (self._request is None and conn.their_state is h11.IDLE
                and not conn.trailing_data[0])

    def _idle_expired(self) -> None:
        self._idle_timer = None
        if not self._busy and self._between_requests():
            self._app.stats.idle_closed += 1
            self._close()

    # reading ----------------------------------------------------------------

    def _pump(self) -> None:
        """Read events until a request is complete; answer it; repeat."""
        conn = self._h11
        while not self._busy:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                self._protocol_error(exc.error_status_hint)
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                if self._between_requests():
                    self._arm_idle()
                return
            if isinstance(event, h11.Request):
                self._request = event
                self._body = bytearray()
                if conn.they_are_waiting_for_100_continue:
                    self._write(
                        conn.send(h11.InformationalResponse(status_code=100, headers=[])) or b""
                    )
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > MAX_BODY:
                    self._protocol_error(413)
                    return
            elif isinstance(event, h11.EndOfMessage):
                if not self._answer() or not self._next_cycle():
                    return
            elif isinstance(event, h11.ConnectionClosed):
                self._close()
                return

    def _answer(self) -> bool:
        """Answer the current request; True when done synchronously."""
        request = self._request
        assert request is not None
        try:
            outcome = self._app.handle(
                request.method, request.target, request.headers, bytes(self._body)
            )
        except Exception:  # a simulator bug: answer 500 rather than kill the connection
            self._app.stats.internal_errors += 1
            outcome = Reply(500, ((b"content-type", b"application/json"),), _INTERNAL_ERROR)
        self._request = None
        self._body = bytearray()
        if isinstance(outcome, Reply) and outcome.delay <= 0 and outcome.fault is Fault.NONE:
            self._send_reply(outcome)
            return True
        self._busy = True
        self._task = asyncio.get_running_loop().create_task(self._serve(outcome))
        return False

    def _next_cycle(self) -> bool:
        """After a complete response: reuse the connection or close it."""
        conn = self._h11
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            return True
        self._close()
        return False

    def _resume(self) -> None:
        self._busy = False
        self._task = None
        if self._next_cycle():
            self._pump()

    # writing ----------------------------------------------------------------

    def _write(self, data: bytes) -> bool:
        transport = self._transport
        if transport is None or transport.is_closing():
            return False
        transport.write(data)
        return True

    def _send_reply(self, reply: Reply) -> None:
        conn = self._h11
        head = conn.send(_response(reply.status, reply.headers, len(reply.body)))
        data = conn.send(h11.Data(data=reply.body)) if reply.body else b""
        end = conn.send(h11.EndOfMessage())
        self._write(b"".join((head or b"", data or b"", end or b"")))

    def _wake_writer(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._drain_waiter = None

    async def _drain(self) -> None:
        if self._paused:
            waiter = asyncio.get_running_loop().create_future()
            self._drain_waiter = waiter
            await waiter

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _protocol_error(self, status: int) -> None:
        body = b'{"error":{"message":"malformed HTTP request","type":"invalid_request_error"}}'
        with contextlib.suppress(h11.LocalProtocolError):
            head = self._h11.send(
                _response(status, ((b"content-type", b"application/json"),), len(body))
            )
            self._write((head or b"") + body)
        self._close()

    # waiting work -----------------------------------------------------------

    async def _serve(self, outcome: Outcome) -> None:
        stats = self._app.stats
        stats.in_flight += 1
        try:
            work: Coroutine[Any, Any, bool]
            if isinstance(outcome, StreamReply):
                work = self._stream(outcome)
            else:
                work = self._delayed(outcome)
            finished = await work
        except asyncio.CancelledError:
            raise
        except Exception:
            stats.internal_errors += 1
            if self._transport is not None:
                self._transport.abort()
            return
        finally:
            stats.in_flight -= 1
        if finished:
            self._resume()

    async def _delayed(self, reply: Reply) -> bool:
        if reply.delay > 0:
            await asyncio.sleep(reply.delay)
        if reply.fault is Fault.STALL:
            await self.closed
            return False
        if reply.fault is Fault.CUT or reply.fault is Fault.STALL_MID:
            conn = self._h11
            head = conn.send(_response(reply.status, reply.headers, len(reply.body)))
            part = conn.send(h11.Data(data=reply.body[: len(reply.body) // 2]))
            self._write((head or b"") + (part or b""))
            if reply.fault is Fault.CUT:
                self._close()
            else:
                await self.closed
            return False
        self._send_reply(reply)
        return True

    async def _stream(self, reply: StreamReply) -> bool:
        plan = reply.plan
        loop = asyncio.get_running_loop()
        if plan.header_delay > 0:
            await asyncio.sleep(plan.header_delay)
        if reply.fault is Fault.STALL:
            await self.closed
            return False
        conn = self._h11
        start = loop.time()
        head = conn.send(_response(200, reply.headers, None)) or b""
        if reply.body.head:
            head += conn.send(h11.Data(data=reply.body.head)) or b""
        if not self._write(head):
            return False
        stats = self._app.stats
        stats.streams += 1
        stats.open_streams += 1
        try:
            return await self._stream_body(reply, start)
        finally:
            stats.open_streams -= 1

    async def _stream_body(self, reply: StreamReply, start: float) -> bool:
        plan = reply.plan
        loop = asyncio.get_running_loop()
        if plan.first_token_delay > 0:
            await asyncio.sleep(plan.first_token_delay)
        first = loop.time()
        broken = reply.fault is Fault.CUT or reply.fault is Fault.STALL_MID
        limit = reply.break_after if broken else len(reply.pieces)
        if not await self._emit(reply, first, limit):
            return False
        if reply.fault is Fault.CUT:
            self._close()
            return False
        if reply.fault is Fault.STALL_MID:
            await self.closed
            return False
        end = loop.time()
        durations = Durations(first - start, end - first)
        conn = self._h11
        tail = conn.send(h11.Data(data=reply.body.tail(durations, time.time()))) or b""
        return self._write(tail + (conn.send(h11.EndOfMessage()) or b""))

    async def _emit(self, reply: StreamReply, first: float, limit: int) -> bool:
        """Write pieces [0, limit) on the plan's schedule; False if the peer left."""
        interval = reply.plan.token_interval
        pieces = reply.pieces
        frames = reply.body.frames
        conn = self._h11
        loop = asyncio.get_running_loop()
        i = 0
        while i < limit:
            if interval > 0:
                due = int((loop.time() - first) / interval) + 1
                j = min(limit, max(due, i + 1))
            else:
                j = min(limit, i + _BATCH)
            data = conn.send(h11.Data(data=frames(pieces[i:j], time.time()))) or b""
            if not self._write(data):
                return False
            i = j
            await self._drain()
            if interval > 0 and i < limit:
                await asyncio.sleep(max(0.0, first + i * interval - loop.time()))
        return True
