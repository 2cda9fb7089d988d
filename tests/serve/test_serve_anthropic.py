"""`llmx serve`'s Anthropic-compatible route through the official anthropic SDK."""

from __future__ import annotations

from collections.abc import Callable

import anthropic
import httpx
import openai
import pytest

from tests.integration.conftest import Sim
from tests.serve.conftest import Serve

Factory = Callable[..., Serve]


def _client(server: Serve, key: str = "unused") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key=key, max_retries=0, timeout=30)


def _requests(sim: Sim) -> int:
    return int(httpx.get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def test_a_message_then_the_same_one_from_the_cache(sim: Sim, shared_serve: Serve) -> None:
    client = _client(shared_serve)
    ask = {"model": "local", "max_tokens": 64, "system": "answer in one line",
           "messages": [{"role": "user", "content": "what is a write-ahead log?"}]}
    first = client.messages.with_raw_response.create(**ask)  # type: ignore[call-overload]
    again = client.messages.with_raw_response.create(**ask)  # type: ignore[call-overload]
    assert (first.headers["x-llmx-cache"], again.headers["x-llmx-cache"]) == ("miss", "exact")
    one, two = first.parse(), again.parse()
    assert one.type == "message" and one.role == "assistant"
    assert one.content[0].type == "text" and one.content[0].text
    assert two.content[0].text == one.content[0].text
    assert one.stop_reason in ("end_turn", "max_tokens")
    assert one.usage.output_tokens > 0
    assert _requests(sim) == 1


def test_a_streamed_message_and_the_openai_route_share_the_cache(
        sim: Sim, shared_serve: Serve) -> None:
    server = shared_serve
    with _client(server).messages.stream(
            model="local", max_tokens=64,
            messages=[{"role": "user", "content": "explain backpressure"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].type == "text" and final.content[0].text == text
    assert final.stop_reason in ("end_turn", "max_tokens")
    other = openai.OpenAI(base_url=server.v1, api_key="x", max_retries=0)
    same = other.chat.completions.with_raw_response.create(
        model="local", max_tokens=64,
        messages=[{"role": "user", "content": "explain backpressure"}])
    assert same.headers["x-llmx-cache"] == "exact"
    assert same.parse().choices[0].message.content == text
    assert _requests(sim) == 1


def test_keys_and_errors_have_the_messages_api_shape(sim: Sim, serve_factory: Factory) -> None:
    server = serve_factory(sim, "--api-key-env", "KEYS", env={"KEYS": "k-anthropic-123"})
    with pytest.raises(anthropic.AuthenticationError):
        _client(server, "nope").messages.create(
            model="local", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    missing = httpx.post(server.url + "/v1/messages", timeout=10,
                         headers={"x-api-key": "k-anthropic-123"},
                         json={"messages": [{"role": "user", "content": "hi"}]})
    assert missing.status_code == 400
    body = missing.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]
    ok = _client(server, "k-anthropic-123").messages.create(
        model="local", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert ok.content[0].type == "text"
    assert _requests(sim) == 1


@pytest.mark.parametrize(("body", "says"), [
    ({"max_tokens": 8, "messages": [{"role": "system", "content": "x"},
                                    {"role": "user", "content": "hi"}]}, "top-level `system`"),
    ({"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}],
      "thinking": {"type": "enabled", "budget_tokens": 1024}}, "`thinking` is not supported"),
    ({"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}],
      "tools": [{"name": "t", "input_schema": {"type": "object"}}],
      "tool_choice": {"type": "tool", "name": "other"}}, "`tool_choice` 'other'"),
    ({"max_tokens": 8, "system": 5, "messages": [{"role": "user", "content": "hi"}]},
     "`system` must be"),
])
def test_bad_messages_requests_reach_nobody(sim: Sim, shared_serve: Serve,
                                            body: dict[str, object], says: str) -> None:
    server = shared_serve
    response = httpx.post(server.url + "/v1/messages", json=body, timeout=10)
    assert response.status_code == 400 and says in response.json()["error"]["message"]
    assert _requests(sim) == 0
