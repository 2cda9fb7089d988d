"""Start-up and one-shot latency of the CLI, as ratios to `python -c pass` in the same run.

    python benchmarks/startup.py [--runs 15]

Measures wall time of whole processes (median and p90 over --runs, after one warm-up):
  python -c pass                   the interpreter's floor
  llmx --version                   budget 150 ms, stretch 60 ms
  llmx ask --no-stream "..."       against a running `llmx sim`, cache bypassed
                                   (budget 250 ms, stretch 150 ms)
  llmx ask "..." (streamed, piped) cache bypassed
  llmx ask "..." (exact cache hit) answered from the cache (budget 150 ms, stretch 80 ms)
  llmx --help                      the Typer path, for reference
The simulator runs in its own process with zero latency, so the ask rows are llmx's own cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import simproc  # benchmarks/simproc.py (scripts run with benchmarks/ on sys.path)

BUDGETS = {"llmx --version": (150, 60), "llmx ask --no-stream": (250, 150),
           "llmx ask (exact cache hit)": (150, 80)}


def time_command(cmd: list[str], runs: int, env: dict[str, str]) -> list[float]:
    subprocess.run(cmd, env=env, capture_output=True, check=True)  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def write_profile(home: Path, base_url: str) -> Path:
    path = home / "llmx.toml"
    path.write_text(
        'default_profile = "local"\n[profiles.local]\nprovider = "openai"\n'
        f'model = "sim-1"\nbase_url = "{base_url}/v1"\n'
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    llmx = [sys.executable, "-m", "llmx"]
    exe = Path(sys.executable).with_name("llmx")
    if exe.exists():
        llmx = [str(exe)]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, LLMX_HOME=tmp, NO_COLOR="1")
        # Measure what users get: bytecode cached after the warm-up run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        sim, base_url = simproc.start(simproc.sim_command(), env=env)
        try:
            env["LLMX_CONFIG"] = str(write_profile(Path(tmp), base_url))
            rows = {
                "python -c pass": [sys.executable, "-c", "pass"],
                "llmx --version": [*llmx, "--version"],
                "llmx ask --no-stream": [*llmx, "ask", "--no-stream", "--no-cache", "hello there"],
                "llmx ask (stream, pipe)": [*llmx, "ask", "--no-cache", "hello there"],
                "llmx ask (exact cache hit)": [*llmx, "ask", "hello there"],
                "llmx --help (Typer path)": [*llmx, "--help"],
            }
            results = {name: time_command(cmd, runs, env) for name, cmd in rows.items()}
        finally:
            simproc.stop(sim)
    report(results, runs)


def report(results: dict[str, list[float]], runs: int) -> None:
    floor = statistics.median(results["python -c pass"])
    print(f"{'command':28} {'median ms':>10} {'p90 ms':>8} {'x floor':>8}  budget")
    for name, samples in results.items():
        med = statistics.median(samples)
        p90 = sorted(samples)[int(0.9 * (len(samples) - 1))]
        budget = BUDGETS.get(name)
        verdict = ""
        if budget:
            verdict = f"{'ok' if med <= budget[0] else 'OVER'} (<= {budget[0]}, stretch {budget[1]}"
            verdict += f": {'met' if med <= budget[1] else 'not met'})"
        print(f"{name:28} {med:10.1f} {p90:8.1f} {med / floor:8.1f}  {verdict}")
    print(f"runs per row: {runs}; python: {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
