"""Codec stream decoders on synthetic streams: multibyte text, errors, early ends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmx.errors import StreamError
from llmx.providers.registry import codec_for
from llmx.types import Chunk
from tests.providers.capture_kit import Outcome, bytewise, feed_all, summarize, two_piece_splits

DELTAS = ["Grüße", " — ", "日本語", " 🎉", "\n\nok"]


def sse(*events: tuple[str | None, Any]) -> bytes:
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        out.append(f"{head}data: {payload}\n\n")
    return "".join(out).encode()


def openai_stream(usage_in_last_choice: bool = False) -> bytes:
    usage = {"prompt_tokens": 7, "completion_tokens": 5}
    events: list[tuple[str | None, Any]] = [
        (None, {"model": "m", "choices": [{"index": 0, "delta": {"content": d}}], "usage": None})
        for d in DELTAS
    ]
    final = {"index": 0, "delta": {}, "finish_reason": "stop"}
    if usage_in_last_choice:
        events.append((None, {"model": "m", "choices": [final], "usage": usage, "x_extra": 1}))
    else:
        events.append((None, {"model": "m", "choices": [final]}))
        events.append((None, {"model": "m", "choices": [], "usage": usage}))
    return b": comment\n\n" + sse(*events, (None, "[DONE]"))


def anthropic_stream() -> bytes:
    start = {"type": "message_start", "message": {"model": "c", "usage": {"input_tokens": 7}}}
    deltas = [
        (
            "content_block_delta",
            {"type": "content_block_delta", "delta": {"type": "text_delta", "text": d}},
        )
        for d in DELTAS
    ]
    ping = ("ping", {"type": "ping"})
    stop = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 5},
    }
    return sse(
        ("message_start", start),
        ping,
        *deltas,
        ping,
        ("message_delta", stop),
        ("message_stop", {"type": "message_stop"}),
    )


def ollama_stream() -> bytes:
    lines = [
        {"model": "o", "message": {"role": "assistant", "content": d}, "done": False}
        for d in DELTAS
    ]
    lines.append(
        {
            "model": "o",
            "message": {"content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 7,
            "eval_count": 5,
        }
    )
    return b"".join(json.dumps(x, ensure_ascii=False).encode() + b"\n" for x in lines)


def decode(provider: str, pieces: list[bytes]) -> list[Chunk]:
    return feed_all(codec_for(provider).stream_decoder(), pieces)


STREAMS = {
    "openai": openai_stream(),
    "openai-usage-with-choices": openai_stream(usage_in_last_choice=True),
    "anthropic": anthropic_stream(),
    "ollama": ollama_stream(),
}
EXPECTED_FINISH = {"anthropic": "stop"}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_multibyte_stream_survives_every_split(name: str) -> None:
    provider, body = name.split("-")[0], STREAMS[name]
    expected = Outcome("".join(DELTAS), (7, 5), EXPECTED_FINISH.get(provider, "stop"))
    assert summarize(decode(provider, [body])) == expected
    assert summarize(decode(provider, bytewise(body))) == expected
    for offset, pieces in two_piece_splits(body):
        assert summarize(decode(provider, pieces)) == expected, f"split at byte {offset}"


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_chunks_carry_the_model(name: str) -> None:
    provider = name.split("-")[0]
    chunks = decode(provider, [STREAMS[name]])
    assert {c.model for c in chunks} == {{"openai": "m", "anthropic": "c"}.get(provider, "o")}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_stream_cut_short_raises(name: str) -> None:
    provider, body = name.split("-")[0], STREAMS[name]
    cut = body[: len(body) // 2]
    with pytest.raises(StreamError, match="ended early"):
        decode(provider, [cut])


def test_openai_finish_reason_without_done_is_a_complete_stream() -> None:
    body = openai_stream()
    outcome = summarize(decode("openai", [body[: body.index(b"data: [DONE]")]]))
    assert outcome.text == "".join(DELTAS) and outcome.finish_reason == "stop"


def test_openai_events_after_done_are_ignored() -> None:
    body = openai_stream() + sse((None, {"choices": [{"delta": {"content": "late"}}]}))
    assert "late" not in summarize(decode("openai", [body])).text


def test_openai_tool_call_deltas_yield_no_text() -> None:
    tool = {"choices": [{"delta": {"content": None, "tool_calls": [{"index": 0}]}}]}
    end = {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}
    outcome = summarize(decode("openai", [sse((None, tool), (None, end), (None, "[DONE]"))]))
    assert outcome == Outcome("", None, "tool_calls")


def test_openai_null_usage_everywhere_is_fine() -> None:
    body = sse(
        (None, {"choices": [{"delta": {"content": "a"}, "finish_reason": "stop"}], "usage": None})
    )
    assert summarize(decode("openai", [body + b"data: [DONE]\n\n"])) == Outcome("a", None, "stop")


@pytest.mark.parametrize(
    "tail",
    [
        sse(("error", {"error": {"message": "Overloaded now", "type": "server_error"}})),
        sse((None, {"error": {"message": "Overloaded now", "code": 502}, "choices": []})),
        sse(("error", "Overloaded now")),
    ],
    ids=["event-error", "data-error-object", "event-error-plain-text"],
)
def test_openai_error_inside_stream(tail: bytes) -> None:
    head = sse((None, {"choices": [{"delta": {"content": "par"}}]}))
    decoder = codec_for("openai").stream_decoder()
    assert [c.text for c in decoder.feed(head)] == ["par"]
    with pytest.raises(StreamError, match="Overloaded now") as info:
        decoder.feed(tail)
    assert "\n" not in str(info.value)


def test_anthropic_error_event() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    body = anthropic_stream().split(b"event: message_delta")[0] + sse(("error", error))
    with pytest.raises(StreamError, match="Overloaded"):
        decode("anthropic", [body])


def test_anthropic_ignores_non_text_deltas_and_unknown_events() -> None:
    extra = sse(
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "delta": {"type": "input_json_delta", "partial_json": "{"},
            },
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "delta": {"type": "thinking_delta", "thinking": "hm"}},
        ),
        ("brand_new_event", {"type": "brand_new_event"}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "delta": {"type": "future_delta", "text": "no"}},
        ),
    )
    body = anthropic_stream()
    at = body.index(b"event: message_delta")
    outcome = summarize(decode("anthropic", [body[:at] + extra + body[at:]]))
    assert outcome.text == "".join(DELTAS)


def test_anthropic_usage_repeated_in_message_delta() -> None:
    start = {
        "type": "message_start",
        "message": {
            "model": "c",
            "usage": {"input_tokens": 3, "cache_read_input_tokens": 4, "output_tokens": 1},
        },
    }
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "max_tokens"},
        "usage": {"input_tokens": 3, "output_tokens": 9},
    }
    body = sse(
        ("message_start", start),
        ("message_delta", delta),
        ("message_stop", {"type": "message_stop"}),
    )
    assert summarize(decode("anthropic", [body])) == Outcome("", (7, 9), "length")


def test_ollama_error_line_mid_stream() -> None:
    body = ollama_stream().split(b"\n")[0] + b'\n{"error":"model runner crashed\\nbadly"}\n'
    with pytest.raises(StreamError, match="model runner crashed badly"):
        decode("ollama", [body])


def test_ollama_invalid_json_line() -> None:
    with pytest.raises(StreamError):
        decode("ollama", [b"not json\n"])


def test_ollama_error_as_unterminated_last_line_keeps_its_message() -> None:
    body = ollama_stream().split(b"\n")[0] + b'\n{"error":"out of memory"}'
    with pytest.raises(StreamError, match="out of memory"):
        decode("ollama", [body])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_sse_error_event_without_trailing_blank_line(provider: str) -> None:
    head = sse((None, {"choices": []})) if provider == "openai" else b""
    body = head + b'event: error\ndata: {"error": {"message": "boom"}}'
    with pytest.raises(StreamError, match="boom"):
        decode(provider, [body])
