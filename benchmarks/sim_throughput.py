"""Throughput of the embedded simulator (`llmx.sim`) on one core.

    python benchmarks/sim_throughput.py [--seconds 3] [--connections 64] [--streams 1000]

The simulator runs in a subprocess (``run_forever``; its first stdout line is the
URL), pinned to one CPU when the machine has more than one; the load generator
runs in this process on another CPU. The load generator is raw asyncio + h11
(no httpx: its connection pool, not the server, would be the limit).

1. Short non-streaming requests: ``--connections`` keep-alive connections send
   ``POST /v1/chat/completions`` (16-token answers) back to back for
   ``--seconds`` after a warm-up; reports requests/s and the latency spread.
   Repeated for Anthropic ``/v1/messages`` and Ollama ``/api/chat``.
2. Open streams: a second simulator with slow output (``tokens_per_s=2``) gets
   ``--streams`` streaming requests at once; once every client has its headers
   and first bytes, ``GET /sim/stats`` must show them all open. Reports how many
   were open together, how many stream events per second all of them received,
   and the simulator's CPU use while holding them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import h11
import simproc  # benchmarks/simproc.py (scripts run with benchmarks/ on sys.path)

SIM_CODE = (
    "import json, sys\n"
    "from llmx.sim import SimOptions, run_forever\n"
    "run_forever(SimOptions(**json.loads(sys.argv[1])), sys.stdout)\n"
)
CHAT_BODIES = {
    "openai /v1/chat/completions": (
        "/v1/chat/completions",
        {"model": "sim-1", "max_tokens": 16, "messages": [{"role": "user", "content": ""}]},
    ),
    "anthropic /v1/messages": (
        "/v1/messages",
        {"model": "sim-1", "max_tokens": 16, "messages": [{"role": "user", "content": ""}]},
    ),
    "ollama /api/chat": (
        "/api/chat",
        {
            "model": "sim-1",
            "stream": False,
            "options": {"num_predict": 16},
            "messages": [{"role": "user", "content": ""}],
        },
    ),
}


class Client(asyncio.Protocol):
    """One keep-alive HTTP/1.1 client connection (h11)."""

    def __init__(self, host: str) -> None:
        self.host = host.encode()
        self.h11 = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.first_data: asyncio.Future[None] | None = None
        self.status = 0
        self.body = bytearray()
        self.received = 0
        self.events = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        for fut in (self.waiter, self.first_data):
            if fut is not None and not fut.done():
                fut.set_exception(ConnectionError("connection lost"))
                fut.exception()  # retrieved: an unawaited future must not log it

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        self.events += data.count(b"\n\n")
        self.h11.receive_data(data)
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Response):
                self.status = event.status_code
            elif isinstance(event, h11.Data):
                self.body += event.data
                if self.first_data is not None and not self.first_data.done():
                    self.first_data.set_result(None)
            elif isinstance(event, h11.EndOfMessage):
                if self.waiter is not None and not self.waiter.done():
                    self.waiter.set_result((self.status, bytes(self.body)))
                return

    def send(
        self, method: str, target: str, body: bytes = b""
    ) -> asyncio.Future[tuple[int, bytes]]:
        if self.h11.our_state is h11.DONE:
            self.h11.start_next_cycle()
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        self.first_data = loop.create_future()
        self.body = bytearray()
        headers: list[tuple[bytes, bytes]] = [
            (b"host", self.host),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        data = self.h11.send(h11.Request(method=method, target=target, headers=headers)) or b""
        data += (self.h11.send(h11.Data(data=body)) or b"") if body else b""
        data += self.h11.send(h11.EndOfMessage()) or b""
        assert self.transport is not None
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int) -> Client:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: Client(host), host, port)
    return client


def start_sim(opts: dict[str, Any], cpu: int | None) -> tuple[subprocess.Popen[str], str]:
    return simproc.start([sys.executable, "-c", SIM_CODE, json.dumps(opts)], cpu=cpu)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def get_stats(host: str, port: int) -> dict[str, Any]:
    client = await connect(host, port)
    try:
        status, body = await client.send("GET", "/sim/stats")
        assert status == 200
        return dict(json.loads(body))
    finally:
        client.close()


async def _cpu_between(pid: int, start: float, end: float) -> float:
    """The share of one core that ``pid`` used between two loop times."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start - loop.time()))
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(max(0.0, end - loop.time()))
    return (cpu_seconds(pid) - cpu0) / (time.perf_counter() - wall0)


def _bodies(template: dict[str, Any], variants: int = 100) -> list[bytes]:
    out = []
    for i in range(variants):
        obj = json.loads(json.dumps(template))
        obj["messages"][0]["content"] = f"Say something short about item {i}."
        out.append(json.dumps(obj).encode())
    return out


async def _worker(
    client: Client,
    path: str,
    bodies: list[bytes],
    start: float,
    end: float,
    latencies: list[float],
    index: int,
) -> int:
    loop = asyncio.get_running_loop()
    done = 0
    i = index
    while True:
        t0 = loop.time()
        if t0 >= end:
            return done
        status, _ = await client.send("POST", path, bodies[i % len(bodies)])
        if status != 200:
            raise RuntimeError(f"unexpected status {status}")
        i += 1
        t1 = loop.time()
        if t0 >= start:
            done += 1
            latencies.append(t1 - t0)


