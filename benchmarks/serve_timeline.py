"""Where a miss's added TTFT goes: one timeline across the client, `llmx serve` and `llmx sim`.

    python benchmarks/serve_timeline.py [--requests 60] [--cache] [--against DIR]

A diagnostic for ``benchmarks/serve_proxy.py``'s "added TTFT" (it prints no budget). The
client sends, in turn, a streamed request straight to a `llmx sim` process and one through
a `llmx serve` process (cache off unless ``--cache``); both server processes note, on the
machine's monotonic clock (``time.perf_counter_ns``, shared by every process on Linux),
when bytes arrive and leave (a ``sitecustomize`` put on their ``PYTHONPATH`` wraps a few
methods; nothing in llmx is changed). Per step, the median over the requests, in us:

  straight   client -> sim (first bytes in), sim's wait (to its first content write),
             sim -> client (until the client has parsed that content)
  proxy      client -> proxy, uvicorn -> app, app -> upstream write (the request's body
             wait included), -> sim, sim's wait, sim -> proxy, proxy's first chunk ->
             its write to the client, that write -> the client has parsed it

and, for both, the client's own CPU from the socket read that held the first content to
its parse (``time.thread_time_ns``). ``--against DIR`` runs the proxy from another llmx
source tree. The wrapped names are this tree's: a tree that renamed them times nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio._backends._asyncio as anyio_asyncio
import httpx
import simproc
from serve_proxy import prompt_for

SITE = '''
import builtins, os, sys, time
_out = open(os.environ["LLMX_TIMELINE"] + "." + str(os.getpid()), "w", buffering=1)
def _log(tag):
    _out.write(f"{time.perf_counter_ns()} {tag}\\n")
def _wrap(cls, name, tag, test=None):
    inner = getattr(cls, name)
    def outer(self, *args):
        if test is None or test(args):
            _log(tag)
        return inner(self, *args)
    setattr(cls, name, outer)
def _awrap(cls, name, tag):
    inner = getattr(cls, name)
    async def outer(self, *args, **kwargs):
        _log(tag)
        return await inner(self, *args, **kwargs)
    setattr(cls, name, outer)
def _content(args):
    data = bytes(args[0])
    return b'"content":"' in data.replace(b'"content":""', b"")
_done = set()
_import = builtins.__import__
def _patch(name, *args, **kwargs):
    module = _import(name, *args, **kwargs)
    mods = sys.modules
    if "sim" not in _done and hasattr(mods.get("llmx.sim.protocol"), "SimConnection"):
        _done.add("sim")
        conn = mods["llmx.sim.protocol"].SimConnection
        _wrap(conn, "data_received", "sim_data")
        _wrap(conn, "_write", "sim_write", _content)
    if ("serve" not in _done and hasattr(mods.get("llmx.serve.run"), "_Coalesced")
            and hasattr(mods.get("llmx.serve.app"), "ServeApp")
            and hasattr(mods.get("llmx.providers.connection"), "Connection")):
        _done.add("serve")
        import uvicorn.protocols.http.httptools_impl as uv
        _wrap(uv.HttpToolsProtocol, "data_received", "req_data")
        _awrap(mods["llmx.serve.app"].ServeApp, "_http", "app")
        conn = mods["llmx.providers.connection"].Connection
        _awrap(conn, "send_request", "up_write")
        _wrap(conn, "data_received", "up_data")
        _wrap(mods["llmx.serve.run"]._Coalesced, "_flush", "flush")
    return module
builtins.__import__ = _patch
'''

STRAIGHT = (("client -> sim", "start", "sim_data"), ("sim's wait", "sim_data", "sim_write"),
            ("sim -> client", "sim_write", "seen"))
PROXY = (("client -> proxy", "start", "req_data"), ("uvicorn -> app", "req_data", "app"),
         ("app -> upstream write", "app", "up_write"), ("-> sim", "up_write", "sim_data"),
         ("sim's wait", "sim_data", "sim_write"), ("sim -> proxy", "sim_write", "up_data"),
         ("first chunk -> its write", "up_data", "flush"),
         ("that write -> client", "flush", "seen"))


class Client:
    """The benchmark's client (httpx, as in serve_proxy.py) with its socket reads noted."""

    def __init__(self) -> None:
        self.reads: list[tuple[int, int]] = []  # (monotonic ns, thread CPU ns) of a read
        inner = anyio_asyncio.SocketStream.receive  # holding the first content

        async def receive(stream: anyio_asyncio.SocketStream, max_bytes: int = 65536) -> bytes:
            data = await inner(stream, max_bytes)
            if b'"content":"' in data.replace(b'"content":""', b""):
                self.reads.append((time.perf_counter_ns(), time.thread_time_ns()))
            return data

        anyio_asyncio.SocketStream.receive = receive  # type: ignore[method-assign]

    async def ask(self, client: httpx.AsyncClient, base: str, prompt: str
                  ) -> tuple[int, int, float]:
        """(start, parsed first content) in monotonic ns, and the client's CPU us between
        the read that held it and the parse."""
        body = {"model": "sim-1", "stream": True, "max_tokens": 16,
                "messages": [{"role": "user", "content": prompt}]}
        started, seen, cpu = time.perf_counter_ns(), 0, 0.0
        async with client.stream("POST", base + "/chat/completions", json=body) as reply:
            async for line in reply.aiter_lines():
                if not seen and line.startswith("data: {"):
                    choices = json.loads(line[6:]).get("choices") or [{}]
                    if choices[0].get("delta", {}).get("content"):
                        seen = time.perf_counter_ns()
                        cpu = (time.thread_time_ns() - self.reads[-1][1]) / 1000
        return started, seen, cpu


