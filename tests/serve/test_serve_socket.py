"""The proxy's listening socket and HTTP protocol: accepted connections send each small
write at once, and a response's writes of one loop turn leave in one send."""

from __future__ import annotations

import asyncio
import socket

import pytest

from llmx.serve.run import _protocol, bind


def test_accepted_connections_have_nodelay() -> None:
    """asyncio sets TCP_NODELAY on an accepted socket only when its proto says TCP; a socket
    made with proto 0 made every SSE event wait out Nagle and delayed ACK (~40 ms)."""
    sock = bind("127.0.0.1", 0)
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(run())
    assert seen and seen[0] != 0


class _Spy(asyncio.Transport):
    """A real transport that counts the writes made to it."""

    def __init__(self, inner: asyncio.Transport) -> None:
        super().__init__()
        self.inner = inner
        self.writes: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))
        self.inner.write(data)

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.inner.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self.inner.is_closing()

    def close(self) -> None:
        self.inner.close()

    def pause_reading(self) -> None:
        self.inner.pause_reading()

    def resume_reading(self) -> None:
        self.inner.resume_reading()

    def get_write_buffer_size(self) -> int:
        return self.inner.get_write_buffer_size()


async def _stream_parts(scope: dict[str, object], receive: object, send: object) -> None:
    """An ASGI app: a status line and three body parts, all within one turn of the loop."""
    assert callable(send)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})
    for part in (b"data: one\n\n", b"data: two\n\n"):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_a_responses_writes_of_one_turn_leave_in_one_send(http: str) -> None:
    """The head, the first event and the next one went out as separate segments, each waking
    the client before the content was written; now one write carries them, on either of
    uvicorn's HTTP protocols (httptools, llmx's default, or h11 where it is missing)."""
    import uvicorn
    from uvicorn.server import ServerState

    base = _protocol(http)
    assert base.__mro__[1].__name__ == ("HttpToolsProtocol" if http == "httptools"
                                        else "H11Protocol")
    config = uvicorn.Config(_stream_parts, http=base, lifespan="off", log_level="warning")
    config.load()
    spies: list[_Spy] = []

    class Spied(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            spies.append(_Spy(transport))
            super().connection_made(spies[-1])

    async def run() -> bytes:
        sock = bind("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(
            lambda: Spied(config=config, server_state=ServerState(), app_state={}), sock=sock)
        reader, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        server.close()
        await server.wait_closed()
        return answer

    answer = asyncio.run(run())
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"data: one\n\n" in answer and b"data: two\n\n" in answer
    assert answer.endswith(b"0\r\n\r\n")  # the chunked body ended
    assert len(spies) == 1 and spies[0].writes == [answer]
