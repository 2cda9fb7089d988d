"""H11Transport against real sockets: the embedded simulator and a tiny h11 server of our own."""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import socket
import warnings
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import h11
import httpx
import pytest

from llmx.errors import TransportError
from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.openai import OpenAICodec
from llmx.providers.transport import H11Transport
from llmx.sim import SimOptions, SimServer
from llmx.types import Message, Request

T = TypeVar("T")
CHAT = "/v1/chat/completions"


def chat(content: str = "hi", stream: bool = False) -> dict[str, Any]:
    return {"model": "sim-1", "max_tokens": 8, "stream": stream,
            "messages": [{"role": "user", "content": content}]}


def limits(n: int, keepalive_expiry: float | None = 60.0) -> httpx.Limits:
    return httpx.Limits(max_connections=n, max_keepalive_connections=n,
                        keepalive_expiry=keepalive_expiry)


def client_for(base_url: str, transport: H11Transport, **timeouts: float) -> httpx.AsyncClient:
    timeout = httpx.Timeout(timeouts.pop("default", 5.0), **timeouts)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout)


def with_sim(fn: Callable[[SimServer], Awaitable[T]], **options: Any) -> T:
    async def main() -> T:
        async with SimServer(SimOptions(**options)) as sim:
            return await fn(sim)

    return asyncio.run(main())


# A tiny HTTP/1.1 server whose every answer is scripted by the test --------------------

Handler = Callable[[h11.Request, bytes, "Responder"], Awaitable[None]]


class Responder:
    def __init__(self, conn: h11.Connection, writer: asyncio.StreamWriter) -> None:
        self.conn, self.writer = conn, writer

    async def send(self, *events: Any) -> None:
        for event in events:
            self.writer.write(self.conn.send(event) or b"")
        await self.writer.drain()

    async def reply(self, body: bytes, *headers: tuple[str, str]) -> None:
        hs = [("content-length", str(len(body))), *headers]
        await self.send(h11.Response(status_code=200, headers=hs), h11.Data(data=body),
                        h11.EndOfMessage())


