"""The simulator in its own process (``python -m llmx sim --port 0 ...``) and the profiles
the bench points at it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from llmx.bench.model import LatencyModel
from llmx.config.profile import CacheSettings, CompressionSettings, HttpSettings, Profile
from llmx.values import replaced

CONTEXT_WINDOW = 128_000  # a hosted model's; the complex prompts must fit uncut


@contextmanager
def simulator(model: LatencyModel, seed: int) -> Iterator[str]:
    """Start the simulator subprocess; yield its base URL; stop it on exit."""
    with simulators(model, seed, 1) as (url,):
        yield url


@contextmanager
def simulators(model: LatencyModel, seed: int, count: int) -> Iterator[tuple[str, ...]]:
    """Start ``count`` simulator subprocesses at once (twins: same model, same seed); yield
    their base URLs; stop them all on exit."""
    argv = [sys.executable, "-m", "llmx", "sim", "--port", "0", *model.argv(),
            "--seed", str(seed)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(count)]
    try:
        yield tuple(_url_of(proc) for proc in procs)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _url_of(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        err = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
        raise RuntimeError(f"the simulator did not start: {url!r} {err[-300:]}")
    return url


def sim_profile(url: str, max_tokens: int) -> Profile:
    """The optimised profile: pooled HTTP, cache on, conservative compression."""
    return Profile(
        name="bench", provider="openai", model="sim-1", base_url=url + "/v1",
        max_tokens=max_tokens, retries=0, timeout=60.0, context_window=CONTEXT_WINDOW,
        http=HttpSettings(max_connections=256, max_keepalive=256),
        cache=CacheSettings(mode="read-write", max_entries=10_000),
        compression=CompressionSettings(mode="conservative"))


def real_profile(profile: Profile, max_tokens: int) -> Profile:
    """The user's profile as the optimised side: its endpoint, model and key, with the
    bench's cache (in the temporary LLMX_HOME) and conservative compression."""
    return replaced(profile, max_tokens=max_tokens,
                    cache=CacheSettings(mode="read-write", max_entries=10_000),
                    compression=CompressionSettings(mode="conservative"))


def baseline_profile(profile: Profile) -> Profile:
    """The naive profile: no cache, no compression (and the caller opens one client per
    request, so every request pays a new connection)."""
    return replaced(profile, cache=replaced(profile.cache, mode="off"),
                    compression=CompressionSettings(mode="off"))
