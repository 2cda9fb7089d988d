"""Run the proxy on uvicorn: bind first, print the base URL, then serve until signalled.

The socket is bound here (``--port 0`` picks a free port), so the first line of stdout is
the URL clients use before any request can arrive. SIGINT / SIGTERM stop accepting, let the
answers in flight finish (up to ``GRACE_S``), then close every Client (their queued cache
and record writes are written); ``serve`` then returns normally.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Callable, Sequence
from typing import TextIO

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


def serve(app: ServeApp, sock: socket.socket, stdout: TextIO,
          started: Callable[[str], None] | None = None) -> None:
    """Print the base URL (``/v1`` is where OpenAI clients point), then serve until a signal."""
    import uvicorn

    url = base_url(sock)
    stdout.write(url + "\n")
    stdout.flush()
    if started is not None:
        started(url)
    config = uvicorn.Config(app, lifespan="on", access_log=False, log_level="warning",
                            timeout_graceful_shutdown=GRACE_S, server_header=False)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn passes the signal on once it
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))  # has shut down


def keys_from(env: dict[str, str] | None, names: Sequence[str]) -> list[str]:
    """The client keys named by ``--api-key-env`` (each variable may hold several, comma
    separated); a named variable that is unset or empty is an error."""
    keys: list[str] = []
    for name in names:
        value = (env or {}).get(name, "")
        found = [key.strip() for key in value.split(",") if key.strip()]
        if not found:
            raise UsageError(f"--api-key-env {name}: the variable is unset or empty")
        keys += found
    return keys
