"""The simulator as a separate process, for the benchmarks (import as ``simproc``).

A simulator prints its base URL as the first line of stdout; ``start`` waits for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping


def sim_command(*flags: str) -> list[str]:
    """``python -m llmx sim --port 0 FLAGS...``"""
    return [sys.executable, "-m", "llmx", "sim", "--port", "0", *flags]


def start(command: list[str], *, env: Mapping[str, str] | None = None,
          cpu: int | None = None, quiet: bool = False) -> tuple[subprocess.Popen[str], str]:
    """Run ``command`` (a simulator), optionally pinned to ``cpu``; return it and its URL.
    ``quiet`` drops what it prints on stderr (its banner and profiles)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.DEVNULL if quiet else None,
                            env=None if env is None else dict(env))
    if cpu is not None:
        os.sched_setaffinity(proc.pid, {cpu})
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"the simulator did not start (first line: {url!r})")
    return proc, url


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
