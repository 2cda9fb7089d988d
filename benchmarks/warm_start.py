"""Warm start: the first request of a new Client with ``http.min_connections`` against none.

    python benchmarks/warm_start.py [--pairs 15] [--connect-delay-ms 80] [--setup-ms 150]

A ``llmx sim`` in its own process charges ``--connect-delay-ms`` to set up each new
connection (what DNS, TCP and TLS cost over a real network; ``SimOptions.connect_delay_ms``).
Each sample enters a new ``Client`` (state=False: a fresh HTTP engine, so fresh
connections), then

  after set-up    waits ``--setup-ms`` (what a program does between creating its client
                  and its first call) and times the first ``generate``;
  at once         times ``async with Client`` plus the first ``generate`` with no wait
                  (warm start must not make a program that calls at once any slower).

Rows come in pairs, cold (``min_connections = 0``) then warm (``min_connections = 2``),
alternating A B A B in one process. Each row prints the median and p90 in ms and the warm
median as a ratio to the cold one measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

import simproc  # benchmarks/simproc.py (scripts run with benchmarks/ on sys.path)


def profile(base_url: str, min_connections: int) -> Any:
    from llmx.config.profile import load_config, resolve_profile

    return resolve_profile(load_config({"profiles": {"bench": {
        "provider": "openai", "model": "sim-1", "base_url": base_url + "/v1",
        "api_key_env": "BENCH_KEY", "retries": 0,
        "http": {"min_connections": min_connections}}}}), "bench")


async def first_request_ms(prof: Any, setup_s: float) -> float:
    """With ``setup_s``: the first call alone; without: entering plus the first call."""
    from llmx.engine import Client

    started = time.perf_counter()
    async with Client(prof, state=False, env={"BENCH_KEY": "k"}) as client:
        if setup_s:
            await asyncio.sleep(setup_s)
            started = time.perf_counter()
        await client.generate("hello")
        return (time.perf_counter() - started) * 1000


async def measure(base_url: str, pairs: int, setup_s: float) -> dict[str, dict[str, list[float]]]:
    cold, warm = profile(base_url, 0), profile(base_url, 2)
    rows: dict[str, dict[str, list[float]]] = {}
    for label, wait in (("after set-up", setup_s), ("at once", 0.0)):
        await first_request_ms(cold, wait)  # the code paths imported and run once
        samples: dict[str, list[float]] = {"cold": [], "warm": []}
        for _ in range(pairs):
            samples["cold"].append(await first_request_ms(cold, wait))
            samples["warm"].append(await first_request_ms(warm, wait))
        rows[label] = samples
    return rows


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.9 * (len(ordered) - 1))]


def report(rows: dict[str, dict[str, list[float]]], delay_ms: float, setup_ms: float) -> None:
    print(f"simulated connection set-up: {delay_ms:g} ms; set-up wait: {setup_ms:g} ms")
    print(f"{'first request':34} {'p50 ms':>8} {'p90 ms':>8} {'x cold':>7}")
    for label, samples in rows.items():
        base = statistics.median(samples["cold"])
        for side, name in (("cold", "min_connections = 0"), ("warm", "min_connections = 2")):
            values = samples[side]
            med = statistics.median(values)
            print(f"{label + ', ' + name:34} {med:8.2f} {p90(values):8.2f} {med / base:6.2f}x")
    print(f"pairs per row: {len(next(iter(rows.values()))['cold'])}; "
          f"python {sys.version.split()[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--connect-delay-ms", type=float, default=80.0)
    parser.add_argument("--setup-ms", type=float, default=150.0)
    args = parser.parse_args()
    sim, base_url = simproc.start(simproc.sim_command(
        "--connect-delay-ms", str(args.connect_delay_ms)), quiet=True)
    try:
        rows = asyncio.run(measure(base_url, args.pairs, args.setup_ms / 1000))
    finally:
        simproc.stop(sim)
    report(rows, args.connect_delay_ms, args.setup_ms)


if __name__ == "__main__":
    main()
