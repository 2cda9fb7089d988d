"""Starting and stopping the simulator: ``SimServer``, ``serve``, ``run_forever``."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from llmx.errors import UsageError
from llmx.sim.app import SimApp
from llmx.sim.options import SimOptions
from llmx.sim.protocol import SimConnection

_BACKLOG = 4096
_CLOSE_GRACE_S = 2.0


class SimServer:
    """The simulator running in the current event loop.

    ``async with SimServer(opts) as sim:`` listens on enter (port 0 picks a
    free port, see ``sim.base_url``) and, on exit, stops listening, drops every
    open connection and waits for the work serving them to end.
    """

    def __init__(self, opts: SimOptions | None = None) -> None:
        self.opts = opts if opts is not None else SimOptions()
        self.app = SimApp(self.opts)
        self._server: asyncio.Server | None = None
        self._connections: set[SimConnection] = set()
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` (no trailing slash, no ``/v1``)."""
        if self._base_url is None:
            raise RuntimeError("the simulator is not running")
        return self._base_url

    @property
    def port(self) -> int:
        return int(self.base_url.rpartition(":")[2])

    def stats(self) -> dict[str, Any]:
        """The same JSON-ready dict that ``GET /sim/stats`` returns."""
        return self.app.stats.snapshot()

    def reset_stats(self) -> None:
        self.app.stats.reset()

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        loop = asyncio.get_running_loop()
        app, registry = self.app, self._connections
        try:
            self._server = await loop.create_server(
                lambda: SimConnection(app, registry),
                host=self.opts.host,
                port=self.opts.port,
                backlog=_BACKLOG,
                reuse_address=True,
            )
        except OSError as exc:
            raise _bind_error(self.opts.host, self.opts.port, exc) from None
        sockname = self._server.sockets[0].getsockname()
        host = sockname[0]
        if ":" in host:
            host = f"[{host}]"
        self._base_url = f"http://{host}:{sockname[1]}"

    async def close(self) -> None:
        server = self._server
        if server is None:
            return
        self._server = None
        server.close()
        connections = list(self._connections)
        tasks = [t for t in (c.abort() for c in connections) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        pending = [c.closed for c in connections if not c.closed.done()]
        if pending:
            await asyncio.wait(pending, timeout=_CLOSE_GRACE_S)
        await server.wait_closed()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _bind_error(host: str, port: int, exc: OSError) -> UsageError:
    """A port that cannot be had (in use, privileged, no such address) is the caller's
    choice to change, not a bug: a one-line usage error."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        reason = "the port is in use"
    return UsageError(f"cannot listen on {host}:{port}: {reason}",
                      hint="choose another port, or 0 for a free one")


async def serve(opts: SimOptions, *, ready: Callable[[str], None] | None = None) -> None:
    """Run the simulator until this coroutine is cancelled.

    ``ready`` is called with the base URL once the server listens.
    """
    async with SimServer(opts) as sim:
        if ready is not None:
            ready(sim.base_url)
        await asyncio.get_running_loop().create_future()


async def _serve_until_signalled(opts: SimOptions, out: TextIO,
                                 started: Callable[[str], None] | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        async with SimServer(opts) as sim:
            out.write(sim.base_url + "\n")
            out.flush()
            if started is not None:
                started(sim.base_url)
            await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def run_forever(opts: SimOptions, out: TextIO,
                started: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM; the first line written to ``out`` is the base URL,
    then ``started(base_url)`` is called (``llmx sim`` prints profiles from it)."""
    # suppress: a SIGINT that arrives before the handlers are installed
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_signalled(opts, out, started))
