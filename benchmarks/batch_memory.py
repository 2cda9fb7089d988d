"""Batch runner: peak memory and the runner's own speed on a long input, with repeats.

    python benchmarks/batch_memory.py [--lines 100000] [--concurrency 100] [--dup-rate 0.2]
                                      [--answer-bytes 1000] [--yields 1] [--unordered]

Writes a JSONL input of ``--lines`` prompts to a temporary file: a ``--dup-rate`` share of
the lines repeat a prompt from anywhere earlier in the input (most long answered, so the
run's repeat memory answers them: llmx/batch/repeats.py). Streams it through ``run_batch``
with a fake send that answers ``--answer-bytes`` of text after ``--yields`` event-loop turns
(no network, no sleeping), keyed like ``Client.plan(...).key`` (a SHA-256 hex digest), and
writes the output to /dev/null. Each measurement runs in its own process, peak RSS from
``resource.getrusage(RUSAGE_SELF).ru_maxrss``, against two baselines measured in the same
run: a bare interpreter that imported the runner, and the same run without repeats.
Target: RSS <= 200 MB for 100,000 lines; the answers' text (100 MB at the defaults) goes to
the memory's spill file, not RAM.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmx.batch.jobs import Job, OrderedWriter, read_jobs
from llmx.batch.runner import Summary, run_batch
from llmx.types import Completion, Usage

RSS_TARGET_MB = 200


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def rows(lines: int, dup_rate: float, seed: int = 3) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    for i in range(lines):
        topic = rng.randrange(i) if i and rng.random() < dup_rate else i
        yield {"id": f"q{i}", "prompt": f"Summarise item {topic} in one sentence, please.",
               "priority": rng.choice(("high", "normal", "normal", "low"))}


def write_input(path: Path, lines: int, dup_rate: float) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows(lines, dup_rate):
            out.write(json.dumps(row) + "\n")


@dataclass(frozen=True)
class Keyed:
    """A stand-in for ``Client.plan``: the runner reads only its ``key``."""

    key: str


def plan(job: Job) -> Keyed:
    return Keyed(hashlib.sha256((job.prompt or "").encode()).hexdigest())


async def run(path: Path, concurrency: int, yields: int, ordered: bool,
              answer_bytes: int) -> tuple[Summary, int]:
    calls = 0

    async def send(job: Job, planned: object) -> Completion:
        nonlocal calls
        calls += 1
        for _ in range(yields):
            await asyncio.sleep(0)
        text = f"An answer to: {job.prompt} "
        text = (text * (answer_bytes // len(text) + 1))[:answer_bytes]
        return Completion(text=text, model="fake", provider="fake", usage=Usage(12, 9),
                          latency_ms=0.1)

    with path.open("rb") as lines, open("/dev/null", "wb") as sink:
        summary = await run_batch(read_jobs(lines), send=send, writer=OrderedWriter(
            sink, ordered=ordered), concurrency=concurrency, plan=plan)
    return summary, calls


def child(args: argparse.Namespace) -> dict[str, Any]:
    """One measurement, in this process: a bare interpreter, or one run."""
    if args.child == "bare":
        return {"rss_mb": peak_rss_mb()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.jsonl"
        write_input(path, args.lines, args.dup_rate if args.child == "repeats" else 0.0)
        size_mb = path.stat().st_size / 1e6
        wall, cpu = time.perf_counter(), time.process_time()
        summary, calls = asyncio.run(run(path, args.concurrency, args.yields,
                                         not args.unordered, args.answer_bytes))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"rss_mb": peak_rss_mb(), "size_mb": size_mb, "wall_s": wall, "cpu_s": cpu,
            "calls": calls, "ok": summary.ok, "errors": summary.errors,
            "sends": summary.sends, "coalesced": summary.coalesced,
            "max_read_ahead": summary.max_read_ahead,
            "max_reorder_buffer": summary.max_reorder_buffer}


def measure(args: argparse.Namespace, which: str) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", which, "--lines", str(args.lines),
            "--concurrency", str(args.concurrency), "--dup-rate", str(args.dup_rate),
            "--answer-bytes", str(args.answer_bytes), "--yields", str(args.yields)]
    if args.unordered:
        argv.append("--unordered")
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--dup-rate", type=float, default=0.2)
    parser.add_argument("--answer-bytes", type=int, default=1000)
    parser.add_argument("--yields", type=int, default=1)
    parser.add_argument("--unordered", action="store_true")
    parser.add_argument("--child", choices=("bare", "distinct", "repeats"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return

    bare, distinct, repeats = (measure(args, which) for which in ("bare", "distinct", "repeats"))
    prompts = len({row["prompt"] for row in rows(args.lines, args.dup_rate)})
    print(f"input: {args.lines:,} lines ({repeats['size_mb']:.1f} MB), dup rate "
          f"{args.dup_rate} (repeats of any earlier line), -j {args.concurrency}, "
          f"{'unordered' if args.unordered else 'ordered'}, fake send answering "
          f"{args.answer_bytes} bytes after {args.yields} loop turn(s), output to /dev/null; "
          f"{prompts:,} distinct prompts")
    for name, got in (("without repeats", distinct), ("with repeats", repeats)):
        print(f"{name}: {got['ok']:,} ok, {got['errors']} errors, {got['calls']:,} sends, "
              f"{got['coalesced']:,} answered by an identical line, max read-ahead "
              f"{got['max_read_ahead']}, max reorder buffer {got['max_reorder_buffer']}; "
              f"{args.lines / got['wall_s']:,.0f} lines/s wall, "
              f"{got['cpu_s'] / args.lines * 1e6:.1f} us CPU per line")
    rss = repeats["rss_mb"]
    verdict = "OK" if rss <= RSS_TARGET_MB else "OVER TARGET"
    print(f"peak RSS with repeats: {rss:.1f} MB = {rss / bare['rss_mb']:.2f}x a bare "
          f"interpreter with the runner imported ({bare['rss_mb']:.1f} MB), "
          f"{rss / distinct['rss_mb']:.2f}x the same run without repeats "
          f"({distinct['rss_mb']:.1f} MB); target <= {RSS_TARGET_MB} MB: {verdict}")


if __name__ == "__main__":
    main()
