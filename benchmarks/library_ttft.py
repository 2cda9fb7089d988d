"""First-request TTFT in the library: the default Client (cache on) against ``state=False``.

    python benchmarks/library_ttft.py [--runs 9]

Each sample is a fresh process (bytecode cached, llmx already imported, as a program that
uses the library is) that opens ``async with Client(profile)`` and times its first
``client.stream(prompt)`` to the first text chunk, against a running ``llmx sim`` (zero
latency, its own process, so the figure is llmx's own cost plus one loopback round trip).
Rows, measured in the same run, interleaved:

  state=False          no cache, no records: the baseline
  cache on, new home   the default Client, first use (no cache on disk yet): a miss
  cache on, filled     the default Client, a cache holding answers and their vectors: a miss
                       (exact, then the semantic tier) for a prompt not seen before

Each row prints the median and p90 of the TTFT, its ratio to the baseline's median, and the
median time ``async with Client(...)`` took to enter (what the Client prepares up front).
Budget (issue 10): the cache-on TTFT <= 20 ms, set when ``state=False`` took 15 ms: on a
busier machine, read it as <= 1.33x the baseline measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import simproc  # benchmarks/simproc.py (scripts run with benchmarks/ on sys.path)

BUDGET_MS = 20.0
ISSUE_BASE_MS = 15.0  # state=False on a quiet machine when the budget was set (issue 10)
WORDS = ("amber", "basalt", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo",
         "juniper", "kelp", "lagoon", "marble", "nectar", "onyx", "prairie", "quartz", "rowan",
         "saffron", "tundra", "umber", "violet", "willow", "xenon", "yarrow", "zephyr")


def child(base_url: str, state: bool, prompts: list[str]) -> None:
    """In a fresh process: enter a Client, time each prompt's first chunk; print JSON."""
    from llmx.config.profile import load_config, resolve_profile
    from llmx.engine import Client

    config = load_config({"profiles": {"bench": {
        "provider": "openai", "model": "sim-1", "base_url": base_url + "/v1"}}})
    profile = resolve_profile(config, "bench")

    async def main() -> dict[str, float]:
        started = time.perf_counter()
        async with Client(profile, state=state) as client:
            entered = time.perf_counter()
            ttft = 0.0
            for i, prompt in enumerate(prompts):
                asked = time.perf_counter()
                answer = client.stream(prompt)
                async for chunk in answer:
                    if chunk.text and i == 0:
                        ttft = time.perf_counter() - asked
                        break
                async for _ in answer:
                    pass
        return {"enter_ms": (entered - started) * 1000, "ttft_ms": ttft * 1000}

    print(json.dumps(asyncio.run(main())))


def sample(base_url: str, env: dict[str, str], state: bool, prompts: list[str]
           ) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", base_url, "on" if state else "off",
               *prompts]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def unique_prompt(rng: random.Random) -> str:
    return "tell me about " + " ".join(rng.sample(WORDS, 6)) + f" {rng.randrange(10**9)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, state, *prompts = args.child
        child(url, state == "on", prompts)
        return
    rng = random.Random(10)
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLMX_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # what users get: bytecode cached
        sim, base_url = simproc.start(simproc.sim_command(), env=env)
        try:
            filled = dict(env, LLMX_HOME=str(Path(tmp) / "filled"))
            sample(base_url, filled, True, [unique_prompt(rng) for _ in range(30)])
            rows: dict[str, list[dict[str, float]]] = {
                "state=False": [], "cache on, new home": [], "cache on, filled": []}
            sample(base_url, env | {"LLMX_HOME": str(Path(tmp) / "warm")}, False, ["warm-up"])
            for run in range(args.runs):
                new_home = dict(env, LLMX_HOME=str(Path(tmp) / f"new{run}"))
                rows["state=False"].append(sample(base_url, new_home, False,
                                                  [unique_prompt(rng)]))
                rows["cache on, new home"].append(sample(base_url, new_home, True,
                                                         [unique_prompt(rng)]))
                rows["cache on, filled"].append(sample(base_url, filled, True,
                                                       [unique_prompt(rng)]))
        finally:
            simproc.stop(sim)
    report(rows, args.runs)


def report(rows: dict[str, list[dict[str, float]]], runs: int) -> None:
    base = statistics.median(s["ttft_ms"] for s in rows["state=False"])
    print(f"{'first request':22} {'TTFT p50':>9} {'p90':>7} {'x base':>7} {'enter p50':>10}"
          "  budget")
    for name, samples in rows.items():
        ttft = sorted(s["ttft_ms"] for s in samples)
        med, p90 = statistics.median(ttft), ttft[int(0.9 * (len(ttft) - 1))]
        enter = statistics.median(s["enter_ms"] for s in samples)
        ratio_budget = BUDGET_MS / ISSUE_BASE_MS
        verdict = "" if name == "state=False" else (
            f"{'ok' if med <= BUDGET_MS else 'OVER'} (<= {BUDGET_MS:g} ms); "
            f"{'ok' if med / base <= ratio_budget else 'OVER'} (<= {ratio_budget:.2f}x base)")
        print(f"{name:22} {med:8.1f}  {p90:6.1f}  {med / base:6.2f}x {enter:9.1f}   {verdict}")
    print(f"fresh processes per row: {runs}; ms; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
