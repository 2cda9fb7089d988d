"""Healthy pools: failed requests with and without the idle-connection check, against a
server that closes idle connections.

    python benchmarks/pool_health.py [--rounds 6] [--requests 40] [--idle-close-ms 40]

A ``llmx sim`` in its own process closes every connection idle for ``--idle-close-ms``
(``SimOptions.idle_close_ms``, a server's keep-alive timeout). A client (the library's
``HttpEngine``, ``retries = 0`` so that every connection failure reaches the caller) sends
``--requests`` requests from ``--workers`` tasks; between two requests a task pauses for a
random time around the server's idle timeout (0.5x to 2x), then does ``--busy-ms`` of CPU
work before its next request (building it: the event loop is busy, and a server's close
that comes meanwhile waits in the socket, undelivered, when the request is sent). Three sides:

  checked   ``http.health_check = true`` (the default): an idle connection is polled
            before reuse, and a request re-sent on a fresh connection if nothing of it
            was written
  no poll   checked, but by what the event loop has delivered only (``Connection.usable``
            stands in for ``Connection.alive``: the pool before the poll was added)
  blind     ``health_check = false``: idle connections reused unchecked (a naive pool)

The three sides alternate round by round. Each prints its failed requests and the pool's
counters (opened, reused, discarded, failed, re-sent), summed over its rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter

import simproc  # benchmarks/simproc.py (scripts run with benchmarks/ on sys.path)

SIDES = ("checked", "no poll", "blind")


async def one_round(base_url: str, side: str, args: argparse.Namespace,
                    rng: random.Random) -> Counter[str]:
    from llmx.providers.connection import Connection

    alive = Connection.alive
    if side == "no poll":
        Connection.alive = Connection.usable  # type: ignore[method-assign]
    try:
        return await _round(base_url, side != "blind", args, rng)
    finally:
        Connection.alive = alive  # type: ignore[method-assign]


async def _round(base_url: str, health: bool, args: argparse.Namespace,
                 rng: random.Random) -> Counter[str]:
    from llmx.errors import LlmxError
    from llmx.providers.http import Endpoint, HttpEngine
    from llmx.providers.openai import OpenAICodec
    from llmx.types import Message, Request

    codec = OpenAICodec()
    call = codec.build(Request(model="sim-1", messages=(Message("user", "hi"),),
                               stream=False), "k")
    ep = Endpoint(base_url=base_url + "/v1", retries=0, health_check=health,
                  max_connections=args.workers, max_keepalive=args.workers)
    engine = HttpEngine()
    idle_s = args.idle_close_ms / 1000
    gaps = [rng.uniform(0.5 * idle_s, 2.0 * idle_s) for _ in range(args.requests)]
    tally: Counter[str] = Counter()

    async def worker(mine: list[float]) -> None:
        for gap in mine:
            await asyncio.sleep(gap)
            time.sleep(args.busy_ms / 1000)  # the loop is busy: no socket is read
            try:
                await engine.request(ep, call, codec)
                tally["ok"] += 1
            except LlmxError as exc:
                tally["failed requests"] += 1
                if args.verbose:
                    print(health, type(exc).__name__, exc, file=sys.stderr)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(gaps[i::args.workers]) for i in range(args.workers)))
    finally:
        counts = engine.counters()
        await engine.aclose()
    tally["seconds"] += int((time.perf_counter() - started) * 1000)  # ms, summed
    for name in ("opened", "reused", "discarded", "failed", "retried"):
        tally[f"connections {name}"] += counts.get(f"connections_{name}", 0)
    return tally


async def measure(base_url: str, args: argparse.Namespace) -> dict[str, Counter[str]]:
    rng = random.Random(16)
    totals: dict[str, Counter[str]] = {name: Counter() for name in SIDES}
    for _ in range(args.rounds):
        for name in SIDES:
            totals[name] += await one_round(base_url, name, args, rng)
    return totals


def report(totals: dict[str, Counter[str]], args: argparse.Namespace) -> None:
    print(f"server closes idle connections after {args.idle_close_ms:g} ms; {args.workers} "
          f"workers; pauses 0.5x-2x that, then {args.busy_ms:g} ms of CPU work per request")
    names = ("failed requests", "connections opened", "connections reused",
             "connections discarded", "connections failed", "connections retried")
    heads = ("failed", "opened", "reused", "discarded", "conn fail", "re-sent")
    print(f"{'side':10} {'requests':>8} " + " ".join(f"{h:>10}" for h in heads))
    for side, tally in totals.items():
        sent = tally["ok"] + tally["failed requests"]
        print(f"{side:10} {sent:8d} " + " ".join(f"{tally[n]:10d}" for n in names))
    failed = {side: tally["failed requests"] for side, tally in totals.items()}
    print(f"failed requests: checked {failed['checked']}, no poll {failed['no poll']}, "
          f"blind {failed['blind']}; rounds per side: {args.rounds}, alternating; "
          f"python {sys.version.split()[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--idle-close-ms", type=float, default=40.0)
    parser.add_argument("--busy-ms", type=float, default=3.0)
    parser.add_argument("--verbose", action="store_true", help="print each failure")
    args = parser.parse_args()
    sim, base_url = simproc.start(simproc.sim_command(
        "--idle-close-ms", str(args.idle_close_ms)), quiet=True)
    try:
        totals = asyncio.run(measure(base_url, args))
    finally:
        simproc.stop(sim)
    report(totals, args)


if __name__ == "__main__":
    main()
