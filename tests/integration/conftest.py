"""Real processes over loopback: `llmx sim` in its own process, `llmx` as users run it."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.harness import Cli, InProcessCli, private_home

LLMX = [sys.executable, "-m", "llmx"]


@dataclass
class Sim:
    url: str
    proc: subprocess.Popen[str]


def start_sim(*flags: str) -> Sim:
    proc = subprocess.Popen([*LLMX, "sim", "--port", "0", *flags], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        detail = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"sim did not start: {url!r} {detail}")
    return Sim(url, proc)


def stop_sim(sim: Sim) -> None:
    sim.proc.terminate()
    try:
        sim.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sim.proc.kill()


@functools.cache
def _client() -> httpx.Client:
    """One client for the tests' own calls (the simulators' stats, a direct request).
    ``httpx.get``/``httpx.post`` build a client per call, and with it an SSL context that
    loads the CA bundle: 20-30 ms of CPU each time, seconds over the suite. No connection
    is kept between calls (as with ``httpx.get``), so a server sees the same connections."""
    return httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))


def http_get(url: str, **options: Any) -> httpx.Response:
    """``httpx.get`` through the shared client."""
    return _client().get(url, **options)


def http_post(url: str, **options: Any) -> httpx.Response:
    """``httpx.post`` through the shared client."""
    return _client().post(url, **options)


def reset_sim(sim: Sim) -> Sim:
    """Zero the simulator's counters (``/sim/stats``), as if it had just started."""
    http_post(f"{sim.url}/sim/reset", timeout=10).raise_for_status()
    return sim


def wait_for_requests(sim: Sim, count: int, timeout: float = 30.0) -> None:
    """Until ``sim`` has received ``count`` requests since its last reset (polls its stats)."""
    deadline = time.monotonic() + timeout
    while http_get(f"{sim.url}/sim/stats", timeout=10).json()["requests"] < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{sim.url} got no {count} requests in {timeout} s")
        time.sleep(0.01)


@pytest.fixture(scope="session")
def _sims() -> Iterator[dict[tuple[str, ...], Sim]]:
    """The simulators started in this session (per xdist worker), one per set of flags."""
    running: dict[tuple[str, ...], Sim] = {}
    yield running
    for server in running.values():
        stop_sim(server)


@pytest.fixture
def sim_factory(_sims: dict[tuple[str, ...], Sim]) -> Callable[..., Sim]:
    """``sim_factory(*flags)``: a simulator started with ``flags``, its counters at zero.

    A process per set of flags is started once per session and reset for each test that
    asks for it (tests run one at a time in a session, so the counters are the test's own);
    one that has died is started again. Start-up costs about as much as a whole ask, so
    this is most of what the integration tests would otherwise spend on simulators.
    """

    def make(*flags: str) -> Sim:
        server = _sims.get(flags)
        if server is None or server.proc.poll() is not None:
            server = _sims[flags] = start_sim(*flags)
        return reset_sim(server)

    return make


@pytest.fixture
def sim(sim_factory: Callable[..., Sim]) -> Sim:
    """The default simulator (no flags), counters at zero."""
    return sim_factory()


def profile_toml(url: str, name: str = "local", **extra: object) -> str:
    lines = [f'default_profile = "{name}"', f"[profiles.{name}]", 'provider = "openai"',
             'model = "sim-1"', f'base_url = "{url}/v1"']
    for key, value in extra.items():
        lines.append(f"{key} = {json.dumps(value)}")  # JSON scalars are valid TOML here
    return "\n".join(lines) + "\n"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """``run`` starts ``python -m llmx``: a real process."""
    return Cli(*private_home(tmp_path))


@pytest.fixture
def cli_here(tmp_path: Path) -> InProcessCli:
    """The same private home and environment; ``run`` is in-process (see ``InProcessCli``)."""
    return InProcessCli(*private_home(tmp_path))
