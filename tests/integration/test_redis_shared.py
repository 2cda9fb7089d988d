"""A cache shared through a real redis-server: `llmx ask` processes with separate homes (as
on separate machines) see each other's answers; a Redis that dies costs a warning, never an
answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.cli.harness import Cli, private_home
from tests.integration.conftest import Sim
from tests.redis_kit import RedisServer, _redis_session, redis_server

__all__ = ["_redis_session", "redis_server"]


def served(sim: Sim) -> int:
    return int(httpx.get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def machine(tmp_path: Path, name: str, sim: Sim, redis_url: str) -> Cli:
    """A separate home (its own disk cache, records, gate file) using the shared Redis."""
    where = tmp_path / name
    where.mkdir()
    cli = Cli(*private_home(where))
    cli.write_config(f'default_profile = "local"\n[profiles.local]\nprovider = "openai"\n'
                     f'model = "sim-1"\nbase_url = "{sim.url}/v1"\n'
                     f'[profiles.local.cache]\nbackend = "redis"\nredis_url = "{redis_url}"\n')
    return cli


def ask(cli: Cli, prompt: str) -> dict[str, Any]:
    done = cli.run("ask", "--json", prompt)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_an_answer_is_shared_across_homes(tmp_path: Path, sim: Sim,
                                          redis_server: RedisServer) -> None:
    one = machine(tmp_path, "a", sim, redis_server.url)
    two = machine(tmp_path, "b", sim, redis_server.url)
    first = ask(one, "what is a monad in functional programming")
    assert first["cached"] is False and served(sim) == 1
    again = ask(two, "what is a monad in functional programming")
    assert again["cached"] == "exact" and again["text"] == first["text"]
    near = ask(two, "What is a monad in functional programming?")
    assert near["cached"] == "semantic" and near["text"] == first["text"]
    assert served(sim) == 1
    assert not (Path(two.env["LLMX_HOME"]) / "cache" / "responses").exists()  # not on disk


def test_a_dead_redis_costs_a_warning_not_the_answer(tmp_path: Path, sim: Sim,
                                                     redis_server: RedisServer) -> None:
    cli = machine(tmp_path, "a", sim, redis_server.url)
    ask(cli, "explain a b-tree")
    redis_server.stop()
    done = cli.run("ask", "explain a b-tree")
    assert done.returncode == 0 and done.stdout.strip()
    said = done.stderr.decode()
    warnings = [line for line in said.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "shared cache" in warnings[0], said
    assert served(sim) == 2  # the cache could not answer: the provider did


def test_backend_redis_without_a_url_is_refused(tmp_path: Path, sim: Sim) -> None:
    cli = Cli(*private_home(tmp_path))
    cli.write_config(f'default_profile = "local"\n[profiles.local]\nprovider = "openai"\n'
                     f'model = "sim-1"\nbase_url = "{sim.url}/v1"\n'
                     '[profiles.local.cache]\nbackend = "redis"\n')
    done = cli.run("ask", "hello")
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.startswith(b'error: cache.backend = "redis" needs cache.redis_url')
    assert served(sim) == 0
