"""The simulator speaks the recorded formats: its bodies have the same shape
(nested key sets, event sequences, content types) as the captures of the real
services in ../shared/data/wire/."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmx.sim import SimServer

from .simkit import capture_body, capture_json, sse_data, sse_events, with_sim


@pytest.fixture
def wire(shared_data: Path) -> Path:
    path = shared_data / "wire"
    if not path.is_dir():
        pytest.skip("../shared/data/wire is absent")
    return path


def shape(value: Any) -> Any:
    """Nested key structure: dicts by their keys, lists by their first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


def content_type(wire: Path, name: str) -> str:
    headers = json.loads((wire / name / "response.json").read_text())["headers"]
    return str(next(v for k, v in headers if k.lower() == "content-type"))


def _post(
    path: str, body: dict[str, Any], headers: dict[str, str] | None = None, **options: Any
) -> httpx.Response:
    async def go(sim: SimServer) -> httpx.Response:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            response = await client.post(path, json=body, headers=headers)
            await response.aread()
            return response

    return with_sim(go, **options)


def _capture_request(wire: Path, name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((wire / name / "request.json").read_text())["body"]
    return body


def test_openai_chat_non_stream_shape(wire: Path) -> None:
    sim = _post("/v1/chat/completions", _capture_request(wire, "openai_chat_nonstream"))
    assert shape(sim.json()) == shape(capture_json(wire, "openai_chat_nonstream"))
    assert sim.headers["content-type"] == content_type(wire, "openai_chat_nonstream")


def _chunk_kinds(body: bytes) -> list[tuple[frozenset[str], frozenset[str] | None]]:
    """(top-level keys, delta keys or None for a usage chunk) of each JSON chunk."""
    kinds = []
    for data in sse_data(body):
        if data == "[DONE]":
            continue
        chunk = json.loads(data)
        delta = frozenset(chunk["choices"][0]["delta"]) if chunk["choices"] else None
        kinds.append((frozenset(chunk), delta))
    return kinds


def _dedupe(items: list[Any]) -> list[Any]:
    return [x for i, x in enumerate(items) if i == 0 or items[i - 1] != x]


def test_openai_stream_with_usage_shape(wire: Path) -> None:
    name = "openai_chat_stream_usage"
    request = _capture_request(wire, name)
    sim = _post("/v1/chat/completions", request)
    recorded = capture_body(wire, name)
    assert _dedupe(_chunk_kinds(sim.content)) == _dedupe(_chunk_kinds(recorded))
    assert sse_data(sim.content)[-1] == sse_data(recorded)[-1] == "[DONE]"
    last_sim = json.loads(sse_data(sim.content)[-2])
    last_rec = json.loads(sse_data(recorded)[-2])
    assert shape(last_sim) == shape(last_rec)
    assert sim.headers["content-type"] == content_type(wire, name)


def test_openai_embeddings_shape(wire: Path) -> None:
    name = "openai_embeddings"
    request = _capture_request(wire, name)
    sim = _post("/v1/embeddings", request)
    recorded = capture_json(wire, name)
    assert shape(sim.json()) == shape(recorded)
    assert len(sim.json()["data"][0]["embedding"]) == len(recorded["data"][0]["embedding"])


def test_openai_error_shape(wire: Path) -> None:
    recorded = capture_json(wire, "openai_error_404_model_not_found")
    sim = _post("/v1/chat/completions", {"messages": []})
    assert shape(sim.json()) == shape(recorded)


def test_anthropic_non_stream_shape(wire: Path) -> None:
    name = "anthropic_messages_nonstream"
    sim = _post("/v1/messages", _capture_request(wire, name))
    assert shape(sim.json()) == shape(capture_json(wire, name))
    assert sim.headers["content-type"] == content_type(wire, name)


def test_anthropic_stream_event_sequence_and_shapes(wire: Path) -> None:
    name = "anthropic_messages_stream_text"
    sim = _post("/v1/messages", _capture_request(wire, name))
    recorded = capture_body(wire, name)
    assert (
        _dedupe(sse_events(sim.content))
        == _dedupe(sse_events(recorded))
        == [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    )
    sim_shapes = _dedupe([shape(json.loads(d)) for d in sse_data(sim.content)])
    rec_shapes = _dedupe([shape(json.loads(d)) for d in sse_data(recorded)])
    assert sim_shapes == rec_shapes
    assert sim.headers["content-type"] == content_type(wire, name)


def test_anthropic_error_shape(wire: Path) -> None:
    recorded = capture_json(wire, "anthropic_error_400_invalid_request")
    sim = _post("/v1/messages", {"messages": [], "max_tokens": 5})
    assert sim.status_code == 400
    assert shape(sim.json()) == shape(recorded)
    limited = _post(
        "/v1/messages", {"model": "m", "messages": [], "max_tokens": 5}, rate_limit_rate=1.0
    )
    rec_429 = capture_json(wire, "anthropic_error_429_rate_limit")
    assert shape(limited.json())["error"] == shape(rec_429)["error"]
    assert limited.json()["error"]["type"] == rec_429["error"]["type"]


def _ndjson(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def test_ollama_stream_shape(wire: Path) -> None:
    name = "ollama_chat_stream"
    sim = _post("/api/chat", _capture_request(wire, name))
    sim_lines, rec_lines = _ndjson(sim.content), _ndjson(capture_body(wire, name))
    assert _dedupe([shape(x) for x in sim_lines]) == _dedupe([shape(x) for x in rec_lines])
    assert sim.headers["content-type"] == content_type(wire, name)
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")
    assert all(stamp.match(x["created_at"]) for x in sim_lines + rec_lines)


def test_ollama_non_stream_shape(wire: Path) -> None:
    name = "ollama_chat_nonstream"
    body = {
        "model": "llama3.1",
        "stream": False,
        "messages": [{"role": "user", "content": "weather?"}],
    }
    sim = _post("/api/chat", body)
    assert shape(sim.json()) == shape(capture_json(wire, name))
    assert sim.headers["content-type"] == content_type(wire, name)


def test_ollama_embed_and_error_shapes(wire: Path) -> None:
    sim = _post("/api/embed", _capture_request(wire, "ollama_embed"))
    assert shape(sim.json()) == shape(capture_json(wire, "ollama_embed"))
    error = _post("/api/chat", {"messages": []})
    assert shape(error.json()) == shape(capture_json(wire, "ollama_error_400_no_tools"))
