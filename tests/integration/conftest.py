"""Real processes over loopback: `llmx sim` in its own process, `llmx` as users run it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

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


def reset_sim(sim: Sim) -> Sim:
    """Zero the simulator's counters (``/sim/stats``), as if it had just started."""
    import httpx

    httpx.post(f"{sim.url}/sim/reset", timeout=10).raise_for_status()
    return sim


def wait_for_requests(sim: Sim, count: int, timeout: float = 30.0) -> None:
    """Until ``sim`` has received ``count`` requests since its last reset (polls its stats)."""
    import httpx

    deadline = time.monotonic() + timeout
    while httpx.get(f"{sim.url}/sim/stats", timeout=10).json()["requests"] < count:
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


@dataclass
class Cli:
    """Runs `python -m llmx` with a private home and an optional config file."""

    home: Path
    env: dict[str, str]

    def write_config(self, text: str) -> Path:
        path = self.home / "llmx.toml"
        path.write_text(text)
        self.env["LLMX_CONFIG"] = str(path)
        return path

    def run(self, *args: str, stdin: bytes | None = b"", timeout: float = 60,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*LLMX, *args], input=stdin, capture_output=True,
                              env={**self.env, **(env or {})}, cwd=self.home, timeout=timeout)


class InProcessCli(Cli):
    """A ``Cli`` whose ``run`` calls ``llmx.cli.run`` in this process (the CLI test harness),
    with what the process would have had: ``os.environ`` is the run's environment for its
    duration, the working directory is ``home``, stdin a pipe's bytes. For tests where the
    process itself is not what is tested; its ``home`` and ``env`` still serve for the
    real processes such a test also starts."""

    def run(self, *args: str, stdin: bytes | None = b"", timeout: float = 60,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        from tests.cli.harness import invoke

        assert stdin is not None, "a closed stdin needs a real process"
        del timeout  # an in-process run has none
        whole = {**self.env, **(env or {})}
        with environ_as(whole):
            result = invoke(args, stdin=stdin, env=whole, cwd=self.home)
        return subprocess.CompletedProcess(list(args), result.returncode, result.stdout,
                                           result.stderr)


@contextlib.contextmanager
def environ_as(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is ``env`` inside the block, and what it was afterwards."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _private_home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    home.mkdir()
    private = ("LLMX_", "OPENAI", "ANTHROPIC")
    env = {k: v for k, v in os.environ.items() if not k.startswith(private)}
    env.update(LLMX_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "xdg"),
               XDG_STATE_HOME=str(home / "xdg-state"), NO_COLOR="1")
    return home, env


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """``run`` starts ``python -m llmx``: a real process."""
    return Cli(*_private_home(tmp_path))


@pytest.fixture
def cli_here(tmp_path: Path) -> InProcessCli:
    """The same private home and environment; ``run`` is in-process (see ``InProcessCli``)."""
    return InProcessCli(*_private_home(tmp_path))
