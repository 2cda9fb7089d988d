"""Replays every recorded capture in ../shared/data/wire through its codec."""

from __future__ import annotations

import json

import pytest

from llmx.errors import AuthError, ProviderError, RateLimitError
from llmx.providers import ollama, openai
from llmx.providers.registry import codec_for
from llmx.types import Chunk
from tests.providers.capture_kit import (
    MISSING_REASON,
    Capture,
    Outcome,
    anthropic_finish,
    anthropic_input_tokens,
    bytewise,
    expected_stream,
    feed_all,
    load_captures,
    provider_error_message,
    summarize,
    trim_for_splits,
    two_piece_splits,
    with_line_ends,
)


def replay(capture: Capture, pieces: list[bytes]) -> Outcome:
    decoder = codec_for(capture.provider).stream_decoder()
    return summarize(feed_all(decoder, pieces))


def separator(capture: Capture) -> bytes:
    return b"\n" if capture.content_type == "application/x-ndjson" else b"\n\n"


# --- streams -------------------------------------------------------------------


def test_every_capture_is_routed_to_a_codec() -> None:
    captures = load_captures()
    if not captures:
        pytest.skip(MISSING_REASON)
    assert {c.kind for c in captures} >= {"stream", "chat", "error", "embeddings"}
    for capture in captures:
        assert codec_for(capture.provider).name == capture.provider


def test_stream_whole_matches_independent_reading(stream_capture: Capture) -> None:
    expected = expected_stream(stream_capture.provider, stream_capture.body)
    assert replay(stream_capture, [stream_capture.body]) == expected
    assert expected.finish_reason is not None
    assert expected.usage is not None and expected.usage[1] > 0


def test_stream_fed_one_byte_at_a_time(stream_capture: Capture) -> None:
    expected = expected_stream(stream_capture.provider, stream_capture.body)
    assert replay(stream_capture, bytewise(stream_capture.body)) == expected


def test_stream_split_at_every_offset(stream_capture: Capture) -> None:
    body = trim_for_splits(stream_capture.body, separator(stream_capture))
    expected = expected_stream(stream_capture.provider, body)
    assert replay(stream_capture, [body]) == expected
    for offset, pieces in two_piece_splits(body):
        assert replay(stream_capture, pieces) == expected, f"split at byte {offset}"


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"], ids=["crlf", "cr"])
def test_sse_stream_with_other_line_ends(sse_capture: Capture, line_end: bytes) -> None:
    expected = expected_stream(sse_capture.provider, sse_capture.body)
    body = with_line_ends(sse_capture.body, line_end)
    assert replay(sse_capture, [body]) == expected
    assert replay(sse_capture, bytewise(body)) == expected
    short = with_line_ends(trim_for_splits(sse_capture.body, b"\n\n")[:1500], line_end)
    reference = replay_prefix(sse_capture, [short])
    for offset, pieces in two_piece_splits(short):
        assert replay_prefix(sse_capture, pieces) == reference, f"split at byte {offset}"


def replay_prefix(capture: Capture, pieces: list[bytes]) -> list[Chunk]:
    """The chunks of a (possibly cut) stream, without calling close()."""
    decoder = codec_for(capture.provider).stream_decoder()
    return [chunk for piece in pieces for chunk in decoder.feed(piece)]


def test_stream_text_is_human_plausible(stream_capture: Capture) -> None:
    outcome = replay(stream_capture, [stream_capture.body])
    if stream_capture.name == "openai_chat_stream_usage":
        assert outcome.text == "1, 2, 3, 4, 5"
    if stream_capture.name == "anthropic_messages_stream_text":
        assert outcome.text == "Hello"
    if "tool" in stream_capture.name:
        assert outcome.text == ""
        assert outcome.finish_reason == "tool_calls"


# --- whole JSON bodies -------------------------------------------------------------


def test_chat_response_parses(chat_capture: Capture) -> None:
    chunk = codec_for(chat_capture.provider).parse_response(chat_capture.body)
    data = json.loads(chat_capture.body)
    if chat_capture.provider == "openai":
        text = data["choices"][0]["message"]["content"]
        usage = (data["usage"]["prompt_tokens"], data["usage"]["completion_tokens"])
        finish = data["choices"][0]["finish_reason"]
    elif chat_capture.provider == "anthropic":
        text = "".join(b["text"] for b in data["content"] if b["type"] == "text")
        usage = (anthropic_input_tokens(data["usage"]), data["usage"]["output_tokens"])
        finish = anthropic_finish(data["stop_reason"])
    else:
        text = data["message"]["content"]
        usage = (data["prompt_eval_count"], data["eval_count"])
        finish = data["done_reason"]
    assert chunk.text == text and text
    assert chunk.usage is not None
    assert (chunk.usage.input_tokens, chunk.usage.output_tokens) == usage
    assert chunk.finish_reason == finish
    assert chunk.model == data["model"]


def test_embeddings_response_parses(embeddings_capture: Capture) -> None:
    data = json.loads(embeddings_capture.body)
    if embeddings_capture.provider == "openai":
        vectors = openai.parse_embeddings(embeddings_capture.body)
        expected = [item["embedding"] for item in data["data"]]
    else:
        vectors = ollama.parse_embeddings(embeddings_capture.body)
        expected = data["embeddings"]
    assert vectors == expected
    assert len(vectors) >= 1 and len(vectors[0]) > 100
    assert all(isinstance(x, float) for x in vectors[0])


def test_batch_output_lines_parse_with_openai_codec() -> None:
    capture = {c.name: c for c in load_captures()}.get("openai_batch_output_jsonl")
    if capture is None:
        pytest.skip(MISSING_REASON)
    lines = [json.loads(line) for line in capture.body.splitlines() if line.strip()]
    assert len(lines) >= 2
    codec = codec_for("openai")
    for line in lines:
        body = line["response"]["body"]
        chunk = codec.parse_response(json.dumps(body).encode())
        assert chunk.text == body["choices"][0]["message"]["content"]
        assert chunk.usage is not None
        assert chunk.usage.output_tokens == body["usage"]["completion_tokens"]
        assert chunk.finish_reason == body["choices"][0]["finish_reason"]


# --- errors ------------------------------------------------------------------------


def expected_class(status: int) -> type[Exception]:
    if status in (401, 403):
        return AuthError
    if status == 429:
        return RateLimitError
    return ProviderError


def test_error_capture_maps_to_error_tree(error_capture: Capture) -> None:
    status = error_capture.status
    assert status is not None
    codec = codec_for(error_capture.provider)
    error = codec.parse_error(status, error_capture.headers, error_capture.body)
    assert type(error) is expected_class(status)
    if isinstance(error, ProviderError):
        assert error.status == status
    if isinstance(error, RateLimitError):
        assert error.retry_after is None
    message = str(error)
    assert message.startswith(f"{error_capture.provider} {status}: ")
    assert " ".join(provider_error_message(error_capture.body).split()) in message
    assert "\n" not in message and "\r" not in message
