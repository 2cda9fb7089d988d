"""Batch runner: peak memory and the runner's own speed on a long input.

    python benchmarks/batch_memory.py [--lines 100000] [--concurrency 100] [--dup-rate 0.2]
                                      [--yields 1] [--unordered]

Writes a JSONL input of ``--lines`` prompts (``--dup-rate`` of them repeating one of the 300
prompts before, coalesced by a prompt key when in flight together) to a temporary file, streams it
through ``run_batch`` with a fake send that answers after ``--yields`` event-loop turns (no
network, no sleeping) and writes the output to /dev/null. Reports peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) before and after the run, lines per second
and CPU microseconds per line (parsing, scheduling, coalescing and writing included: the
whole client-side cost of the batch layer, without the HTTP client). Target: RSS <= 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from llmx.batch.jobs import Job, OrderedWriter, read_jobs
from llmx.batch.runner import Summary, run_batch
from llmx.types import Completion, Usage

RSS_TARGET_MB = 200


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def write_input(path: Path, lines: int, dup_rate: float, seed: int = 3) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            topic = rng.randrange(max(0, i - 300), i) if i and rng.random() < dup_rate else i
            row = {"id": f"q{i}", "prompt": f"Summarise item {topic} in one sentence, please.",
                   "priority": rng.choice(("high", "normal", "normal", "low"))}
            out.write(json.dumps(row) + "\n")


async def run(path: Path, concurrency: int, yields: int, ordered: bool) -> Summary:
    async def send(job: Job) -> Completion:
        for _ in range(yields):
            await asyncio.sleep(0)
        return Completion(text=f"An answer to: {job.prompt}", model="fake", provider="fake",
                          usage=Usage(12, 9), latency_ms=0.1)

    with path.open("rb") as lines, open("/dev/null", "wb") as sink:
        return await run_batch(read_jobs(lines), send=send, writer=OrderedWriter(sink,
                               ordered=ordered), concurrency=concurrency,
                               key=lambda job: job.prompt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--dup-rate", type=float, default=0.2)
    parser.add_argument("--yields", type=int, default=1)
    parser.add_argument("--unordered", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.jsonl"
        write_input(path, args.lines, args.dup_rate)
        size_mb = path.stat().st_size / 1e6
        rss_before = peak_rss_mb()
        wall, cpu = time.perf_counter(), time.process_time()
        summary = asyncio.run(run(path, args.concurrency, args.yields, not args.unordered))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss = peak_rss_mb()
    print(f"input: {args.lines:,} lines ({size_mb:.1f} MB), dup rate {args.dup_rate}, "
          f"-j {args.concurrency}, {'unordered' if args.unordered else 'ordered'}, "
          f"fake send answering after {args.yields} loop turn(s), output to /dev/null")
    print(f"result: {summary.ok:,} ok, {summary.errors} errors, {summary.sends:,} sends, "
          f"{summary.coalesced:,} coalesced, max read-ahead {summary.max_read_ahead}, "
          f"max reorder buffer {summary.max_reorder_buffer}")
    print(f"speed: {args.lines / wall:,.0f} lines/s wall, {cpu / args.lines * 1e6:.1f} us CPU "
          f"per line ({wall:.2f} s)")
    verdict = "OK" if rss <= RSS_TARGET_MB else "OVER TARGET"
    print(f"peak RSS: {rss:.1f} MB (before the run: {rss_before:.1f} MB; "
          f"target <= {RSS_TARGET_MB} MB: {verdict})")


if __name__ == "__main__":
    main()
