"""Exact-cache latency: in-process get/set on a 10k-entry store, and cold processes.

    python benchmarks/cache_exact.py [--entries 10000] [--lookups 2000] [--runs 15]

In-process (one CacheStore, after warm-up): get() hit and miss; set() of new keys at the
max_entries limit written one by one (each set one transaction, and one LRU eviction), and
grouped as ``TieredCache`` does (``Grouping()``: one transaction per queue, the flushes'
cost spread over the sets). p50 / p99 in microseconds. Budget: exact lookup <= 1 ms.

Cold processes (median of --runs, after one warm-up; bytecode cached): `python -c pass`,
`import diskcache`, and a process that imports the store, opens it, does one get() and
closes it, as a CLI does (hit, and miss on a cache directory that does not exist), as
milliseconds and as a ratio to `python -c pass` measured in the same run. Then the
fsync/fdatasync calls of one such hit process, counted with `strace -f` (budget: 0).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llmx.cache.store import CacheStore, Grouping
from llmx.cache.types import Entry

ANSWER = ("A cache stores the answer to a question so the next identical question costs "
          "nothing. ") * 12  # ~1 KB, a typical short answer


def entry(i: int) -> Entry:
    text = f"{i}: {ANSWER}"
    return Entry(text=text, chunks=(8,) * (len(text) // 8) + (len(text) % 8,),
                 model="gpt-4o-mini", provider="openai", input_tokens=40, output_tokens=220,
                 finish_reason="stop", prompt=f"question number {i}: what does a cache do?",
                 scope="s" * 64, kind="chat", created=time.time())


def key(i: int) -> str:
    return f"{i:064x}"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def timed(action: Callable[[Any], object], args: Sequence[Any]) -> list[float]:
    """Microseconds of one ``action(arg)`` call per argument."""
    out = []
    for arg in args:
        start = time.perf_counter()
        action(arg)
        out.append((time.perf_counter() - start) * 1e6)
    return out


def in_process(folder: Path, entries: int, lookups: int) -> dict[str, list[float]]:
    rng = random.Random(7)
    with CacheStore(folder, max_entries=entries, max_bytes=2**31) as store:
        fill_start = time.perf_counter()
        for i in range(entries):
            store.set(key(i), entry(i), expire=86_400)
        fill_s = time.perf_counter() - fill_start
        print(f"filled {entries} entries in {fill_s:.1f} s; {len(store)} live, "
              f"{store.volume() / 1e6:.1f} MB on disk")
        hits = [key(rng.randrange(entries)) for _ in range(lookups)]
        misses = [key(entries * 10 + i) for i in range(lookups)]
        timed(store.get, hits[:200])  # warm-up
        rows = {
            "get hit": timed(store.get, hits),
            "get miss": timed(store.get, misses),
            "set (evicts 1)": timed(lambda i: store.set(key(i), entry(i), expire=86_400),
                                    list(range(entries, entries + lookups))),
        }
        assert store.get(key(entries + lookups - 1)) is not None
        assert len(store) == entries  # the limit held
    first = entries + lookups
    with CacheStore(folder, max_entries=entries, max_bytes=2**31,
                    grouping=Grouping()) as store:
        rows["set (grouped)"] = timed(lambda i: store.set(key(i), entry(i), expire=86_400),
                                      list(range(first, first + lookups)))
        store.flush()
        assert len(store) == entries
    return rows


GET_HIT = """
import sys
from pathlib import Path
from llmx.cache.store import CacheStore
store = CacheStore(Path(sys.argv[1]), max_entries=10_000, max_bytes=2**31)
assert store.get(sys.argv[2]) is not None
store.close()
"""
GET_MISSING = """
import sys
from pathlib import Path
from llmx.cache.store import CacheStore
store = CacheStore(Path(sys.argv[1]), max_entries=10_000, max_bytes=2**31)
assert store.get(sys.argv[2]) is None
store.close()
"""


def cold(folder: Path, runs: int, hit: str) -> dict[str, list[float]]:
    """Whole processes; ``hit`` is a key the store holds (the last one written: whatever
    ``--entries`` was, eviction has kept it)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what users get: cached bytecode
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import diskcache'": [py, "-c", "import diskcache"],
        "open + get (hit)": [py, "-c", GET_HIT, str(folder), hit],
        "open + get (no cache dir)": [py, "-c", GET_MISSING, str(folder / "absent"), key(1)],
    }
    results: dict[str, list[float]] = {}
    for name, cmd in commands.items():
        subprocess.run(cmd, env=env, check=True, capture_output=True)  # warm-up
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            samples.append((time.perf_counter() - start) * 1000)
        results[name] = samples
    return results


def hit_syncs(folder: Path, hit: str) -> int | None:
    """fsync + fdatasync calls of one cold hit process (None: strace is not installed)."""
    if shutil.which("strace") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace"
        subprocess.run(["strace", "-f", "-qq", "-o", str(trace), "-e", "trace=fsync,fdatasync",
                        sys.executable, "-c", GET_HIT, str(folder), hit],
                       check=True, capture_output=True)
        return sum(1 for line in trace.read_text().splitlines() if "sync(" in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cache"
        rows = in_process(folder, args.entries, args.lookups)
        print(f"\nin-process, {args.entries} entries, {args.lookups} operations per row")
        print(f"{'operation':18} {'p50 us':>8} {'p99 us':>8} {'mean us':>8}  budget")
        for name, samples in rows.items():
            p50, p99 = percentiles(samples)
            verdict = ""
            if name.startswith("get"):
                verdict = f"{'ok' if p99 <= 1000 else 'OVER'} (p99 <= 1 ms)"
            print(f"{name:18} {p50:8.0f} {p99:8.0f} {statistics.fmean(samples):8.0f}  {verdict}")
        hit = key(args.entries + 2 * args.lookups - 1)  # the last one written: kept
        results = cold(folder, args.runs, hit)
        syncs = hit_syncs(folder, hit)
    floor = statistics.median(results["python -c pass"])
    print(f"\ncold processes, median of {args.runs} (after one warm-up)")
    print(f"{'command':30} {'median ms':>10} {'x floor':>8} {'over floor ms':>14}")
    for name, samples in results.items():
        med = statistics.median(samples)
        print(f"{name:30} {med:10.1f} {med / floor:8.1f} {med - floor:14.1f}")
    shown = "not measured (strace is not installed)" if syncs is None else str(syncs)
    verdict = "" if syncs is None else f"  {'ok' if syncs == 0 else 'OVER'} (budget 0)"
    print(f"\nfsync + fdatasync calls of one cold hit process: {shown}{verdict}")
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