async def measure_rps(
    host: str,
    port: int,
    path: str,
    template: dict[str, Any],
    connections: int,
    seconds: float,
    warmup: float,
    sim_pid: int,
) -> dict[str, float]:
    clients = [await connect(host, port) for _ in range(connections)]
    bodies = _bodies(template)
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup
    end = start + seconds
    latencies: list[float] = []
    sampler = asyncio.create_task(_cpu_between(sim_pid, start, end))
    counts = await asyncio.gather(
        *(_worker(c, path, bodies, start, end, latencies, i) for i, c in enumerate(clients))
    )
    cpu_share = await sampler
    for c in clients:
        c.close()
    latencies.sort()
    return {
        "rps": sum(counts) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "sim_cpu_share": cpu_share,
    }


async def _open_stream(host: str, port: int, body: bytes, sem: asyncio.Semaphore) -> Client:
    async with sem:
        client = await connect(host, port)
        client.send("POST", "/v1/chat/completions", body)
        assert client.first_data is not None
        await asyncio.wait_for(client.first_data, timeout=30)
        return client


async def hold_streams(host: str, port: int, count: int, sim_pid: int) -> dict[str, float]:
    body = json.dumps(
        {
            "model": "sim-1",
            "stream": True,
            "max_tokens": 1000,
            "messages": [{"role": "user", "content": "a long story please"}],
        }
    ).encode()
    sem = asyncio.Semaphore(200)  # open in waves so the listen backlog never overflows
    t0 = time.perf_counter()
    clients = await asyncio.gather(*(_open_stream(host, port, body, sem) for _ in range(count)))
    opened_s = time.perf_counter() - t0
    stats = await get_stats(host, port)
    # while all are open: aggregate delivery rate and the simulator's CPU share
    before = sum(c.events for c in clients)
    cpu0, wall0 = cpu_seconds(sim_pid), time.perf_counter()
    await asyncio.sleep(2.0)
    cpu1, wall1 = cpu_seconds(sim_pid), time.perf_counter()
    after = sum(c.events for c in clients)
    still_open = (await get_stats(host, port))["open_streams"]
    statuses = {c.status for c in clients}
    for c in clients:
        c.close()
    return {
        "requested": count,
        "open_at_once": stats["open_streams"],
        "still_open_after_2s": still_open,
        "open_connections": stats["open_connections"],
        "open_time_s": opened_s,
        "events_per_s": (after - before) / (wall1 - wall0),
        "sim_cpu_share": (cpu1 - cpu0) / (wall1 - wall0),
        "all_200": float(statuses == {200}),
    }


def _cpus() -> tuple[int | None, int | None]:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return cpus[0], cpus[1]


async def run(args: argparse.Namespace) -> None:
    sim_cpu, load_cpu = _cpus()
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})
    print(f"simulator pinned to CPU {sim_cpu}, load generator on CPU {load_cpu}")
    proc, url = start_sim({}, sim_cpu)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    try:
        print(
            f"\nshort non-streaming requests, {args.connections} keep-alive connections, "
            f"{args.seconds:g} s each (16-token answers):"
        )
        for name, (path, template) in CHAT_BODIES.items():
            r = await measure_rps(
                host, int(port), path, template, args.connections, args.seconds, 0.5, proc.pid
            )
            verdict = "OK" if r["rps"] >= 2000 else "BELOW 2,000"
            print(
                f"  {name:30s} {r['rps']:8.0f} req/s   p50 {r['p50_ms']:.2f} ms   "
                f"p99 {r['p99_ms']:.2f} ms   sim CPU {r['sim_cpu_share'] * 100:.0f}%"
                f"   [{verdict}]"
            )
        stats = await get_stats(host, int(port))
        print(
            f"  simulator counted {stats['requests']} API requests, "
            f"{stats['connections']} connections, internal errors {stats['internal_errors']}"
        )
    finally:
        simproc.stop(proc)

    proc, url = start_sim({"tokens_per_s": 2.0}, sim_cpu)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    try:
        s = await hold_streams(host, int(port), args.streams, proc.pid)
        verdict = "OK" if s["open_at_once"] >= min(1000, args.streams) else "BELOW TARGET"
        print("\nopen streams (tokens_per_s=2, each stream lasts ~500 s unless closed):")
        print(
            f"  requested {s['requested']:.0f}, open at once per /sim/stats: "
            f"{s['open_at_once']:.0f} [{verdict}] (all answered 200: {bool(s['all_200'])})"
        )
        print(
            f"  opened in {s['open_time_s']:.2f} s; still open 2 s later: "
            f"{s['still_open_after_2s']:.0f}"
        )
        print(
            f"  while holding them: {s['events_per_s']:.0f} stream events/s delivered "
            f"(expected {2 * s['requested']:.0f}), simulator CPU "
            f"{s['sim_cpu_share'] * 100:.0f}% of one core"
        )
    finally:
        simproc.stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--streams", type=int, default=1000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
