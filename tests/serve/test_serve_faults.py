"""A fleet sharing one redis-server when parts of it fail: a proxy killed while it holds a
question's lease, Redis stopped in the middle of a stream, and two `llmx batch` processes on
overlapping files (each distinct prompt reaches the provider once)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai

from tests.cli.harness import private_home
from tests.integration.conftest import LLMX, Sim, wait_for_requests
from tests.redis_kit import RedisServer, _redis_session, redis_server
from tests.serve.conftest import Serve, redis_config

__all__ = ["_redis_session", "redis_server"]

Factory = Callable[..., Serve]


def _stats(sim: Sim) -> dict[str, Any]:
    stats: dict[str, Any] = httpx.get(f"{sim.url}/sim/stats", timeout=10).json()
    return stats


def _ask(server: Serve, prompt: str, *, stream: bool = False) -> tuple[str, str | None, str]:
    """The answer's text, its finish reason and its ``x-llmx-cache``, through the SDK."""
    client = openai.OpenAI(base_url=server.v1, api_key="x", max_retries=0, timeout=60)
    messages: Any = [{"role": "user", "content": prompt}]
    if not stream:
        raw = client.chat.completions.with_raw_response.create(model="local", messages=messages)
        reply = raw.parse()
        return (reply.choices[0].message.content or "", reply.choices[0].finish_reason,
                raw.headers["x-llmx-cache"])
    text, finish = "", None
    streamed = client.chat.completions.with_raw_response.create(model="local", messages=messages,
                                                               stream=True)
    for chunk in streamed.parse():
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    return text, finish, streamed.headers["x-llmx-cache"]


def test_waiters_recover_when_the_lease_holder_is_killed(
        sim_factory: Callable[..., Sim], serve_factory: Factory,
        redis_server: RedisServer) -> None:
    """Proxy A sends a question and holds its lease; three clients of proxy B ask the same
    and wait for A's answer. A is SIGKILLed mid-request: once its lease expires, B sends
    the question itself (once, for its three waiters) and every waiter gets the answer."""
    slow = sim_factory("--ttft-ms", "2000")
    a, b = (serve_factory(slow, config=redis_config(slow, redis_server.url)) for _ in range(2))
    prompt = "what happens to the waiters when a lock holder dies"
    with ThreadPoolExecutor(4) as pool:
        lost = pool.submit(_ask, a, prompt)
        wait_for_requests(slow, 1)  # A holds the lease and is sending
        waiters = [pool.submit(_ask, b, prompt, stream=i == 0) for i in range(3)]
        time.sleep(0.5)
        assert _stats(slow)["requests"] == 1  # B's clients wait for A; none of them sent
        a.proc.kill()
        a.proc.wait(timeout=10)
        leases = redis_server.command("KEYS", "llmx:l:*").split()
        assert len(leases) == 1  # killed: nothing released it
        redis_server.command("PEXPIRE", leases[0], "200")  # sooner than LEASE_MS, for the test
        answers = [waiter.result(timeout=60) for waiter in waiters]
        assert lost.exception(timeout=60) is not None  # A's own client lost its connection
    texts = {text for text, _, _ in answers}
    assert len(texts) == 1 and texts.pop() and {f for _, f, _ in answers} == {"stop"}
    assert _stats(slow)["requests"] == 2  # A's lost request, then B's once for all three
    assert redis_server.command("KEYS", "llmx:l:*") == ""  # B released its lease


def test_redis_stopped_mid_stream_costs_one_warning_and_no_answer(
        sim_factory: Callable[..., Sim], serve_factory: Factory,
        redis_server: RedisServer) -> None:
    """A stream is in flight when Redis goes away: it is delivered whole, and so is every
    answer after it (a new question from the provider); the proxy warns once."""
    slow = sim_factory("--ttft-ms", "300", "--tokens-per-s", "100")  # 64 tokens: 0.94 s each
    server = serve_factory(slow, config=redis_config(slow, redis_server.url))
    assert _ask(server, "a question answered while redis is up")[1:] == ("stop", "miss")
    with ThreadPoolExecutor(1) as pool:
        streaming = pool.submit(_ask, server, "a long answer streaming as redis stops",
                                stream=True)
        wait_for_requests(slow, 2)
        redis_server.stop()
        assert not streaming.done()  # Redis went away while the stream was in flight
        text, finish, tier = streaming.result(timeout=60)
    assert text and finish == "stop" and tier == "miss"
    after = [_ask(server, "a new question once redis is gone"),
             _ask(server, "another new one, streamed", stream=True),
             _ask(server, "a question answered while redis is up", stream=True)]
    assert all(text and finish == "stop" for text, finish, _ in after)
    assert [tier for _, _, tier in after][:2] == ["miss", "miss"]
    sent = 2 + sum(tier == "miss" for _, _, tier in after)  # a repeat may be a local hit
    assert _stats(slow)["requests"] == sent
    code, err = server.stop()
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert code == 0 and len(warnings) == 1, err


def _batch(home: Path, name: str, sim: Sim, redis_url: str,
           prompts: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
    """`llmx batch` over ``prompts`` in its own home (as on its own machine), started."""
    where = home / name
    where.mkdir()
    _, env = private_home(where)
    config = where / "llmx.toml"
    config.write_text(redis_config(sim, redis_url))
    source, out = where / "in.jsonl", where / "out.jsonl"
    source.write_text("".join(json.dumps({"id": f"{name}-{i}", "prompt": p}) + "\n"
                              for i, p in enumerate(prompts)))
    proc = subprocess.Popen([*LLMX, "batch", str(source), "-o", str(out), "--config",
                             str(config), "-j", "4"], env=env, cwd=where,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    return proc, out


def test_two_batches_on_overlapping_files_send_each_prompt_once(
        tmp_path: Path, sim_factory: Callable[..., Sim], redis_server: RedisServer) -> None:
    """Two batch processes at once, six prompts each, three of them in both files: the
    provider sees each of the nine distinct prompts once, and both files are whole."""
    slow = sim_factory("--ttft-ms", "400")
    prompts = [f"overlapping batch question number {i}" for i in range(9)]
    runs = [_batch(tmp_path, "a", slow, redis_server.url, prompts[:6]),
            _batch(tmp_path, "b", slow, redis_server.url, prompts[3:])]
    answers: dict[str, set[str]] = {}
    for (proc, out), asked in zip(runs, (prompts[:6], prompts[3:]), strict=True):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        lines = {line["id"]: line for line in map(json.loads, out.read_text().splitlines())}
        assert len(lines) == 6
        for i, prompt in enumerate(asked):
            text = lines[f"{out.parent.name}-{i}"]["text"]
            assert text
            answers.setdefault(prompt, set()).add(text)
    stats = _stats(slow)
    assert stats["requests"] == 9 and sorted(stats["prompts"].values()) == [1] * 9
    assert len(answers) == 9 and all(len(texts) == 1 for texts in answers.values())
