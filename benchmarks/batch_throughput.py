"""Batch throughput of short requests at 100-way concurrency: stock httpx vs. H11Transport.

    python benchmarks/batch_throughput.py [--requests 2000] [--concurrency 100] [--latency-ms 50]

The simulator runs in a subprocess (``python -m llmx sim --port 0 --latency-ms 50``; its
first stdout line is the URL), pinned to one CPU when the machine has two or more; this
process (the client) runs on another. ``--requests`` short non-streaming
``POST /v1/chat/completions`` calls are sent by ``--concurrency`` worker tasks, for each of:

  a. baseline: ONE stock ``httpx.AsyncClient`` with ``max_connections = concurrency``
  b. sharded: ten stock clients of ``concurrency / 10`` connections (worker i uses client i % 10)
  c. one ``httpx.AsyncClient`` over ``llmx.providers.transport.H11Transport``
  d. llmx's ``HttpEngine.request`` (OpenAI codec; builds, sends and parses), which uses (c)

Modes b-d run ``--rounds`` times (the slow baseline ``--baseline-rounds`` times) and the
median round is shown with the range. Reported per mode: requests/s, client CPU per
request (``time.process_time`` delta / N), latency p50/p99, and the ratio to the baseline
measured in the same run; the ideal is concurrency / latency. Every round starts with a
fresh client (connection set-up included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import simproc  # benchmarks/simproc.py (scripts run with benchmarks/ on sys.path)

from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.openai import OpenAICodec
from llmx.providers.transport import H11Transport
from llmx.types import Message, Request

Send = Callable[[int, int], Awaitable[None]]  # (worker index, request index)


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    wall_s: float
    cpu_s: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_s / self.requests * 1000


def body(i: int) -> bytes:
    return json.dumps({"model": "sim-1", "max_tokens": 16,
                       "messages": [{"role": "user", "content": f"Say hi to item {i}."}]}).encode()


async def drive(name: str, total: int, concurrency: int, send: Send) -> Result:
    """``concurrency`` workers take request numbers from one counter until ``total``."""
    counter = iter(range(total))
    latencies: list[float] = []

    async def worker(w: int) -> None:
        for i in counter:
            t0 = time.perf_counter()
            await send(w, i)
            latencies.append(time.perf_counter() - t0)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Result(name, total, wall, cpu, sorted(latencies))


def client_sender(clients: list[httpx.AsyncClient], path: str) -> Send:
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}

    async def send(w: int, i: int) -> None:
        response = await clients[w % len(clients)].post(path, content=body(i), headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"unexpected status {response.status_code}")

    return send


async def run_clients(name: str, url: str, args: argparse.Namespace,
                      clients: list[httpx.AsyncClient]) -> Result:
    try:
        return await drive(name, args.requests, args.concurrency,
                           client_sender(clients, "/v1/chat/completions"))
    finally:
        for client in clients:
            await client.aclose()


async def run_engine(url: str, args: argparse.Namespace) -> Result:
    ep = Endpoint(base_url=url + "/v1", max_connections=args.concurrency,
                  max_keepalive=args.concurrency, retries=0)
    engine, codec = HttpEngine(), OpenAICodec()

    async def send(w: int, i: int) -> None:
        request = Request(model="sim-1", messages=(Message("user", f"Say hi to item {i}."),),
                          stream=False, max_tokens=16)
        await engine.request(ep, codec.build(request, "sk-bench"), codec)

    try:
        return await drive("d. llmx HttpEngine.request", args.requests, args.concurrency, send)
    finally:
        await engine.aclose()


def limits(connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections)


Mode = Callable[[], Awaitable[Result]]


def modes(url: str, args: argparse.Namespace) -> list[tuple[str, Mode]]:
    c = args.concurrency
    shard = max(1, c // 10)
    timeout = httpx.Timeout(60.0)

    def stock(n: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=url, limits=limits(n), timeout=timeout)

    def lean() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=url, timeout=timeout, transport=H11Transport(limits(c)))

    return [
        ("a. one stock AsyncClient", lambda: run_clients("a", url, args, [stock(c)])),
        (f"b. 10 stock clients x {shard}",
         lambda: run_clients("b", url, args, [stock(shard) for _ in range(10)])),
        ("c. AsyncClient + H11Transport", lambda: run_clients("c", url, args, [lean()])),
        ("d. llmx HttpEngine.request", lambda: run_engine(url, args)),
    ]


async def run_all(url: str, args: argparse.Namespace) -> list[tuple[str, list[Result]]]:
    """Each mode ``--rounds`` times (the slow baseline ``--baseline-rounds`` times)."""
    out = []
    for index, (name, mode) in enumerate(modes(url, args)):
        rounds = args.baseline_rounds if index == 0 else args.rounds
        out.append((name, [await mode() for _ in range(rounds)]))
    async with httpx.AsyncClient(base_url=url) as client:
        counted = (await client.get("/sim/stats")).json()["requests"]
    sent = sum(r.requests for _, results in out for r in results)
    print(f"simulator counted {counted} API requests; the client sent {sent}")
    return out


def report(rows: list[tuple[str, list[Result]]], args: argparse.Namespace) -> None:
    ideal = args.concurrency / (args.latency_ms / 1000)
    base_rps = statistics.median(r.rps for r in rows[0][1])
    print(f"\n{args.requests} short POST /v1/chat/completions, {args.concurrency} concurrent, "
          f"simulator latency {args.latency_ms:g} ms; ideal {ideal:,.0f} req/s; "
          "median round (req/s range over rounds)\n")
    print(f"{'mode':32s} {'rounds':>6s} {'req/s':>6s} {'(min-max)':>11s} {'x base':>7s} "
          f"{'% ideal':>8s} {'CPU ms/req':>11s} {'p50 ms':>7s} {'p99 ms':>7s}")
    for name, results in rows:
        ranked = sorted(results, key=lambda r: r.rps)
        r = ranked[(len(ranked) - 1) // 2]
        p50 = statistics.median(r.latencies) * 1000
        p99 = r.latencies[int(len(r.latencies) * 0.99)] * 1000
        spread = f"{ranked[0].rps:.0f}-{ranked[-1].rps:.0f}"
        print(f"{name:32s} {len(results):6d} {r.rps:6.0f} {spread:>11s} {r.rps / base_rps:7.1f} "
              f"{r.rps / ideal * 100:7.0f}% {r.cpu_ms_per_request:11.3f} {p50:7.1f} {p99:7.1f}")


def _cpus() -> tuple[int | None, int | None]:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return cpus[0], cpus[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of modes b-d")
    parser.add_argument("--baseline-rounds", type=int, default=1,
                        help="rounds of the (slow) baseline")
    parser.add_argument("--no-pin", action="store_true", help="do not pin sim and client CPUs")
    args = parser.parse_args()
    sim_cpu, client_cpu = (None, None) if args.no_pin else _cpus()
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    print(f"simulator on CPU {sim_cpu}, client on CPU {client_cpu}")
    proc, url = simproc.start(simproc.sim_command("--latency-ms", f"{args.latency_ms:g}"),
                              cpu=sim_cpu)
    try:
        rows = asyncio.run(run_all(url, args))
    finally:
        simproc.stop(proc)
    report(rows, args)


if __name__ == "__main__":
    main()
