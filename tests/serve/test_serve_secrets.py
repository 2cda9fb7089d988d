"""Secrets through a proxy fleet: the clients' keys, a wrong key a client tried, the upstream
key and an upstream key the provider echoes back are found in no response, not in the
access log, /metrics, the proxy's files or the shared Redis."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai

from tests.integration.conftest import Sim
from tests.redis_kit import RedisServer, _redis_session, redis_server
from tests.serve.conftest import Serve, redis_config

__all__ = ["_redis_session", "redis_server"]

CLIENT_KEYS = ("client-SENTINEL-4e1f8a", "client-SENTINEL-9c2d7b")
WRONG = "wrong-SENTINEL-d41c55"  # a key a client tried: not ours, still never repeated
UPSTREAM = "upstream-SENTINEL-8b3e0f"
ECHOED = "sim-echo-SENTINEL-6a7c21"  # the simulator answers 401 repeating this key
SECRETS = (*CLIENT_KEYS, WRONG, UPSTREAM, ECHOED)

Factory = Callable[..., Serve]


def _config(sim: Sim, redis_url: str) -> str:
    """``local`` (the default, its cache in Redis) sends UP_KEY; ``echoing`` sends a key the
    simulator refuses and repeats."""
    table = "\n[profiles.local.cache]"
    shared = redis_config(sim, redis_url).replace(table, '\napi_key_env = "UP_KEY"' + table)
    return (shared + f'[profiles.echoing]\nprovider = "openai"\nmodel = "sim-1"\n'
            f'base_url = "{sim.url}/v1"\napi_key_env = "ECHO_KEY"\nretries = 0\n')


def _redis_dump(server: RedisServer) -> bytes:
    """Every key and value in the shared Redis, as redis-cli prints them."""
    readers = {"string": ("GET",), "hash": ("HGETALL",), "list": ("LRANGE", "0", "-1"),
               "stream": ("XRANGE", "-", "+"), "zset": ("ZRANGE", "0", "-1"),
               "set": ("SMEMBERS",)}
    parts = []
    for key in server.command("KEYS", "*").split():
        command, *rest = readers[server.command("TYPE", key)]
        parts.append(subprocess.run(["redis-cli", "-s", str(server.socket), command, key, *rest],
                                    capture_output=True, timeout=10, check=True).stdout)
    return b"\n".join(parts)


def _leaks(where: str, text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [f"{secret} in {where}" for secret in SECRETS if secret.encode() in data]


def test_no_secret_reaches_a_response_the_log_metrics_files_or_redis(
        sim: Sim, serve_factory: Factory, redis_server: RedisServer) -> None:
    env = {"CLIENT_KEYS": ",".join(CLIENT_KEYS), "UP_KEY": UPSTREAM, "ECHO_KEY": ECHOED}
    server = serve_factory(sim, "--api-key-env", "CLIENT_KEYS", env=env,
                           config=_config(sim, redis_server.url))
    found: list[str] = []
    ask = openai.OpenAI(base_url=server.v1, api_key=CLIENT_KEYS[0], max_retries=0)
    messages: Any = [{"role": "user", "content": "what is a secret"}]
    for _ in range(2):  # a miss, then a hit
        raw = ask.chat.completions.with_raw_response.create(
            model="local", messages=messages)
        found += _leaks("an answer", raw.http_response.read())
    streamed = ask.chat.completions.create(model="local", messages=messages,
                                           stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    claude = anthropic.Anthropic(base_url=server.url, api_key=CLIENT_KEYS[1], max_retries=0)
    assert claude.messages.create(model="local", max_tokens=32, messages=messages).content
    refused = httpx.post(server.v1 + "/chat/completions", timeout=10, json={"messages": messages},
                         headers={"authorization": f"Bearer {WRONG}"})
    echoed = httpx.post(server.v1 + "/chat/completions", timeout=30,
                        json={"model": "echoing", "messages": messages},
                        headers={"x-api-key": CLIENT_KEYS[1]})
    assert (refused.status_code, echoed.status_code) == (401, 502)
    found += _leaks("a 401", refused.content) + _leaks("a 502", echoed.content)
    metrics = httpx.get(server.url + "/metrics", timeout=10,
                        headers={"x-api-key": CLIENT_KEYS[0]})
    assert metrics.status_code == 200 and "llmx_requests_total" in metrics.text
    found += _leaks("/metrics", metrics.text)
    code, log = server.stop()
    assert code == 0 and "POST /v1/chat/completions 401" in log and "cache=exact" in log
    found += _leaks("the access log", log)
    for file in Path(server.env["LLMX_HOME"]).rglob("*"):
        if file.is_file():
            found += _leaks(str(file), file.read_bytes())
    dump = _redis_dump(redis_server)
    assert b"what is a secret" in dump  # the fleet's answer is there
    found += _leaks("redis", dump)
    assert found == []

