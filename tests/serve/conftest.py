"""Real `llmx serve` processes over loopback, in front of a real `llmx sim` process."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli.harness import private_home
from tests.integration.conftest import LLMX, Sim, _sims, profile_toml, sim, sim_factory, start_sim

__all__ = ["Serve", "_sims", "redis_config", "serve_factory", "shared_serve", "sim",
           "sim_factory"]


@dataclass
class Serve:
    """A started `llmx serve`. Its URL is read from its first line of stdout when a test
    first needs it, so the proxies a test starts one after another start up in parallel."""

    proc: subprocess.Popen[str]
    env: dict[str, str]
    printed: str = ""
    reading: threading.Lock = field(default_factory=threading.Lock)  # clients in threads

    @property
    def url(self) -> str:
        with self.reading:
            if not self.printed:
                assert self.proc.stdout is not None
                line = self.proc.stdout.readline().strip()
                if not line.startswith("http://127.0.0.1:"):
                    _, err = self.proc.communicate(timeout=30)
                    raise RuntimeError(f"serve did not start: {line!r} {err}")
                self.printed = line
        return self.printed

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then the exit code and everything it wrote to stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


def start_serve(base: Path, upstream: Sim | None, *flags: str,
                env: dict[str, str] | None = None, config: str | None = None) -> Serve:
    """`llmx serve --port 0` in its own home ``base``, with a config whose default profile
    ``local`` is ``upstream`` (unless ``config`` is given); started, not yet waited for."""
    base.mkdir(parents=True, exist_ok=True)
    _, environ = private_home(base)
    environ = {**environ, **(env or {})}
    text = config if config is not None else profile_toml(upstream.url if upstream else "")
    path = base / "llmx.toml"
    path.write_text(text)
    proc = subprocess.Popen([*LLMX, "serve", "--port", "0", "--config", str(path), *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environ)
    return Serve(proc, environ)


@pytest.fixture
def serve_factory(tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    """``serve_factory(sim, *flags, env=..., home=...)``: `llmx serve --port 0` with a config
    whose default profile ``local`` is ``sim``; stopped at the end of the test."""
    started: list[Serve] = []

    def make(upstream: Sim | None, *flags: str, env: dict[str, str] | None = None,
             config: str | None = None, home: Path | None = None) -> Serve:
        base = home or tmp_path / f"serve{len(started)}"
        started.append(start_serve(base, upstream, *flags, env=env, config=config))
        return started[-1]

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_serve(tmp_path_factory: pytest.TempPathFactory,
                 _sims: dict[tuple[str, ...], Sim]) -> Iterator[Serve]:
    """One `llmx serve` for the tests of a module that need no fresh proxy, in front of the
    default simulator (the process the ``sim`` fixture resets for each test, so a test's
    request counts are its own). Each test asks its own questions, so none finds another's
    answer in the cache; tests about the proxy's own counters, flags or exit start theirs."""
    upstream = _sims.get(())
    if upstream is None or upstream.proc.poll() is not None:
        upstream = _sims[()] = start_sim()
    server = start_serve(tmp_path_factory.mktemp("serve"), upstream)
    yield server
    server.stop()


def redis_config(upstream: Sim, redis_url: str) -> str:
    """A config whose default profile ``local`` is ``upstream``, its cache in ``redis_url``."""
    return (f'default_profile = "local"\n[profiles.local]\nprovider = "openai"\n'
            f'model = "sim-1"\nbase_url = "{upstream.url}/v1"\n'
            f'[profiles.local.cache]\nbackend = "redis"\nredis_url = "{redis_url}"\n')


def run_serve(tmp_path: Path, *flags: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    """`llmx serve` expected to refuse to start (it must exit on its own)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    _, environ = private_home(tmp_path)
    return subprocess.run([*LLMX, "serve", *flags], capture_output=True, text=True,
                          env={**environ, **(env or {})}, timeout=60)

