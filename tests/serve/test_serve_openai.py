"""`llmx serve` through the official openai SDK: answers, cache tiers, single flight, auth,
errors, shutdown. Real processes: `llmx serve` in front of `llmx sim`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.integration.conftest import Sim, profile_toml, wait_for_requests
from tests.serve.conftest import Serve, run_serve

Factory = Callable[..., Serve]


def _client(server: Serve, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0, timeout=30)


def _requests(sim: Sim) -> int:
    return int(httpx.get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def test_a_repeated_question_is_answered_from_the_cache(sim: Sim,
                                                         shared_serve: Serve) -> None:
    server = shared_serve
    client = _client(server)
    messages = [{"role": "user", "content": "what is a bloom filter?"}]
    first = client.chat.completions.with_raw_response.create(model="local",
                                                             messages=messages)  # type: ignore[arg-type]
    again = client.chat.completions.with_raw_response.create(model="local",
                                                             messages=messages)  # type: ignore[arg-type]
    assert (first.headers["x-llmx-cache"], again.headers["x-llmx-cache"]) == ("miss", "exact")
    one, two = first.parse(), again.parse()
    assert one.choices[0].message.content
    assert two.choices[0].message.content == one.choices[0].message.content
    assert one.choices[0].finish_reason == "stop"
    assert one.usage is not None and one.usage.completion_tokens > 0
    assert _requests(sim) == 1


def test_a_stream_arrives_in_pieces_with_usage(sim: Sim, shared_serve: Serve) -> None:
    server = shared_serve
    client = _client(server)
    stream = client.chat.completions.create(
        model="sim-1", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "be brief"},
                  {"role": "user", "content": "tell me about tcp slow start"}])
    pieces, finish, usage = [], None, None
    for event in stream:
        if event.usage is not None:
            usage = event.usage
        for choice in event.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert len([p for p in pieces if p]) > 1 and finish == "stop"
    assert usage is not None and usage.completion_tokens > 0
    whole = client.chat.completions.create(
        model="sim-1", messages=[{"role": "system", "content": "be brief"},
                                 {"role": "user", "content": "tell me about tcp slow start"}])
    assert whole.choices[0].message.content == "".join(pieces)  # replayed from the cache
    assert _requests(sim) == 1


def test_identical_streams_in_flight_reach_the_provider_once(
        sim_factory: Callable[..., Sim], serve_factory: Factory) -> None:
    slow = sim_factory("--ttft-ms", "400", "--tokens-per-s", "200")
    server = serve_factory(slow)

    async def ten() -> list[str]:
        client = openai.AsyncOpenAI(base_url=server.v1, api_key="x", max_retries=0)

        async def one() -> str:
            stream = await client.chat.completions.create(
                model="local", stream=True,
                messages=[{"role": "user", "content": "explain consistent hashing"}])
            return "".join([c.choices[0].delta.content or "" async for c in stream
                            if c.choices])

        try:
            return await asyncio.gather(*(one() for _ in range(10)))
        finally:
            await client.close()

    answers = asyncio.run(ten())
    assert len(set(answers)) == 1 and answers[0]
    assert _requests(slow) == 1
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    coalesced = next(line for line in metrics.splitlines()
                     if line.startswith("llmx_coalesced_requests_total "))
    assert int(coalesced.split()[1]) >= 1


def test_keys_are_required_when_configured(sim: Sim, serve_factory: Factory) -> None:
    server = serve_factory(sim, "--api-key-env", "CLIENT_KEYS",
                           env={"CLIENT_KEYS": "k-one-123456,k-two-123456"})
    with pytest.raises(openai.AuthenticationError):
        _client(server, "wrong-key").models.list()
    bare = httpx.post(server.v1 + "/chat/completions", timeout=10,
                      json={"messages": [{"role": "user", "content": "hi"}]})
    assert bare.status_code == 401 and bare.json()["error"]["type"] == "authentication_error"
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
    listed = _client(server, "k-two-123456").models.list()
    assert [model.id for model in listed.data] == ["local", "sim"]  # the default first
    ok = httpx.get(server.url + "/metrics", headers={"x-api-key": "k-one-123456"}, timeout=10)
    assert ok.status_code == 200 and "llmx_requests_total" in ok.text
    assert _requests(sim) == 0
    code, err = server.stop()
    assert "k-one-123456" not in err and "k-two-123456" not in err and code == 0


@pytest.mark.parametrize(("body", "says"), [
    ({"model": "local"}, '"messages" must be a non-empty list'),
    ({"messages": [{"role": "assistant", "content": "hi"}]}, "the last message must be"),
    ({"messages": [{"role": "user", "content": "hi"}], "functions": [{"name": "f"}]},
     "`functions` is not supported"),
    ({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]},
     "`tools`"),
    ({"messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"},
     "`tool_choice` needs `tools`"),
    ({"messages": [{"role": "user", "content": "hi"}],
      "response_format": {"type": "json_object"}}, "`response_format` of type 'json_object'"),
    ({"messages": [{"role": "tool", "content": "42", "tool_call_id": "c1"},
                   {"role": "user", "content": "hi"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "only text parts"),
    ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, "`max_tokens`"),
])
def test_a_bad_request_gets_400_and_reaches_nobody(sim: Sim, shared_serve: Serve,
                                                   body: dict[str, object], says: str) -> None:
    server = shared_serve
    response = httpx.post(server.v1 + "/chat/completions", json=body, timeout=10)
    assert response.status_code == 400
    assert says in response.json()["error"]["message"]
    assert _requests(sim) == 0


def test_not_json_and_unknown_routes(sim: Sim, shared_serve: Serve) -> None:
    server = shared_serve
    raw = httpx.post(server.v1 + "/chat/completions", content=b"{nope", timeout=10)
    assert raw.status_code == 400
    assert httpx.get(server.v1 + "/nothing", timeout=10).status_code == 404
    assert httpx.get(server.v1 + "/chat/completions", timeout=10).status_code == 405


def test_an_unreachable_provider_is_a_502(tmp_path: Path, serve_factory: Factory) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = profile_toml(f"http://127.0.0.1:{port}", retries=0)
    server = serve_factory(None, config=config)
    with pytest.raises(openai.APIStatusError) as raised:
        _client(server).chat.completions.create(
            model="local", messages=[{"role": "user", "content": "hello"}])
    assert raised.value.status_code == 502
    body = raised.value.response.json()
    assert body["error"]["type"] == "upstream_unreachable"


def test_shutdown_lets_an_answer_in_flight_finish(sim_factory: Callable[..., Sim],
                                                 serve_factory: Factory) -> None:
    slow = sim_factory("--ttft-ms", "300", "--tokens-per-s", "100")
    server = serve_factory(slow)
    with httpx.stream("POST", server.v1 + "/chat/completions", timeout=30,
                      json={"stream": True, "model": "local",
                            "messages": [{"role": "user", "content": "a long story"}]}
                      ) as response:
        wait_for_requests(slow, 1)
        code_holder: list[tuple[int, str]] = []
        server.proc.send_signal(__import__("signal").SIGTERM)
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
        code_holder.append(server.stop())
    assert lines[-1] == "data: [DONE]"
    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content", "")
                   for line in lines[:-1] if json.loads(line[6:])["choices"])
    assert len(text.split()) > 5
    code, err = code_holder[0]
    assert code == 0, err
    assert "POST /v1/chat/completions 200" in err


def test_off_loopback_without_a_key_is_refused(tmp_path: Path) -> None:
    done = run_serve(tmp_path, "--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: --host 0.0.0.0 is not a loopback address")


def test_an_unset_key_variable_and_a_taken_port_are_refused(tmp_path: Path) -> None:
    import socket

    unset = run_serve(tmp_path / "a", "--api-key-env", "NOPE_NOT_SET", "--port", "0")
    assert unset.returncode == 2 and "NOPE_NOT_SET" in unset.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run_serve(tmp_path / "b", "--port", str(taken.getsockname()[1]))
    assert busy.returncode == 2 and "cannot listen on 127.0.0.1" in busy.stderr
    assert busy.stdout == ""


def test_embeddings_in_both_encodings(sim: Sim, shared_serve: Serve) -> None:
    server = shared_serve
    got = _client(server).embeddings.create(model="local", input=["one text", "another"])
    assert [item.index for item in got.data] == [0, 1]  # the SDK asked for base64
    assert len(got.data[0].embedding) > 8
    assert got.data[0].embedding != got.data[1].embedding
    raw = httpx.post(server.v1 + "/embeddings", timeout=10,
                     json={"model": "local", "input": "one text", "encoding_format": "float"})
    assert raw.status_code == 200
    floats = raw.json()["data"][0]["embedding"]
    assert floats == pytest.approx(got.data[0].embedding, rel=1e-6)
    bad = httpx.post(server.v1 + "/embeddings", json={"input": []}, timeout=10)
    assert bad.status_code == 400 and "`input`" in bad.json()["error"]["message"]


def test_metrics_count_hits_tokens_and_money(sim: Sim, serve_factory: Factory) -> None:
    from tests.integration.conftest import profile_toml

    config = profile_toml(sim.url) + "[profiles.local.price]\ninput = 1000000.0\noutput = 0.0\n"
    server = serve_factory(sim, config=config)  # $1 per prompt token: easy to check
    client = _client(server)
    messages: Any = [{"role": "user", "content": "count the money"}]
    first = client.chat.completions.create(model="local", messages=messages)
    client.chat.completions.create(model="local", messages=messages)  # a hit
    assert first.usage is not None
    spent = float(first.usage.prompt_tokens)
    text = httpx.get(server.url + "/metrics", timeout=10).text
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line and not line.startswith("#")}
    assert values['llmx_cache_hits_total{tier="exact"}'] == 1
    assert values['llmx_tokens_total{direction="input"}'] == spent
    assert values['llmx_cost_usd_total{kind="spent"}'] == pytest.approx(spent)
    assert values['llmx_cost_usd_total{kind="saved"}'] == pytest.approx(spent)
    assert values["llmx_upstream_latency_ms_count"] == 1


def test_llmx_stats_reads_a_proxys_records(sim: Sim, serve_factory: Factory) -> None:
    import subprocess
    import sys

    server = serve_factory(sim)
    client = _client(server)
    for _ in range(2):
        client.chat.completions.create(model="local",
                                       messages=[{"role": "user", "content": "record me"}])
    code, _ = server.stop()  # the proxy writes its queued records when it shuts down
    assert code == 0
    done = subprocess.run([sys.executable, "-m", "llmx", "stats", "--json"], env=server.env,
                          capture_output=True, text=True, timeout=60, check=True)
    total = json.loads(done.stdout)["total"]
    assert total["requests"] == 2
    assert total["tiers"]["exact"] == 1 and total["tiers"]["miss"] == 1
