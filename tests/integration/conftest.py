"""Real processes over loopback: `llmx sim` in its own process, `llmx` as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
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


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    server = start_sim()
    yield server
    stop_sim(server)


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., Sim]]:
    started: list[Sim] = []

    def make(*flags: str) -> Sim:
        server = start_sim(*flags)
        started.append(server)
        return server

    yield make
    for server in started:
        stop_sim(server)


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


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    private = ("LLMX_", "OPENAI", "ANTHROPIC")
    env = {k: v for k, v in os.environ.items() if not k.startswith(private)}
    env.update(LLMX_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "xdg"),
               XDG_STATE_HOME=str(home / "xdg-state"), NO_COLOR="1")
    return Cli(home=home, env=env)
