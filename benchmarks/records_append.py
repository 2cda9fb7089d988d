"""Request records: append throughput and the cost of summarising them.

    python benchmarks/records_append.py [--appends 20000] [--per-process 5000] [--records 100000]

1. One process appends ``--appends`` records (``RecordLog.append``: open O_APPEND, one
   write, close, per record, as ``llmx ask`` does once per request).
2. Eight processes append ``--per-process`` records each at the same moment (released
   together through their stdin); each reports when it started and finished appending, and
   throughput is all records over first start to last finish. The file is then checked:
   every line complete and parseable, none lost.
3. ``summarize()`` over ``--records`` synthetic records held in memory (no grouping, and
   ``by="model"``), and ``RecordLog.read()`` of the same records from disk (what
   ``llmx stats`` does end to end, less the rendering), also with a ``since`` that keeps
   the newest tenth (the records span one day, so the older lines are in the same file
   and skipped line by line).

Times are the median of ``--repeat`` runs (default 3). Everything runs in a fresh
temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from llmx.records import Record, RecordLog
from llmx.stats import summarize

REPO = Path(__file__).resolve().parent.parent
TIERS = ("exact", "semantic", "miss", "miss", "off")
WORKER = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from llmx.records import Record, RecordLog
log, worker, count = RecordLog(Path(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
start = time.time()
for i in range(count):
    log.append(Record(ts=time.time(), profile=f"w{worker}", provider="sim", model="sim-1",
                      tier="miss", similarity=None, lookup_ms=0.31, latency_ms=812.5,
                      ttft_ms=201.25, input_tokens=i, output_tokens=42, tokens_saved=0,
                      cost=0.000123, cost_saved=None, status="ok", error=None))
print(json.dumps([start, time.time()]))
"""


def synthetic(count: int, seed: int = 7) -> list[Record]:
    rng = random.Random(seed)
    now = time.time()
    out = []
    for i in range(count):
        tier = rng.choice(TIERS)
        hit = tier in ("exact", "semantic")
        latency = rng.lognormvariate(0.0, 0.5) if hit else rng.lognormvariate(6.5, 0.6)
        out.append(Record(
            ts=now - 86_400 + i * 86_400 / count, profile=rng.choice(("default", "fast")),
            provider="openai", model=rng.choice(("gpt-4o-mini", "gpt-4o", "sim-1")), tier=tier,
            similarity=0.95 if tier == "semantic" else None,
            lookup_ms=0.0 if tier == "off" else rng.uniform(0.1, 3.0), latency_ms=latency,
            ttft_ms=latency / 3, input_tokens=rng.randint(10, 2000),
            output_tokens=rng.randint(1, 800), tokens_saved=0, cost=0.0 if hit else 0.0004,
            cost_saved=0.0004 if hit else None, status="ok" if rng.random() > 0.02 else "error",
            error=None))
    return out


def median_time(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def single_process(root: Path, count: int, repeat: int) -> float:
    records = synthetic(count)
    rates = []
    for attempt in range(repeat):
        log = RecordLog(root / f"single-{attempt}")
        start = time.perf_counter()
        for item in records:
            log.append(item)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def eight_processes(root: Path, each: int, workers: int = 8) -> tuple[float, int]:
    directory = root / "eight"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(directory), str(w), str(each),
                               str(REPO)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
             for w in range(workers)]
    for proc in procs:  # every interpreter is up and has imported llmx.records
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
    spans = []
    for proc in procs:
        assert proc.stdout is not None
        spans.append(json.loads(proc.stdout.read()))
        proc.stdout.close()
        if proc.wait() != 0:
            raise SystemExit(f"worker failed with exit code {proc.returncode}")
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    lines = b"".join(path.read_bytes() for path in directory.iterdir()).split(b"\n")
    good = len([Record.from_json(json.loads(line)) for line in lines[:-1]])
    return workers * each / (end - start), good


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appends", type=int, default=20_000)
    parser.add_argument("--per-process", type=int, default=5_000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="llmx-records-bench-"))
    try:
        rate = single_process(root, args.appends, args.repeat)
        print(f"append, 1 process:    {rate:>10,.0f} records/s  ({1e6 / rate:.1f} µs each)")
        rate8, good = eight_processes(root, args.per_process)
        total = 8 * args.per_process
        print(f"append, 8 processes:  {rate8:>10,.0f} records/s  "
              f"({good:,} of {total:,} lines intact)")
        records = synthetic(args.records)
        now = time.time()
        flat = median_time(lambda: summarize(records, now=now), args.repeat)
        grouped = median_time(lambda: summarize(records, now=now, by="model"), args.repeat)
        print(f"summarize {args.records:,} records:         {flat * 1000:8.1f} ms")
        print(f"summarize {args.records:,} by model:        {grouped * 1000:8.1f} ms")
        log = RecordLog(root / "read")
        for item in records:
            log.append(item)
        size = sum(path.stat().st_size for path in log.files())
        read = median_time(lambda: sum(1 for _ in log.read()), args.repeat)
        both = median_time(lambda: summarize(log.read(), now=now), args.repeat)
        cutoff = records[-max(1, args.records // 10)].ts
        recent = median_time(lambda: summarize(log.read(cutoff), now=now, start=cutoff),
                             args.repeat)
        print(f"read {args.records:,} records from disk:    {read * 1000:8.1f} ms  "
              f"({size / args.records:.0f} bytes per line)")
        print(f"read + summarize {args.records:,} records:  {both * 1000:8.1f} ms")
        print(f"same, --since keeping the newest 10%:    {recent * 1000:8.1f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
