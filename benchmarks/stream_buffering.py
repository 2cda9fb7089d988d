"""Adaptive stream buffering in a pipe: write syscalls, TTFT and hold time, per chunk
against per burst.

    python benchmarks/stream_buffering.py [--pairs 10] [--max-tokens 400]

Two ``llmx sim`` processes stream answers of ``--max-tokens`` tokens: a fast one
(``--fast-tps`` tokens/s: many tiny deltas a fraction of a millisecond apart) and a sparse
one (``--sparse-tps``). A ``Client`` (state=False) streams each answer into a ``PipeSink``
over a real pipe, exactly as ``llmx ask`` does, read by a separate process that stamps every
read with the system's monotonic clock. Two sides, alternating A B A B per stream:

  per chunk   ``PipeSink(stream)``: write and flush each chunk (the old behaviour)
  adaptive    ``PipeSink(stream, later=loop.call_later)``: ``llmx.ui.stream_buffer``

Per side and speed: write syscalls per answer (``syscw`` of /proc/self/io; the simulators
run in other processes), chunks and writes (writes per chunk: the buffer efficiency), the
TTFT as the reader saw it (request start to the first byte read), and the hold time (a
chunk's arrival at the sink to the read that delivered its last byte: p99 and max).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import simproc  # benchmarks/simproc.py (scripts run with benchmarks/ on sys.path)

READER = """
import json, os, sys, time
marks, total = [], 0
while True:
    data = os.read(0, 1 << 20)
    if not data:
        break
    total += len(data)
    marks.append((time.monotonic(), total))
sys.stdout.write(json.dumps(marks))
"""
SIDES = ("per chunk", "adaptive")


def write_syscalls() -> int:
    with open("/proc/self/io") as stats:
        for line in stats:
            if line.startswith("syscw:"):
                return int(line.split()[1])
    raise RuntimeError("no syscw in /proc/self/io")


class Pipe:
    """The pipe to the reader process and the byte offset written so far."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", READER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        assert self.proc.stdin is not None
        self.text = io.TextIOWrapper(self.proc.stdin, encoding="utf-8")
        self.offset = 0

    def marks(self) -> list[tuple[float, int]]:
        self.text.close()
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        self.proc.wait()
        return [(t, n) for t, n in json.loads(out)]


async def one_answer(client: Any, pipe: Pipe, side: str, max_tokens: int) -> dict[str, Any]:
    from llmx.plan import Call
    from llmx.ui.stream import PipeSink

    later = asyncio.get_running_loop().call_later if side == "adaptive" else None
    sink = PipeSink(pipe.text, later=later)
    arrivals: list[tuple[float, int]] = []  # (arrived at the sink, byte offset of its end)
    writes_before = write_syscalls()
    started = time.monotonic()
    last = ""
    async for chunk in client.stream("tell me a long story", Call(max_tokens=max_tokens)):
        if chunk.text:
            now = time.monotonic()
            pipe.offset += len(chunk.text.encode())
            arrivals.append((now, pipe.offset))
            sink.write(chunk.text)
            last = chunk.text
    sink.close()
    pipe.offset += bool(last) and not last.endswith("\n")  # the closing newline
    return {"side": side, "started": started, "arrivals": arrivals, "chunks": sink.chunks,
            "writes": sink.writes, "syscalls": write_syscalls() - writes_before}


def delivered_at(marks: list[tuple[float, int]]) -> Callable[[int], float]:
    """When the reader had read byte ``offset`` (1-based)."""
    import bisect

    totals = [n for _, n in marks]
    return lambda offset: marks[bisect.bisect_left(totals, offset)][0]


def summarise(answers: list[dict[str, Any]], marks: list[tuple[float, int]]
              ) -> dict[str, dict[str, float]]:
    at = delivered_at(marks)
    rows: dict[str, dict[str, list[float]]] = {s: {} for s in SIDES}
    for answer in answers:
        arrivals = answer["arrivals"]
        first_byte = arrivals[0][1]  # the first chunk, whole
        holds = [(at(end) - arrived) * 1000 for arrived, end in arrivals]
        row = rows[answer["side"]]
        for name, value in (("ttft_ms", (at(first_byte) - answer["started"]) * 1000),
                            ("syscalls", answer["syscalls"]), ("chunks", answer["chunks"]),
                            ("writes", answer["writes"]), ("max_hold_ms", max(holds)),
                            ("p99_hold_ms", sorted(holds)[int(0.99 * (len(holds) - 1))])):
            row.setdefault(name, []).append(value)
    return {side: {k: statistics.median(v) for k, v in row.items()} for side, row in rows.items()}


async def measure(urls: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    from llmx.config.profile import load_config, resolve_profile
    from llmx.engine import Client

    results: dict[str, Any] = {}
    for speed, url in urls.items():
        prof = resolve_profile(load_config({"profiles": {"bench": {
            "provider": "openai", "model": "sim-1", "base_url": url + "/v1",
            "api_key_env": "BENCH_KEY"}}}), "bench")
        pipe = Pipe()
        answers = []
        async with Client(prof, state=False, env={"BENCH_KEY": "k"}) as client:
            await one_answer(client, pipe, "per chunk", args.max_tokens)  # warm-up
            for _ in range(args.pairs):
                for side in SIDES:
                    answers.append(await one_answer(client, pipe, side, args.max_tokens))
        results[speed] = summarise(answers, pipe.marks())
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"answers of {args.max_tokens} tokens; medians over {args.pairs} answers per side, "
          "alternating")
    print(f"{'stream':22} {'side':10} {'syscalls':>8} {'chunks':>7} {'writes':>7} "
          f"{'w/chunk':>8} {'TTFT ms':>8} {'x base':>7} {'p99 hold':>9} {'max hold':>9}")
    for speed, rows in results.items():
        base = rows["per chunk"]
        for side in SIDES:
            r = rows[side]
            print(f"{speed:22} {side:10} {r['syscalls']:8.0f} {r['chunks']:7.0f} "
                  f"{r['writes']:7.0f} {r['writes'] / r['chunks']:8.3f} {r['ttft_ms']:8.2f} "
                  f"{r['ttft_ms'] / base['ttft_ms']:6.2f}x {r['p99_hold_ms']:8.2f}  "
                  f"{r['max_hold_ms']:8.2f}")
        print(f"{speed:22} adaptive / per chunk: syscalls "
              f"{rows['adaptive']['syscalls'] / base['syscalls']:.2f}x")
    print(f"hold = a chunk's arrival at the sink to its last byte read by the other process; "
          f"python {sys.version.split()[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--fast-tps", type=float, default=4000.0)
    parser.add_argument("--sparse-tps", type=float, default=50.0)
    args = parser.parse_args()
    sims = {f"fast ({args.fast_tps:g} tok/s)": args.fast_tps,
            f"sparse ({args.sparse_tps:g} tok/s)": args.sparse_tps}
    started = {name: simproc.start(simproc.sim_command("--tokens-per-s", str(tps)),
                                   quiet=True) for name, tps in sims.items()}
    try:
        results = asyncio.run(measure({k: url for k, (_, url) in started.items()}, args))
    finally:
        for proc, _ in started.values():
            simproc.stop(proc)
    report(results, args)


if __name__ == "__main__":
    main()