def events_of(directory: Path) -> tuple[list[int], list[str]]:
    found = sorted((int(t), tag) for path in directory.glob("timeline.*")
                   for t, tag in (line.split() for line in path.read_text().splitlines()))
    return [t for t, _ in found], [tag for _, tag in found]


def first(times: list[int], tags: list[str], tag: str, after: int, until: int) -> int | None:
    i = bisect.bisect_left(times, after)
    while i < len(times) and times[i] <= until:
        if tags[i] == tag:
            return times[i]
        i += 1
    return None


def steps(marks: dict[str, int], plan: tuple[tuple[str, str, str], ...]) -> dict[str, float]:
    return {name: (marks[b] - marks[a]) / 1000 for name, a, b in plan}


def timeline(times: list[int], tags: list[str], started: int, seen: int, proxied: bool
             ) -> dict[str, float] | None:
    """The request's steps in us (None when a mark is missing)."""
    marks = {"start": started, "seen": seen}
    order = (("req_data", "app", "up_write", "sim_data", "sim_write", "up_data", "flush")
             if proxied else ("sim_data", "sim_write"))
    at = started
    for tag in order:
        found = first(times, tags, tag, at, seen)
        if found is None:
            return None
        marks[tag], at = found, found
    return steps(marks, PROXY if proxied else STRAIGHT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--cache", action="store_true", help="the proxy's cache on")
    parser.add_argument("--against", metavar="DIR", help="the proxy from this llmx tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmx-timeline-") as tmp:
        home = Path(tmp)
        (home / "site").mkdir()
        (home / "site" / "sitecustomize.py").write_text(SITE)
        path = str(home / "site") + (f":{Path(args.against).resolve()}" if args.against else "")
        env = {"PATH": "/usr/bin", "PYTHONPATH": path, "LLMX_TIMELINE": str(home / "timeline"),
               "LLMX_HOME": str(home / "state")}
        sim, sim_url = simproc.start(simproc.sim_command("--ttft-ms", "20", "--tokens-per-s",
                                                         "200"), env=env, quiet=True)
        config = home / "llmx.toml"
        config.write_text(f'default_profile = "up"\n[profiles.up]\nprovider = "openai"\n'
                          f'model = "sim-1"\nbase_url = "{sim_url}/v1"\n'
                          + ("" if args.cache else '[profiles.up.cache]\nmode = "off"\n'))
        serve, serve_url = simproc.start([sys.executable, "-m", "llmx", "serve", "--port", "0",
                                          "--config", str(config)], env=env, quiet=True)
        client = Client()

        async def run() -> list[tuple[bool, int, int, float]]:
            out = []
            async with httpx.AsyncClient(timeout=60) as http:
                for i in range(args.requests + 3):
                    for proxied, url in ((False, sim_url), (True, serve_url)):
                        asked = await client.ask(http, url + "/v1",
                                                 prompt_for(i, url, "distinct"))
                        if i >= 3:  # the first ones open connections and warm up
                            out.append((proxied, *asked))
            return out

        try:
            asked = asyncio.run(run())
        finally:
            for proc in (serve, sim):
                simproc.stop(proc)
        times, tags = events_of(home)
    report(asked, times, tags)
    return 0


def report(asked: list[tuple[bool, int, int, float]], times: list[int], tags: list[str]
           ) -> None:
    for proxied, name in ((False, "straight to the simulator"), (True, "through llmx serve")):
        rows = [row for p, started, seen, _ in asked if p == proxied
                if (row := timeline(times, tags, started, seen, proxied)) is not None]
        cpu = [c for p, _, _, c in asked if p == proxied]
        if not rows:
            print(f"{name}: no complete timeline (were the wrapped names renamed?)")
            continue
        print(f"{name}: {len(rows)} requests, median us")
        for step in rows[0]:
            print(f"  {step:26s} {statistics.median(row[step] for row in rows):9.1f}")
        print(f"  {'total':26s} {statistics.median(sum(row.values()) for row in rows):9.1f}")
        print(f"  client CPU, read -> parsed {statistics.median(cpu):9.1f}")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
