"""The proxy's listening socket: accepted connections send each small write at once."""

from __future__ import annotations

import asyncio
import socket

from llmx.serve.run import bind


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
