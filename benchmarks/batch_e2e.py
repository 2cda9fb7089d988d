"""`llmx batch` end to end against `llmx sim --latency-ms 50`, with a plain httpx baseline.

    python benchmarks/batch_e2e.py [--lines 2000] [--dups 0.2] [-j 100] [--latency-ms 50]

Both runs send to one simulator process. The baseline is one stock httpx.AsyncClient
(100 connections) posting every prompt, duplicates included, with no cache and no
coalescing. `llmx batch` runs as users run it: a new process, a fresh $LLMX_HOME, the
default profile pointing at the simulator with the default cache (1,000 entries: fewer than
the lines, so repeats are answered by the run's own memory, not by a cache sized to fit).
Checks: every id exactly once in the output, and the simulator served exactly one request
per unique prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import simproc  # benchmarks/simproc.py (scripts run with benchmarks/ on sys.path)

# Runs the command given as arguments and reports its peak RSS (KiB) as the last stderr line.
PEAK_RSS = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
            "sys.exit(code)")


def make_input(path: Path, lines: int, dups: float, seed: int = 7) -> int:
    rng = random.Random(seed)
    unique = int(lines * (1 - dups))
    prompts = [f"question {i}: explain topic {i * 7919 % 1000} briefly" for i in range(unique)]
    rows = prompts + [rng.choice(prompts) for _ in range(lines - unique)]
    rng.shuffle(rows)
    with path.open("w") as out:
        for i, prompt in enumerate(rows):
            out.write(json.dumps({"id": f"q{i}", "prompt": prompt}) + "\n")
    return len(set(rows))


async def baseline(url: str, prompts: list[str], concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for prompt in prompts:
        queue.put_nowait(prompt)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        async def worker() -> None:
            while not queue.empty():
                prompt = queue.get_nowait()
                body = {"model": "sim-1", "messages": [{"role": "user", "content": prompt}]}
                (await client.post("/v1/chat/completions", json=body)).raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


def sim_requests(url: str) -> int:
    return int(httpx.get(f"{url}/sim/stats", timeout=10).json()["requests"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--dups", type=float, default=0.2)
    parser.add_argument("-j", "--concurrency", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--skip-baseline", action="store_true",
                        help="only run llmx (e.g. for --lines 100000 memory runs)")
    parser.add_argument("--no-semantic", dest="cache_extra", action="store_const",
                        const="[profiles.b.cache]\nsemantic = false\n", default="",
                        help="turn the semantic cache tier off for the llmx run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        source = home / "in.jsonl"
        unique = make_input(source, args.lines, args.dups)
        env = dict(os.environ, LLMX_HOME=str(home / "state"), NO_COLOR="1")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        sim, url = simproc.start(simproc.sim_command("--latency-ms", str(args.latency_ms)),
                                 env=env)
        try:
            prompts = [json.loads(line)["prompt"] for line in source.read_text().splitlines()]
            base_s = (float("nan") if args.skip_baseline
                      else asyncio.run(baseline(url, prompts, args.concurrency)))
            config = home / "llmx.toml"
            config.write_text(f'default_profile = "b"\n[profiles.b]\nprovider = "openai"\n'
                              f'model = "sim-1"\nbase_url = "{url}/v1"\n'
                              f'{args.cache_extra}')
            env["LLMX_CONFIG"] = str(config)
            before = sim_requests(url)
            out = home / "out.jsonl"
            start = time.perf_counter()
            command = [sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "llmx", "batch",
                       str(source), "-o", str(out), "-j", str(args.concurrency),
                       "--summary-json", str(home / "summary.json")]
            run = subprocess.run(command, env=env, capture_output=True, text=True)
            llmx_s = time.perf_counter() - start
            sent = sim_requests(url) - before
        finally:
            simproc.stop(sim)
        ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
        inside = json.loads((home / "summary.json").read_text())["req_per_s"]
        report(args, unique, base_s, llmx_s, sent, ids, run)
        print(f"inside the run (after start-up and config): {inside:.0f} lines/s")


def report(args: argparse.Namespace, unique: int, base_s: float, llmx_s: float, sent: int,
           ids: list[str], run: subprocess.CompletedProcess[str]) -> None:
    ideal = args.concurrency / (args.latency_ms / 1000) if args.latency_ms else float("inf")
    base_rps = args.lines / base_s
    llmx_rps = args.lines / llmx_s
    print(f"{args.lines} lines ({unique} unique prompts), -j {args.concurrency}, "
          f"sim latency {args.latency_ms:g} ms, ideal {ideal:.0f} req/s")
    print(f"{'run':44} {'seconds':>8} {'lines/s':>8} {'x base':>7}")
    label = "baseline: one httpx.AsyncClient, every line"
    print(f"{label:44} {base_s:8.2f} {base_rps:8.0f} {1:7.2f}")
    print(f"{'llmx batch (new process, cold cache)':44} {llmx_s:8.2f} {llmx_rps:8.0f} "
          f"{llmx_rps / base_rps:7.2f}")
    rss_mib = int(run.stderr.strip().splitlines()[-1]) / 1024
    print(f"llmx batch peak RSS {rss_mib:.0f} MiB (target <= 200 MB)")
    print(f"llmx batch exit code {run.returncode}; output lines {len(ids)}, distinct ids "
          f"{len(set(ids))}; simulator requests {sent} (unique prompts {unique})")
    ok = (len(ids) == len(set(ids)) == args.lines and sent == unique and run.returncode == 0)
    print(f"checks: {'OK' if ok else 'FAILED'}; target >= 1000 lines/s: "
          f"{'met' if llmx_rps >= 1000 else 'not met'}")
    if run.returncode != 0:
        print(run.stderr[-2000:])


if __name__ == "__main__":
    main()
