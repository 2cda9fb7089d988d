"""A cache shared through a real redis-server: `llmx` runs with separate homes (as on
separate machines) see each other's answers; a Redis that dies costs a warning, never an
answer. A run on its own is in-process (the CLI harness: each run opens its own store, so
what it finds came through Redis); runs that overlap, or one that is killed, are real
``python -m llmx`` processes."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.harness import Cli, InProcessCli, private_home
from tests.integration.conftest import LLMX, Sim, http_get, wait_for_requests
from tests.redis_kit import RedisServer, _redis_session, redis_server

__all__ = ["_redis_session", "redis_server"]


def served(sim: Sim) -> int:
    return int(http_get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def machine(tmp_path: Path, name: str, sim: Sim, redis_url: str) -> InProcessCli:
    """A separate home (its own disk cache, records, gate file) using the shared Redis;
    ``run`` is in-process, ``start`` a process."""
    where = tmp_path / name
    where.mkdir()
    cli = InProcessCli(*private_home(where))
    cli.write_config(f'default_profile = "local"\n[profiles.local]\nprovider = "openai"\n'
                     f'model = "sim-1"\nbase_url = "{sim.url}/v1"\n'
                     f'[profiles.local.cache]\nbackend = "redis"\nredis_url = "{redis_url}"\n')
    return cli


def start(cli: Cli, *argv: str) -> subprocess.Popen[bytes]:
    """``llmx ARGV`` as a running process of ``cli``'s home."""
    return subprocess.Popen([*LLMX, *argv], env=cli.env, cwd=cli.home, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


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
    cli = InProcessCli(*private_home(tmp_path))
    cli.write_config(f'default_profile = "local"\n[profiles.local]\nprovider = "openai"\n'
                     f'model = "sim-1"\nbase_url = "{sim.url}/v1"\n'
                     '[profiles.local.cache]\nbackend = "redis"\n')
    done = cli.run("ask", "hello")
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.startswith(b'error: cache.backend = "redis" needs cache.redis_url')
    assert served(sim) == 0


def test_two_processes_asking_at_once_send_one_request(tmp_path: Path,
                                                       sim_factory: Callable[..., Sim],
                                                       redis_server: RedisServer) -> None:
    slow = sim_factory("--ttft-ms", "2500", "--tokens-per-s", "100")
    one = machine(tmp_path, "a", slow, redis_server.url)
    two = machine(tmp_path, "b", slow, redis_server.url)
    argv = ("ask", "--json", "what does a write-ahead log protect against")
    first = start(one, *argv)
    wait_for_requests(slow, 1)  # the first process holds the lease and is sending
    second = start(two, *argv)
    out_one, err_one = first.communicate(timeout=60)
    out_two, err_two = second.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, (err_one, err_two)
    a, b = json.loads(out_one), json.loads(out_two)
    # the second waited for the first's lease, then served its stored answer (exact; or, if
    # the answer landed between its two look-ups, the same entry through the semantic tier)
    assert a["cached"] is False and b["cached"] in ("exact", "semantic")
    assert a["text"] == b["text"]
    assert served(slow) == 1


def test_a_killed_senders_lease_is_taken_over(tmp_path: Path, sim_factory: Callable[..., Sim],
                                             redis_server: RedisServer) -> None:
    slow = sim_factory("--ttft-ms", "2000")
    prompt = "what happens when a lock holder dies"
    holder = start(machine(tmp_path, "a", slow, redis_server.url), "ask", prompt)
    wait_for_requests(slow, 1)
    holder.kill()  # SIGKILL mid-request: nothing released, the lease stays until it expires
    holder.wait(timeout=10)
    leases = redis_server.command("KEYS", "llmx:l:*").split()
    assert len(leases) == 1
    redis_server.command("PEXPIRE", leases[0], "1500")  # sooner than LEASE_MS, for the test
    started = time.monotonic()
    answer = ask(machine(tmp_path, "b", slow, redis_server.url), prompt)
    assert answer["cached"] is False and answer["text"]
    assert time.monotonic() - started >= 1.4  # it waited for the lease, then sent it itself
    assert served(slow) == 2
    assert redis_server.command("KEYS", "llmx:l:*") == ""  # released after the store


def test_two_batch_runs_share_one_rate_limit(tmp_path: Path, sim: Sim,
                                            redis_server: RedisServer) -> None:
    """--rpm 60 is one request a second for the fleet: 8 requests from two processes take
    7 s or more (each alone would need 3 s)."""
    runs = []
    started = time.monotonic()
    for name in ("a", "b"):
        cli = machine(tmp_path, name, sim, redis_server.url)
        source = cli.home / "in.jsonl"
        source.write_text("".join(json.dumps({"id": f"{name}{i}",
                                              "prompt": f"paced question {name} {i}"}) + "\n"
                                  for i in range(4)))
        runs.append((cli, start(cli, "batch", str(source), "-o", str(cli.home / "out.jsonl"),
                                "--rpm", "60", "--no-cache")))
    said = []
    for cli, proc in runs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert len((cli.home / "out.jsonl").read_text().splitlines()) == 4
        said.append(err.decode())
    assert time.monotonic() - started >= 6.5, said  # a run that lost Redis says so here
    assert served(sim) == 8
