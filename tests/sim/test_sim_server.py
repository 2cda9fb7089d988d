"""The HTTP layer and the server's life cycle: keep-alive, pipelining, bad
requests, ``serve`` and ``run_forever`` (in a subprocess, stopped by signals)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import h11
import httpx
import pytest

from llmx.sim import SimOptions, SimServer, serve

from .simkit import with_sim


def _request(target: str, body: dict[str, Any], close: bool = False) -> h11.Request:
    data = json.dumps(body).encode()
    headers = [
        ("host", "sim"),
        ("content-type", "application/json"),
        ("content-length", str(len(data))),
    ]
    if close:
        headers.append(("connection", "close"))
    return h11.Request(method="POST", target=target, headers=headers)


def _response_events(conn: h11.Connection) -> tuple[int, bytes]:
    status, body = 0, b""
    while True:
        event = conn.next_event()
        assert event is not h11.NEED_DATA, "incomplete response"
        if isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return status, body


def test_pipelined_requests_are_answered_in_order_then_connection_close_is_honoured() -> None:
    first = {"model": "m", "messages": [{"role": "user", "content": "first"}]}
    second = {"model": "m", "stream": False, "messages": [{"role": "user", "content": "second"}]}

    async def go(sim: SimServer) -> tuple[h11.Connection, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        one, two = h11.Connection(h11.CLIENT), h11.Connection(h11.CLIENT)
        wire = b"".join(
            [
                one.send(_request("/v1/chat/completions", first)) or b"",
                one.send(h11.Data(data=json.dumps(first).encode())) or b"",
                one.send(h11.EndOfMessage()) or b"",
                two.send(_request("/api/chat", second, close=True)) or b"",
                two.send(h11.Data(data=json.dumps(second).encode())) or b"",
                two.send(h11.EndOfMessage()) or b"",
            ]
        )
        writer.write(wire)  # both requests in one write
        data = await asyncio.wait_for(reader.read(), timeout=5)  # until the server closes
        writer.close()
        return one, data

    conn, data = with_sim(go, latency_ms=5.0)  # delayed answers: the second waits its turn
    conn.receive_data(data)
    conn.receive_data(b"")
    status1, body1 = _response_events(conn)
    conn.start_next_cycle()
    conn.send(_request("/api/chat", second, close=True))  # mirrors what was sent
    conn.send(h11.Data(data=json.dumps(second).encode()))
    conn.send(h11.EndOfMessage())
    status2, body2 = _response_events(conn)
    assert (status1, status2) == (200, 200)
    assert json.loads(body1)["object"] == "chat.completion"
    assert json.loads(body2)["done"] is True


def test_malformed_request_gets_400_and_the_connection_closes() -> None:
    async def go(sim: SimServer) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(b"THIS IS NOT HTTP\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), timeout=5)
        writer.close()
        return data

    data = with_sim(go)
    assert data.startswith(b"HTTP/1.1 400 ")


def test_keep_alive_serves_many_requests_on_one_connection() -> None:
    async def go(sim: SimServer) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            for i in range(20):
                r = await client.post(
                    "/v1/chat/completions",
                    json={
                        "model": "m",
                        "max_tokens": 2,
                        "messages": [{"role": "user", "content": str(i)}],
                    },
                )
                assert r.status_code == 200
        return sim.stats()

    stats = with_sim(go)
    assert stats["requests"] == 20
    assert stats["connections"] == 1


def test_serve_reports_ready_and_stops_when_cancelled() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        url: asyncio.Future[str] = loop.create_future()
        task = loop.create_task(serve(SimOptions(), ready=url.set_result))
        base = await asyncio.wait_for(url, timeout=5)
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/v1/models")).status_code == 200
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with httpx.AsyncClient(base_url=base) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/v1/models")

    asyncio.run(main())


RUN = (
    "import json, sys\n"
    "from llmx.sim import SimOptions, run_forever\n"
    "run_forever(SimOptions(**json.loads(sys.argv[1])), sys.stdout)\n"
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_forever_prints_the_url_first_and_exits_cleanly_on_signal(sig: int) -> None:
    options = json.dumps({"stall_rate": 1.0})
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as held:
            # a request that stalls holds its connection open across the signal
            held.sendall(b"POST /api/embed HTTP/1.1\r\nhost: x\r\ncontent-length: 27\r\n\r\n")
            held.sendall(b'{"model":"e","input":"hi"}\n')
            for _ in range(500):  # until the server holds the stalled request
                stats = httpx.get(url + "/sim/stats", timeout=5).json()
                if stats["in_flight"] == 1:
                    break
                time.sleep(0.01)
            assert stats["in_flight"] == 1 and stats["faults"] == {"stall": 1}
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert err == ""  # no traceback, no "Task was destroyed" warnings
    assert out == ""


def test_expect_100_continue_is_answered_before_the_body_is_sent() -> None:
    body = json.dumps({"model": "m", "max_tokens": 3, "messages": []}).encode()

    async def go(sim: SimServer) -> tuple[bytes, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: sim\r\nexpect: 100-continue\r\n"
            b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        writer.write(body)
        rest = await asyncio.wait_for(reader.read(), timeout=5)
        writer.close()
        return interim, rest

    interim, rest = with_sim(go)
    assert interim.startswith(b"HTTP/1.1 100 ")
    assert rest.startswith(b"HTTP/1.1 200 ")
