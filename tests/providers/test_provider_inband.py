"""In-band errors in every provider's shape, and finish reasons that say what happened.

Shapes: OpenAI Chat Completions error chunks (``{"error": {... "code":
"server_is_overloaded"}}``), vLLM's ``{"object": "error", ...}`` followed by ``[DONE]``,
Anthropic's ``event: error`` (``overloaded_error`` stands for HTTP 529), Ollama's
``{"error": "..."}`` line. Tool calls and refusals are replayed from the recorded captures
where one exists and crafted in the recorded shapes otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmx.errors import AuthError, LlmxError, ProviderError, RateLimitError, StreamError
from llmx.providers.registry import codec_for
from llmx.providers.retry import should_retry_error
from llmx.types import Chunk
from tests.providers.capture_kit import bytewise, feed_all


def sse(*events: tuple[str | None, Any]) -> bytes:
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        payload = data if isinstance(data, str) else json.dumps(data)
        out.append(f"{head}data: {payload}\n\n")
    return "".join(out).encode()


def text_chunk(text: str) -> tuple[None, dict[str, Any]]:
    return None, {"model": "m", "choices": [{"index": 0, "delta": {"content": text}}]}


OPENAI_OVERLOADED = {"error": {"message": "Our servers are currently overloaded.",
                               "type": "service_unavailable_error", "param": None,
                               "code": "server_is_overloaded"}}
OPENAI_RATE_LIMIT = {"error": {"message": "Rate limit reached", "type": "requests",
                               "param": None, "code": "rate_limit_exceeded"}}
OPENAI_SERVER = {"error": {"message": "The server had an error", "type": "server_error",
                           "param": None, "code": None}}
VLLM_ERROR = {"object": "error", "message": "CUDA out of memory", "type": "InternalServerError",
              "param": None, "code": 500}
VLLM_BAD = {"object": "error", "message": "bad grammar", "type": "BadRequestError",
            "param": None, "code": 400}
ANTHROPIC_OVERLOADED = {"type": "error", "error": {"type": "overloaded_error",
                                                   "message": "Overloaded"}}
ANTHROPIC_RATE = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}
ANTHROPIC_AUTH = {"type": "error", "error": {"type": "authentication_error", "message": "no"}}
ANTHROPIC_START = ("message_start", {"type": "message_start",
                                     "message": {"model": "c", "usage": {"input_tokens": 3}}})


def decode(provider: str, body: bytes) -> list[Chunk]:
    return feed_all(codec_for(provider).stream_decoder(), bytewise(body))


def failure(provider: str, body: bytes) -> LlmxError:
    with pytest.raises(LlmxError) as info:
        decode(provider, body)
    return info.value


INBAND = [
    ("openai", sse((None, OPENAI_OVERLOADED)), StreamError, 503),
    ("openai", sse(("error", OPENAI_OVERLOADED)), StreamError, 503),
    ("openai", sse((None, OPENAI_SERVER)), StreamError, 500),
    ("openai", sse((None, OPENAI_RATE_LIMIT)), RateLimitError, None),
    ("openai", sse((None, VLLM_ERROR), (None, "[DONE]")), StreamError, 500),
    ("openai", sse((None, {"error": VLLM_ERROR}), (None, "[DONE]")), StreamError, 500),
    ("openai", sse((None, VLLM_BAD), (None, "[DONE]")), StreamError, 400),
    ("anthropic", sse(ANTHROPIC_START, ("error", ANTHROPIC_OVERLOADED)), StreamError, 529),
    ("anthropic", sse(ANTHROPIC_START, ("error", ANTHROPIC_RATE)), RateLimitError, None),
    ("anthropic", sse(ANTHROPIC_START, ("error", ANTHROPIC_AUTH)), AuthError, None),
    ("ollama", b'{"error":"an error was encountered while running the model"}\n', StreamError,
     500),
]


@pytest.mark.parametrize(("provider", "body", "cls", "status"), INBAND)
def test_inband_error_maps_like_its_http_twin(provider: str, body: bytes,
                                              cls: type[LlmxError], status: int | None) -> None:
    error = failure(provider, body)
    assert type(error) is cls
    assert getattr(error, "status", None) == status
    assert "\n" not in error.message


@pytest.mark.parametrize(("provider", "body", "retryable"), [
    ("openai", sse((None, OPENAI_OVERLOADED)), True),
    ("openai", sse((None, OPENAI_RATE_LIMIT)), True),
    ("openai", sse((None, VLLM_ERROR), (None, "[DONE]")), True),
    ("openai", sse((None, VLLM_BAD), (None, "[DONE]")), False),
    ("anthropic", sse(ANTHROPIC_START, ("error", ANTHROPIC_OVERLOADED)), True),
    ("anthropic", sse(ANTHROPIC_START, ("error", ANTHROPIC_AUTH)), False),
    ("ollama", b'{"error":"an error was encountered while running the model"}\n', True),
])
def test_overload_and_rate_limit_are_retryable_others_not(provider: str, body: bytes,
                                                          retryable: bool) -> None:
    assert should_retry_error(failure(provider, body)) is retryable


def test_vllm_error_after_text_then_done_raises_instead_of_ending_normally() -> None:
    body = sse(text_chunk("partial "), text_chunk("answer"), (None, VLLM_ERROR), (None, "[DONE]"))
    decoder = codec_for("openai").stream_decoder()
    with pytest.raises(StreamError, match="CUDA out of memory"):
        decoder.feed(body)


def test_openai_error_then_done_raises_even_split_bytewise() -> None:
    body = sse(text_chunk("partial"), (None, OPENAI_SERVER), (None, "[DONE]"))
    assert isinstance(failure("openai", body), StreamError)


def test_whole_body_error_objects_are_provider_errors_with_status() -> None:
    body = json.dumps(VLLM_ERROR).encode()
    with pytest.raises(ProviderError) as info:
        codec_for("openai").parse_response(body)
    assert info.value.status == 500 and not isinstance(info.value, StreamError)


# --- finish reasons -----------------------------------------------------------------------

def openai_body(message: dict[str, Any] | None, finish: str | None = "stop") -> bytes:
    choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": finish}
    if message is not None:
        choice["message"] = {"role": "assistant", **message}
    return json.dumps({"id": "c", "object": "chat.completion", "model": "m",
                       "choices": [choice], "usage": {"prompt_tokens": 1,
                                                      "completion_tokens": 1}}).encode()


TOOL_CALL = {"id": "call_1", "type": "function",
             "function": {"name": "multiply", "arguments": "{\"a\":2}"}}


@pytest.mark.parametrize(("body", "text", "finish"), [
    (openai_body({"content": None, "tool_calls": [TOOL_CALL]}, "tool_calls"), "", "tool_calls"),
    (openai_body({"content": None, "tool_calls": [TOOL_CALL]}, "stop"), "", "tool_calls"),
    (openai_body({"content": None, "refusal": "I can't help."}), "", "refusal"),
    (openai_body({"content": "par", "refusal": None}, "content_filter"), "par", "content_filter"),
    (openai_body(None), "", None),
    (openai_body({"content": "fine", "refusal": None}), "fine", "stop"),
], ids=["tool_calls", "tool_calls-said-stop", "refusal", "content_filter", "no-message", "stop"])
def test_openai_whole_reply_finish_reason(body: bytes, text: str, finish: str | None) -> None:
    chunk = codec_for("openai").parse_response(body)
    assert (chunk.text, chunk.finish_reason) == (text, finish)
    assert chunk.refusal == ("I can't help." if finish == "refusal" else "")


def openai_stream(*deltas: dict[str, Any], finish: str | None) -> bytes:
    events = [(None, {"model": "m", "choices": [{"index": 0, "delta": d}]}) for d in deltas]
    last = {"model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
    return sse(*events, (None, last), (None, "[DONE]"))


@pytest.mark.parametrize(("body", "text", "finish"), [
    (openai_stream({"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
                   finish="stop"), "", "tool_calls"),
    (openai_stream({"role": "assistant", "content": "", "refusal": ""}, {"refusal": "I can't"},
                   {"refusal": " do that."}, finish="stop"), "", "refusal"),
    (openai_stream({"content": "half"}, finish="content_filter"), "half", "content_filter"),
    (sse((None, {"model": "m", "choices": [{"index": 0}]}), (None, "[DONE]")), "", None),
], ids=["tool_calls-said-stop", "refusal", "content_filter", "no-delta"])
def test_openai_stream_finish_reason(body: bytes, text: str, finish: str | None) -> None:
    chunks = decode("openai", body)
    assert "".join(c.text for c in chunks) == text
    assert [c.finish_reason for c in chunks if c.finish_reason] == ([finish] if finish else [])
    refused = "".join(c.refusal for c in chunks)
    assert refused == ("I can't do that." if finish == "refusal" else "")


def anthropic_body(blocks: list[dict[str, Any]], stop: str) -> bytes:
    return json.dumps({"type": "message", "model": "c", "content": blocks, "stop_reason": stop,
                       "usage": {"input_tokens": 1, "output_tokens": 1}}).encode()


TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}


@pytest.mark.parametrize(("body", "text", "finish"), [
    (anthropic_body([TOOL_USE], "tool_use"), "", "tool_calls"),
    (anthropic_body([{"type": "text", "text": "Let me check."}, TOOL_USE], "tool_use"),
     "Let me check.", "tool_calls"),
    (anthropic_body([{"type": "text", "text": "I"}], "refusal"), "", "refusal"),
    (anthropic_body([{"type": "text", "text": "done"}], "end_turn"), "done", "stop"),
    (anthropic_body([{"type": "text", "text": "do"}], "max_tokens"), "do", "length"),
    (anthropic_body([{"type": "text", "text": "so"}], "stop_sequence"), "so", "stop"),
    (anthropic_body([{"type": "text", "text": "wa"}], "pause_turn"), "wa", "pause_turn"),
])
def test_anthropic_whole_reply_finish_reason(body: bytes, text: str, finish: str) -> None:
    chunk = codec_for("anthropic").parse_response(body)
    assert (chunk.text, chunk.finish_reason) == (text, finish)


def test_anthropic_stream_refusal_reports_refusal() -> None:
    delta = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "I"}}
    stop = {"type": "message_delta", "delta": {"stop_reason": "refusal"},
            "usage": {"output_tokens": 1}}
    body = sse(ANTHROPIC_START, ("content_block_delta", delta), ("message_delta", stop),
               ("message_stop", {"type": "message_stop"}))
    chunks = decode("anthropic", body)
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["refusal"]


def ollama_line(**fields: Any) -> bytes:
    return json.dumps({"model": "llama3.1", "created_at": "2025-01-01T00:00:00.1Z",
                       **fields}).encode() + b"\n"


OLLAMA_TOOL = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
OLLAMA_DONE = {"done": True, "prompt_eval_count": 3, "eval_count": 2}


def test_ollama_stream_tool_call_reports_tool_calls_though_wire_says_stop() -> None:
    body = (ollama_line(message={"role": "assistant", "content": "", "tool_calls": [OLLAMA_TOOL]},
                        done=False)
            + ollama_line(message={"role": "assistant", "content": ""}, done_reason="stop",
                          **OLLAMA_DONE))
    chunks = decode("ollama", body)
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["tool_calls"]


@pytest.mark.parametrize(("message", "reason", "finish"), [
    ({"role": "assistant", "content": "", "tool_calls": [OLLAMA_TOOL]}, "stop", "tool_calls"),
    ({"role": "assistant", "content": "hi"}, "length", "length"),
])
def test_ollama_whole_reply_finish_reason(message: dict[str, Any], reason: str,
                                          finish: str) -> None:
    body = ollama_line(message=message, done_reason=reason, **OLLAMA_DONE)
    assert codec_for("ollama").parse_response(body).finish_reason == finish
    assert [c.finish_reason for c in decode("ollama", body)] == [finish]


@pytest.mark.parametrize(("name", "provider", "finish"), [
    ("openai_chat_stream_toolcalls", "openai", "tool_calls"),
    ("anthropic_messages_stream_tool_use", "anthropic", "tool_calls"),
    ("openai_chat_stream_usage", "openai", "stop"),
    ("anthropic_messages_stream_text", "anthropic", "stop"),
    ("ollama_chat_stream", "ollama", "stop"),
])
def test_recorded_streams_report_what_happened(shared_data: Path, name: str, provider: str,
                                               finish: str) -> None:
    body = (shared_data / "wire" / name / "response.body").read_bytes()
    chunks = feed_all(codec_for(provider).stream_decoder(), [body])
    assert [c.finish_reason for c in chunks if c.finish_reason] == [finish]
    if finish == "tool_calls":
        assert "".join(c.text for c in chunks) == ""


def test_recorded_tool_stream_with_stop_on_the_wire_still_reports_tool_calls(
        shared_data: Path) -> None:
    """A compatible server that says ``stop`` after a tool call (the recorded deltas)."""
    body = (shared_data / "wire" / "openai_chat_stream_toolcalls" / "response.body").read_bytes()
    relabelled = body.replace(b'"finish_reason":"tool_calls"', b'"finish_reason":"stop"')
    assert relabelled != body
    chunks = feed_all(codec_for("openai").stream_decoder(), [relabelled])
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["tool_calls"]
