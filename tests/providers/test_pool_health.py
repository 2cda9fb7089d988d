"""Healthy pools: idle connections checked before reuse, re-sent only when nothing was
written, grown on demand, shrunk after idle time, and counted."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any, TypeVar

import httpx
import pytest

from llmx.providers.connection import Connection
from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.openai import OpenAICodec
from llmx.providers.transport import H11Transport
from llmx.sim import SimServer
from llmx.types import Message, Request
from tests.sim.simkit import with_sim

T = TypeVar("T")
CHAT = "/v1/chat/completions"
BODY = (b'{"model":"sim-1","max_tokens":4,"stream":false,'
        b'"messages":[{"role":"user","content":"hi"}]}')
REPLY = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


def limits(n: int, expiry: float | None = 60.0) -> httpx.Limits:
    return httpx.Limits(max_connections=n, max_keepalive_connections=n, keepalive_expiry=expiry)


def client(base_url: str, transport: H11Transport) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=5.0)


class AnswerThenClose:
    """A server in a thread: each connection gets one keep-alive answer, then the server
    closes it ``close_after`` seconds later (while the client's loop may be busy)."""

    def __init__(self, close_after: float = 0.0) -> None:
        self.close_after = close_after
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    part = conn.recv(65536)
                    if not part:
                        break
                    data += part
                if data:
                    self.requests += 1
                    conn.sendall(REPLY)
                    time.sleep(self.close_after)

    def close(self) -> None:
        self.sock.close()


def _second_request_after_server_closed(health_check: bool) -> tuple[Any, ...]:
    """One answer, then (the loop blocked, so the server's close is not delivered to it)
    the server closes the idle connection; then a second request."""
    server = AnswerThenClose()

    async def go() -> tuple[Any, ...]:
        transport = H11Transport(limits(1), health_check=health_check)
        async with client(f"http://127.0.0.1:{server.port}", transport) as http:
            first = await http.get("/one")
            time.sleep(0.2)  # blocks the loop: the close sits in the socket, undelivered
            try:
                second: Any = (await http.get("/two")).status_code
            except httpx.HTTPError as exc:
                second = type(exc).__name__
            return first.status_code, second, transport.counters()

    try:
        return asyncio.run(go())
    finally:
        server.close()


def test_an_idle_connection_closed_by_the_server_is_found_dead_before_reuse() -> None:
    first, second, counters = _second_request_after_server_closed(health_check=True)
    assert (first, second) == (200, 200)
    assert counters.opened == 2 and counters.discarded == 1 and counters.reused == 0
    assert counters.failed == 0


def test_without_the_check_the_dead_connection_is_reused_and_the_request_fails() -> None:
    first, second, counters = _second_request_after_server_closed(health_check=False)
    assert first == 200
    assert second == "RemoteProtocolError"
    assert counters.reused == 1 and counters.failed == 1


def test_a_request_whose_connection_was_closed_before_any_byte_went_out_is_resent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The race the check cannot close: the connection dies between the check and the send
    (here: the check is told it is alive after the loop saw the server close it)."""
    monkeypatch.setattr(Connection, "alive", lambda self: self.transport is not None)

    async def go(sim: SimServer) -> tuple[int, Any, int]:
        transport = H11Transport(limits(1))
        async with client(sim.base_url, transport) as http:
            await http.post(CHAT, content=BODY)
            await asyncio.sleep(0.15)  # the simulator closes the idle connection
            second = await http.post(CHAT, content=BODY)
            return second.status_code, transport.counters(), sim.stats()["requests"]

    status, counters, served = with_sim(go, idle_close_ms=50)
    assert status == 200
    assert counters.retried == 1 and counters.failed == 1 and counters.opened == 2
    assert served == 2  # the dead connection carried nothing


def test_a_streamed_request_body_is_never_resent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Connection, "alive", lambda self: self.transport is not None)

    async def body() -> Any:
        yield BODY

    async def go(sim: SimServer) -> tuple[str, Any]:
        transport = H11Transport(limits(1))
        async with client(sim.base_url, transport) as http:
            await http.post(CHAT, content=BODY)
            await asyncio.sleep(0.15)
            with pytest.raises(httpx.WriteError) as caught:
                await http.post(CHAT, content=body())
            return type(caught.value).__name__, transport.counters()

    name, counters = with_sim(go, idle_close_ms=50)
    assert name == "NothingSent"
    assert counters.retried == 0 and counters.failed == 1


def test_a_request_the_server_read_then_dropped_is_not_resent_by_the_pool() -> None:
    """Bytes went out: whether to send again is the engine's decision, not the pool's."""

    async def go(sim: SimServer) -> tuple[Any, int]:
        transport = H11Transport(limits(1))
        async with client(sim.base_url, transport) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(CHAT, content=BODY)
            return transport.counters(), sim.stats()["requests"]

    counters, served = with_sim(go, cut_rate=1.0)
    assert served == 1
    assert counters.retried == 0 and counters.failed == 1


def test_the_pool_grows_to_its_limit_under_load_and_no_further() -> None:
    async def go(sim: SimServer, n: int) -> tuple[int, Any]:
        transport = H11Transport(limits(n))
        async with client(sim.base_url, transport) as http:
            await asyncio.gather(*(http.post(CHAT, content=BODY) for _ in range(6)))
            return transport.open_connections(), transport.counters()

    open_2, counters_2 = with_sim(lambda sim: go(sim, 2), latency_ms=30)
    open_6, counters_6 = with_sim(lambda sim: go(sim, 6), latency_ms=30)
    assert (open_2, counters_2.opened, counters_2.reused) == (2, 2, 4)
    assert (open_6, counters_6.opened, counters_6.reused) == (6, 6, 0)


def test_idle_connections_are_closed_after_the_expiry_down_to_min_connections() -> None:
    async def go(sim: SimServer) -> tuple[int, int, Any, int]:
        transport = H11Transport(limits(4, expiry=0.05), min_connections=1)
        async with client(sim.base_url, transport) as http:
            await asyncio.gather(*(http.post(CHAT, content=BODY) for _ in range(3)))
            busy = transport.open_connections()
            await asyncio.sleep(0.25)  # no request comes: the timer shrinks the pool
            while sim.stats()["open_connections"] > 1:
                await asyncio.sleep(0.01)
            return busy, transport.open_connections(), transport.counters(), \
                sim.stats()["open_connections"]

    busy, after, counters, server_side = with_sim(go, latency_ms=30)
    assert (busy, after, server_side) == (3, 1, 1)
    assert counters.expired == 2


def test_the_engine_reports_the_pool_counters_and_a_dead_idle_connection_costs_no_failure(
        ) -> None:
    codec = OpenAICodec()
    request = Request(model="sim-1", messages=(Message("user", "hi"),), stream=False)

    async def go(sim: SimServer) -> dict[str, int]:
        engine = HttpEngine()
        ep = Endpoint(base_url=sim.base_url + "/v1", retries=0)
        try:
            for _ in range(3):
                await engine.request(ep, codec.build(request, "k"), codec)
                await asyncio.sleep(0.1)  # longer than the server keeps it
            return engine.counters()
        finally:
            await engine.aclose()

    counts = with_sim(go, idle_close_ms=40)
    assert counts["failures"] == 0 and counts["requests"] == 3
    assert counts["connections_opened"] == 3
    assert counts["connections_discarded"] == 2
    assert counts["connections_reused"] == 0