class TinyServer:
    """Counts connections; runs ``handler`` for each request, one at a time per connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.url = ""

    async def __aenter__(self) -> TinyServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        conn = h11.Connection(h11.SERVER)
        try:
            while await self._one(conn, reader, writer):
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _one(self, conn: h11.Connection, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> bool:
        request: h11.Request | None = None
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                return False
        assert request is not None
        await self.handler(request, body, Responder(conn, writer))
        return conn.our_state is h11.DONE and conn.their_state is h11.DONE


def with_server(handler: Handler, fn: Callable[[TinyServer], Awaitable[T]]) -> T:
    async def main() -> T:
        async with TinyServer(handler) as server:
            return await fn(server)

    return asyncio.run(main())


async def echo(request: h11.Request, body: bytes, out: Responder) -> None:
    await asyncio.sleep(0)
    await out.reply(request.target + b" " + body)


# keep-alive and pool limits -----------------------------------------------------------

def test_sequential_requests_reuse_one_connection() -> None:
    async def go(sim: SimServer) -> list[int]:
        async with client_for(sim.base_url, H11Transport(limits(4))) as client:
            return [(await client.post(CHAT, json=chat())).status_code for _ in range(10)]

    async def run(sim: SimServer) -> tuple[list[int], int]:
        return await go(sim), sim.stats()["connections"]

    statuses, connections = with_sim(run)
    assert statuses == [200] * 10
    assert connections == 1


def test_concurrent_requests_never_open_more_than_the_limit() -> None:
    async def run(sim: SimServer) -> tuple[list[int], int, int]:
        transport = H11Transport(limits(3))
        async with client_for(sim.base_url, transport) as client:
            replies = await asyncio.gather(*(client.post(CHAT, json=chat(f"p{i}"))
                                             for i in range(30)))
            open_now = transport.open_connections()
        return [r.status_code for r in replies], sim.stats()["connections"], open_now

    statuses, connections, open_now = with_sim(run, latency_ms=5)
    assert statuses == [200] * 30
    assert connections == 3  # opened in total, over the whole run
    assert open_now == 3


def test_many_concurrent_requests_each_get_their_own_answer() -> None:
    async def go(server: TinyServer) -> tuple[list[bytes], int]:
        async with client_for(server.url, H11Transport(limits(10))) as client:
            replies = await asyncio.gather(*(client.post(f"/r/{i}", content=f"body-{i}")
                                             for i in range(300)))
        return [r.content for r in replies], server.connections

    bodies, connections = with_server(echo, go)
    assert bodies == [f"/r/{i} body-{i}".encode() for i in range(300)]
    assert connections <= 10


def test_pool_timeout_when_every_connection_is_busy_then_the_slot_is_reused() -> None:
    release = asyncio.Event

    async def go(server: TinyServer) -> tuple[int, int]:
        async with client_for(server.url, H11Transport(limits(1)), pool=0.05) as client:
            held = asyncio.create_task(client.get("/hold"))
            while server.connections == 0:
                await asyncio.sleep(0.001)
            with pytest.raises(httpx.PoolTimeout):
                await client.get("/other")
            gate.set()
            first = await held
            second = await client.get("/other")
        return first.status_code + second.status_code, server.connections

    gate = release()

    async def handler(request: h11.Request, body: bytes, out: Responder) -> None:
        if request.target == b"/hold":
            await gate.wait()
        await out.reply(b"ok")

    statuses, connections = with_server(handler, go)
    assert statuses == 400
    assert connections == 1


def test_waiters_that_give_up_pass_their_turn_on() -> None:
    gate = asyncio.Event

    async def handler(request: h11.Request, body: bytes, out: Responder) -> None:
        if request.target == b"/hold":
            await opened.wait()
        await out.reply(request.target)

    async def go(server: TinyServer) -> tuple[list[bytes], int, int]:
        transport = H11Transport(limits(2))
        async with client_for(server.url, transport) as client:
            held = [asyncio.create_task(client.get("/hold")) for _ in range(2)]
            waiting = [asyncio.create_task(client.get(f"/w{i}")) for i in range(6)]
            while server.connections < 2:
                await asyncio.sleep(0.001)
            for task in waiting[::2]:
                task.cancel()
            opened.set()
            done = await asyncio.gather(*held, *waiting[1::2], client.get("/late"))
            return [r.content for r in done], server.connections, transport.open_connections()

    opened = gate()
    bodies, connections, open_now = with_server(handler, go)
    assert bodies == [b"/hold", b"/hold", b"/w1", b"/w3", b"/w5", b"/late"]
    assert connections == 2 and open_now == 2


def test_closing_the_transport_fails_waiting_requests() -> None:
    arrived = asyncio.Event

    async def handler(request: h11.Request, body: bytes, out: Responder) -> None:
        first.set()
        await asyncio.Event().wait()

    async def go(server: TinyServer) -> list[str]:
        transport = H11Transport(limits(1))
        client = client_for(server.url, transport)
        tasks = [asyncio.create_task(client.get(f"/{i}")) for i in range(2)]
        await first.wait()  # the first request is at the server, the second waits for a slot
        await transport.aclose()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()
        return [type(r).__name__ for r in results]

    first = arrived()
    assert with_server(handler, go) == ["RemoteProtocolError", "ConnectError"]


def test_idle_connections_past_keepalive_expiry_are_not_reused() -> None:
    async def run(sim: SimServer) -> int:
        async with client_for(sim.base_url, H11Transport(limits(4, 0.0))) as client:
            for _ in range(3):
                assert (await client.post(CHAT, json=chat())).status_code == 200
        return int(sim.stats()["connections"])

    assert with_sim(run) == 3


def test_connection_close_from_the_server_is_honoured() -> None:
    async def handler(request: h11.Request, body: bytes, out: Responder) -> None:
        await out.reply(b"bye", ("connection", "close"))

    async def go(server: TinyServer) -> tuple[list[bytes], int]:
        async with client_for(server.url, H11Transport(limits(4))) as client:
            replies = [await client.get("/") for _ in range(3)]
        return [r.content for r in replies], server.connections

    bodies, connections = with_server(handler, go)
    assert bodies == [b"bye"] * 3
    assert connections == 3


# streaming ---------------------------------------------------------------------------

def test_stream_chunks_arrive_before_the_body_is_complete() -> None:
    """The server sends its second part only after the client has seen the first."""
    seen_first = asyncio.Event

    async def handler(request: h11.Request, body: bytes, out: Responder) -> None:
        await out.send(h11.Response(status_code=200, headers=[("transfer-encoding", "chunked")]),
                       h11.Data(data=b"data: one\n\n"))
        await gate.wait()
        await out.send(h11.Data(data=b"data: two\n\n"), h11.EndOfMessage())

    async def go(server: TinyServer) -> list[bytes]:
        parts = []
        async with client_for(server.url, H11Transport(limits(1)), read=2.0) as client, \
                client.stream("GET", "/events") as response:
            async for part in response.aiter_raw():
                parts.append(part)
                gate.set()
        return parts

    gate = seen_first()
    assert with_server(handler, go) == [b"data: one\n\n", b"data: two\n\n"]


def test_sse_stream_from_the_simulator_then_the_connection_is_reused() -> None:
    async def run(sim: SimServer) -> tuple[bytes, int]:
        async with client_for(sim.base_url, H11Transport(limits(2))) as client:
            async with client.stream("POST", CHAT, json=chat("tell", stream=True)) as response:
                body = b"".join([part async for part in response.aiter_bytes()])
            assert (await client.post(CHAT, json=chat())).status_code == 200
        return body, sim.stats()["connections"]

    body, connections = with_sim(run, tokens_per_s=1000)
    assert body.rstrip().endswith(b"data: [DONE]")
    assert body.count(b"data: ") >= 3
    assert connections == 1


def test_closing_a_stream_early_drops_its_connection() -> None:
    async def run(sim: SimServer) -> tuple[int, int]:
        async with client_for(sim.base_url, H11Transport(limits(2))) as client:
            async with client.stream("POST", CHAT, json=chat("x", stream=True)) as response:
                async for _ in response.aiter_raw():
                    break
            assert (await client.post(CHAT, json=chat())).status_code == 200
            deadline = asyncio.get_running_loop().time() + 5.0
            while sim.stats()["open_connections"] > 1 and (
                    asyncio.get_running_loop().time() < deadline):
                await asyncio.sleep(0.001)
            return sim.stats()["connections"], sim.stats()["open_connections"]

    assert with_sim(run, tokens_per_s=20) == (2, 1)  # the stream's socket was closed


def test_informational_responses_are_skipped() -> None:
    async def handler(request: h11.Request, body: bytes, out: Responder) -> None:
        await out.send(h11.InformationalResponse(status_code=103, headers=[("link", "</a>")]))
        await out.reply(b"final")

    async def go(server: TinyServer) -> tuple[int, bytes]:
        async with client_for(server.url, H11Transport(limits(1))) as client:
            response = await client.get("/")
        return response.status_code, response.content

    assert with_server(handler, go) == (200, b"final")


def test_a_large_body_arrives_whole_and_the_connection_is_reused() -> None:
    big = bytes(range(256)) * (16 * 1024)  # 4 MiB

    async def handler(request: h11.Request, body: bytes, out: Responder) -> None:
        await out.reply(big if request.target == b"/big" else body)

    async def go(server: TinyServer) -> tuple[bytes, bytes, int]:
        async with client_for(server.url, H11Transport(limits(1))) as client:
            first = await client.get("/big")
            second = await client.post("/echo", content=big)
        return first.content, second.content, server.connections

    first, second, connections = with_server(handler, go)
    assert first == big and second == big
    assert connections == 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_content_encoding_is_decoded_by_httpx(encoding: str) -> None:
    text = json.dumps({"answer": "squeezed " * 50}).encode()
    packed = gzip.compress(text) if encoding == "gzip" else zlib.compress(text)

    async def handler(request: h11.Request, body: bytes, out: Responder) -> None:
        await out.reply(packed, ("content-encoding", encoding))

    async def go(server: TinyServer) -> bytes:
        async with client_for(server.url, H11Transport(limits(1))) as client:
            return (await client.get("/")).content

    assert with_server(handler, go) == text


# failures ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connect_refused_is_a_connect_error_caused_by_the_os_error() -> None:
    async def go() -> BaseException:
        url = f"http://127.0.0.1:{free_port()}"
        async with client_for(url, H11Transport(limits(1))) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get("/")
        return caught.value

    error = asyncio.run(go())
    assert isinstance(error.__cause__, ConnectionRefusedError)


def test_stalled_server_is_a_read_timeout() -> None:
    async def run(sim: SimServer) -> None:
        async with client_for(sim.base_url, H11Transport(limits(1)), read=0.05) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.post(CHAT, json=chat())

    with_sim(run, stall_rate=1.0)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_cut_mid_body_is_a_remote_protocol_error(stream: bool) -> None:
    async def run(sim: SimServer) -> None:
        async with client_for(sim.base_url, H11Transport(limits(1))) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                response = await client.post(CHAT, json=chat("long " * 20, stream=stream))
                response.raise_for_status()

    with_sim(run, cut_rate=1.0, max_tokens_default=32)


def test_aclose_closes_every_socket_without_resource_warnings() -> None:
    async def run(sim: SimServer) -> tuple[int, int]:
        transport = H11Transport(limits(4))
        client = client_for(sim.base_url, transport)
        await asyncio.gather(*(client.post(CHAT, json=chat(str(i))) for i in range(8)))
        stream = await client.send(client.build_request("POST", CHAT, json=chat("s", True)),
                                   stream=True)
        await anext(aiter(stream.aiter_raw()))
        await client.aclose()  # the stream is still open: its socket goes too
        while sim.stats()["open_connections"]:
            await asyncio.sleep(0.001)
        return transport.open_connections(), sim.stats()["connections"]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        open_after, opened = with_sim(run, tokens_per_s=20)
        gc.collect()
    assert open_after == 0 and opened >= 2
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_only_plain_http_is_spoken() -> None:
    async def go() -> None:
        async with client_for("https://127.0.0.1:9", H11Transport()) as client:
            with pytest.raises(httpx.UnsupportedProtocol):
                await client.get("/")

    asyncio.run(go())


# the llmx HTTP engine over this transport ---------------------------------------------

REQUEST = Request(model="sim-1", messages=(Message("user", "hello"),), stream=False)


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


async def engine_run(sim: SimServer, count: int, retries: int) -> tuple[list[str], HttpEngine]:
    engine = HttpEngine(sleep=no_sleep)
    ep = Endpoint(base_url=sim.base_url + "/v1", retries=retries, max_connections=4)
    codec = OpenAICodec()
    try:
        assert isinstance(engine.client(ep)._transport, H11Transport)
        chunks = [await engine.request(ep, codec.build(REQUEST, "sk-test"), codec)
                  for _ in range(count)]
    finally:
        await engine.aclose()
    return [c.text for c in chunks], engine


@pytest.mark.parametrize("fault", ["rate_limit", "cut"])
def test_engine_retries_injected_faults_over_this_transport(fault: str) -> None:
    options = {"rate_limit": {"rate_limit_rate": 0.4}, "cut": {"cut_rate": 0.4}}[fault]

    async def run(sim: SimServer) -> tuple[list[str], HttpEngine, dict[str, Any]]:
        texts, engine = await engine_run(sim, 12, retries=20)
        return texts, engine, sim.stats()

    texts, engine, stats = with_sim(run, seed=7, **options)
    assert len(texts) == 12 and all(texts)
    assert stats["faults"].get(fault, 0) > 0
    assert engine.stats.retries == stats["faults"][fault]
    assert stats["requests"] == 12 + engine.stats.retries


def test_engine_streams_over_this_transport() -> None:
    async def run(sim: SimServer) -> str:
        engine = HttpEngine()
        ep = Endpoint(base_url=sim.base_url + "/v1")
        codec = OpenAICodec()
        request = Request(model="sim-1", messages=(Message("user", "stream it"),))
        try:
            chunks: AsyncIterator[Any] = engine.stream(ep, codec.build(request, "k"), codec)
            return "".join([c.text async for c in chunks])
        finally:
            await engine.aclose()

    assert with_sim(run, tokens_per_s=2000)


def test_engine_names_a_refused_connection() -> None:
    async def go() -> None:
        engine = HttpEngine(sleep=no_sleep)
        ep = Endpoint(base_url=f"http://127.0.0.1:{free_port()}/v1", retries=0)
        codec = OpenAICodec()
        try:
            await engine.request(ep, codec.build(REQUEST, "k"), codec)
        finally:
            await engine.aclose()

    with pytest.raises(TransportError, match="connection refused"):
        asyncio.run(go())
