"""Run the proxy on uvicorn: bind first, print the base URL, then serve until signalled.

The socket is bound here (``--port 0`` picks a free port), so the first line of stdout is
the URL clients use before any request can arrive. SIGINT / SIGTERM stop accepting, let the
answers in flight finish (up to ``GRACE_S``), then close every Client (their queued cache
and record writes are written); ``serve`` then returns normally.

HTTP is uvicorn's httptools protocol (its C parser; uvicorn's pure-Python h11 protocol when
httptools is not installed), with one change (``Coalesced``): the bytes a response writes
within one turn of the event loop leave in one ``send``. Uvicorn writes a status line and
every body part at once, so a stream's head, its first event and its first content delta
went out as three segments; each woke the client, which on a busy machine took the CPU from
the proxy before the content was written (~1.4 ms of the added TTFT). httptools parses a
request and frames a response part in C where h11 runs Python for each: ~0.2 ms less on the
way in and ~0.2 ms on the way out of a miss (``benchmarks/serve_proxy.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Callable
from typing import Any, TextIO

from llmx.errors import UsageError
from llmx.serve.app import ServeApp

GRACE_S = 30


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY on accepted sockets only when their
    # proto says TCP; without it every small SSE write waited out Nagle + delayed ACK (~40 ms)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class _Coalesced:
    """A transport whose writes in one turn of the event loop go out as one write, at the
    end of that turn (or before the transport closes). Everything else is the inner one's."""

    __slots__ = ("_inner", "_loop", "_parts")

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._inner, self._loop = inner, loop
        self._parts: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._parts:
            self._loop.call_soon(self._flush)
        self._parts.append(bytes(data))

    def _flush(self) -> None:
        data, self._parts = b"".join(self._parts), []
        if data and not self._inner.is_closing():
            self._inner.write(data)

    def close(self) -> None:
        self._flush()
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _protocol(http: str = "httptools") -> type[asyncio.Protocol]:
    """Uvicorn's ``http`` protocol (httptools, or h11 where httptools is missing), each
    connection's transport wrapped in ``_Coalesced``."""
    base: type[Any]
    try:
        if http != "httptools":
            raise ImportError(http)
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base

    class Coalesced(base):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            super().connection_made(_Coalesced(transport, self.loop))

    return Coalesced


def serve(app: ServeApp, sock: socket.socket, stdout: TextIO,
          started: Callable[[str], None] | None = None) -> None:
    """Print the base URL (``/v1`` is where OpenAI clients point), then serve until a signal."""
    import uvicorn

    url = base_url(sock)
    stdout.write(url + "\n")
    stdout.flush()
    if started is not None:
        started(url)
    # no proxy-headers middleware: the app reads no client address, and a request skips it
    config = uvicorn.Config(app, http=_protocol(), lifespan="on", access_log=False,
                            log_level="warning", proxy_headers=False,
                            timeout_graceful_shutdown=GRACE_S, server_header=False)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn passes the signal on once it
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))  # has shut down
