"""Request building, whole-body parsing and error mapping of the three codecs."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from llmx.errors import (
    AuthError,
    ConfigError,
    LlmxError,
    ProviderError,
    RateLimitError,
    RequestTimeout,
)
from llmx.providers import ollama, openai
from llmx.providers.base import HttpCall
from llmx.providers.registry import PROVIDER_NAMES, codec_for
from llmx.types import Message, Request, Role
from tests.providers.capture_kit import Capture

SECRET = "sk-SENTINEL-0123456789abcdef"
PROVIDERS = list(PROVIDER_NAMES)
PATHS = {"openai": "chat/completions", "anthropic": "v1/messages", "ollama": "api/chat",
         "azure": "openai/v1/chat/completions"}
KEY_HEADERS = {"anthropic": "x-api-key"}  # azure's default codec is the v1 form: bearer


def request(**changes: Any) -> Request:
    base: dict[str, Any] = {
        "model": "m-1",
        "messages": (
            Message("user", "Grüße 日本"),
            Message("assistant", "hi"),
            Message("user", "q"),
        ),
    }
    base.update(changes)
    return Request(**base)


def body_of(call: HttpCall) -> dict[str, Any]:
    data = json.loads(call.body.decode("utf-8"))
    assert isinstance(data, dict)
    return data


def lower_headers(call: HttpCall) -> dict[str, str]:
    return {k.lower(): v for k, v in call.headers.items()}


# --- requests -----------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_call_shape_path_and_compact_utf8_body(provider: str) -> None:
    call = codec_for(provider).build(request(), None)
    assert (call.method, call.path) == ("POST", PATHS[provider])
    assert not call.path.startswith("/")
    assert lower_headers(call)["content-type"] == "application/json"
    assert "Grüße 日本".encode() in call.body  # raw UTF-8, not \\u escapes
    assert b": " not in call.body and b", " not in call.body
    assert body_of(call)["model"] == "m-1"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_key_only_in_auth_header_and_never_in_repr(provider: str) -> None:
    call = codec_for(provider).build(request(system="be brief"), SECRET)
    assert SECRET.encode() not in call.body
    holders = [k.lower() for k, v in call.headers.items() if SECRET in v]
    assert holders == [KEY_HEADERS.get(provider, "authorization")]
    if provider not in KEY_HEADERS:
        assert lower_headers(call)["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in repr(call) and SECRET not in str(call.headers)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_auth_header_without_key(provider: str) -> None:
    headers = lower_headers(codec_for(provider).build(request(), None))
    assert "authorization" not in headers and "x-api-key" not in headers
    assert "api-key" not in headers


@pytest.mark.parametrize("provider", ["openai", "ollama"])
def test_system_prompt_is_a_leading_system_message(provider: str) -> None:
    body = body_of(codec_for(provider).build(request(system="be brief"), None))
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert [m["role"] for m in body["messages"][1:]] == ["user", "assistant", "user"]
    assert "system" not in body


def test_openai_optional_fields_only_when_set() -> None:
    plain = body_of(codec_for("openai").build(request(stream=False), None))
    assert set(plain) == {"model", "messages", "stream"} and plain["stream"] is False
    full = body_of(codec_for("openai").build(request(temperature=0.0, max_tokens=5), None))
    assert full["temperature"] == 0.0 and full["max_tokens"] == 5
    assert full["stream"] is True and full["stream_options"] == {"include_usage": True}


def test_anthropic_system_top_level_and_default_max_tokens() -> None:
    msgs = (Message("system", "also this"), Message("user", "q"))
    body = body_of(codec_for("anthropic").build(request(system="be brief", messages=msgs), None))
    assert body["system"] == "be brief\n\nalso this"
    assert body["messages"] == [{"role": "user", "content": "q"}]
    assert body["max_tokens"] == 1024 and "temperature" not in body
    body = body_of(codec_for("anthropic").build(request(max_tokens=7, temperature=0.5), None))
    assert body["max_tokens"] == 7 and body["temperature"] == 0.5 and "system" not in body


def test_anthropic_version_header() -> None:
    headers = lower_headers(codec_for("anthropic").build(request(), SECRET))
    assert headers["anthropic-version"] == "2023-06-01"


def test_ollama_options_only_when_set() -> None:
    assert "options" not in body_of(codec_for("ollama").build(request(), None))
    body = body_of(codec_for("ollama").build(request(temperature=0.2, max_tokens=9), None))
    assert body["options"] == {"temperature": 0.2, "num_predict": 9}
    assert body["stream"] is True


def plain_turns(messages: list[dict[str, Any]]) -> list[dict[str, str]] | None:
    """Recorded messages as role/content strings; None if any turn is not plain text.

    Content given as a list of text blocks is joined: the APIs treat the two forms alike.
    """
    turns = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and all(b.get("type") == "text" for b in content):
            content = "".join(b["text"] for b in content)
        if not isinstance(content, str) or message["role"] not in ("system", "user", "assistant"):
            return None
        turns.append({"role": message["role"], "content": content})
    return turns


def test_request_matches_recorded_request_shape(request_capture: Capture) -> None:
    recorded = request_capture.request["body"]
    turns = plain_turns(recorded["messages"])
    if not turns:
        pytest.skip("recorded request has image or tool turns")
    system = next((m["content"] for m in turns if m["role"] == "system"), None)
    ours = Request(
        model=recorded["model"],
        messages=tuple(
            Message(cast(Role, m["role"]), m["content"]) for m in turns if m["role"] != "system"
        ),
        system=system,
        temperature=recorded.get("temperature"),
        max_tokens=recorded.get("max_tokens") or recorded.get("max_completion_tokens"),
        stream=bool(recorded.get("stream", False)),
    )
    call = codec_for(request_capture.provider).build(ours, SECRET)
    body = body_of(call)
    assert request_capture.request["path"].split("?")[0].endswith("/" + call.path)
    assert body["model"] == recorded["model"]
    assert body["messages"] == turns  # system placement as the service received it
    if request_capture.provider == "anthropic":
        assert body["max_tokens"] == recorded["max_tokens"]
    if "stream_options" in recorded:  # we always ask for usage when streaming (openai)
        assert body["stream_options"] == recorded["stream_options"]
    assert body["stream"] is bool(recorded.get("stream", False))
    if "temperature" in recorded:
        assert body["temperature"] == recorded["temperature"]


# --- whole bodies ---------------------------------------------------------------------


def test_openai_response_with_null_content_and_no_usage() -> None:
    body = {
        "model": "x",
        "choices": [{"index": 0, "message": {"content": None}, "finish_reason": "tool_calls"}],
    }
    chunk = codec_for("openai").parse_response(json.dumps(body).encode())
    assert (chunk.text, chunk.usage, chunk.finish_reason) == ("", None, "tool_calls")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_non_json_success_body_is_a_provider_error(provider: str) -> None:
    with pytest.raises(ProviderError, match="not valid JSON") as info:
        codec_for(provider).parse_response(b"<html>\n<body>gateway</body>\n</html>")
    assert "\n" not in str(info.value)


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthError),
        (403, AuthError),
        (429, RateLimitError),
        (408, RequestTimeout),
        (504, RequestTimeout),
        (500, ProviderError),
        (400, ProviderError),
        (529, ProviderError),
    ],
)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_status_mapping(provider: str, status: int, cls: type[LlmxError]) -> None:
    body = json.dumps({"error": {"message": "nope\nsecond line", "code": status}}).encode()
    error = codec_for(provider).parse_error(status, {}, body)
    assert type(error) is cls
    assert str(error) == f"{provider} {status}: nope second line"
    if isinstance(error, ProviderError):
        assert error.status == status


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            b'{"error": {"message": "bad model", "type": "invalid_request", "code": "model_x"}}',
            "bad model (model_x)",
        ),
        (
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            "Overloaded (overloaded_error)",
        ),
        (b'{"error": "model \\"x\\" not found"}', 'model "x" not found'),
        (b'{"detail": "Not Found"}', "Not Found"),
        (b'{"object": "error", "message": "vllm says no"}', "vllm says no"),
    ],
)
def test_error_message_formats(body: bytes, fragment: str) -> None:
    assert fragment in str(codec_for("openai").parse_error(400, {}, body))


def test_non_json_error_body_is_shortened_to_one_line() -> None:
    body = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\n" + "x" * 1000).encode()
    message = str(codec_for("ollama").parse_error(502, {}, body))
    assert message.startswith("ollama 502: <html> <head><title>502 Bad Gateway")
    assert len(message) < 260 and "\n" not in message and "\r" not in message


def test_empty_error_body_uses_reason_phrase() -> None:
    assert str(codec_for("openai").parse_error(503, {}, b"")) == "openai 503: Service Unavailable"


def test_error_never_echoes_request_headers() -> None:
    error = codec_for("anthropic").parse_error(
        401, {"x-api-key": SECRET}, b'{"error":{"message":"bad key"}}'
    )
    assert SECRET not in str(error) and SECRET not in repr(error)


def test_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="openai, anthropic, ollama"):
        codec_for("gemini")


# --- embeddings -----------------------------------------------------------------------


def test_openai_embeddings_request_and_order() -> None:
    call = openai.build_embeddings("e-1", ["a", "b"], SECRET)
    assert call.path == "embeddings" and body_of(call) == {"model": "e-1", "input": ["a", "b"]}
    assert SECRET not in call.body.decode()
    body = {"data": [{"index": 1, "embedding": [2, 3]}, {"index": 0, "embedding": [0.5, 1]}]}
    assert openai.parse_embeddings(json.dumps(body).encode()) == [[0.5, 1.0], [2.0, 3.0]]


def test_ollama_embeddings_request_and_parse() -> None:
    call = ollama.build_embeddings("nomic", ["a"], None)
    assert call.path == "api/embed" and body_of(call) == {"model": "nomic", "input": ["a"]}
    assert "authorization" not in lower_headers(call)
    assert ollama.parse_embeddings(b'{"embeddings": [[1, 2.5], [3, 4]]}') == [
        [1.0, 2.5],
        [3.0, 4.0],
    ]
    with pytest.raises(ProviderError, match="not found"):
        ollama.parse_embeddings(b'{"error": "model not found"}')
