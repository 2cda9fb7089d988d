"""Reasoning and real servers' quirks through the codecs, against the crafted captures in
``tests/providers/captures`` (see its README) and the recorded ones in ``../shared/data/wire``:
reasoning text never mixed into the answer, usage wherever a server puts it, cached and
reasoning token counts, a choice with no message, Ollama's ``done_reason: "load"``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmx.errors import StreamError
from llmx.providers.registry import codec_for
from llmx.types import Chunk, Message, Request, Usage
from tests.providers.capture_kit import MISSING_REASON, bytewise, feed_all, wire_dir

CAPTURES = Path(__file__).parent / "captures"
BASE = Request("m", (Message("user", "9.11 or 9.8?"),))


def body(name: str) -> bytes:
    return (CAPTURES / name).read_bytes()


def streamed(provider: str, name: str) -> list[Chunk]:
    """The capture's chunks, fed whole; the same chunks fed one byte at a time."""
    data = body(name)
    whole = feed_all(codec_for(provider).stream_decoder(), [data])
    assert summary(feed_all(codec_for(provider).stream_decoder(), bytewise(data))) \
        == summary(whole)
    return whole


def summary(chunks: list[Chunk]) -> tuple[str, str, Usage | None, str | None]:
    usage = [c.usage for c in chunks if c.usage is not None]
    finish = [c.finish_reason for c in chunks if c.finish_reason]
    return ("".join(c.text for c in chunks), "".join(c.reasoning for c in chunks),
            usage[-1] if usage else None, finish[-1] if finish else None)


def sent(provider: str, request: Request) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(codec_for(provider).build(request, None).body)
    return out


# --- reasoning in replies ------------------------------------------------------------------

@pytest.mark.parametrize(("name", "text", "reasoning", "usage"), [
    ("deepseek_reasoning_content.sse", "9.8 is greater.", "Compare 9.11 and 9.8.",
     Usage(12, 40, reasoning_tokens=33)),
    ("openrouter_reasoning.sse", "Blue.", "Thinking about the sky.",
     Usage(9, 20, reasoning_tokens=18)),
])
def test_openai_compatible_reasoning_deltas_go_to_reasoning_only(
        name: str, text: str, reasoning: str, usage: Usage) -> None:
    assert summary(streamed("openai", name)) == (text, reasoning, usage, "stop")


def test_openai_compatible_whole_reply_reasoning_content() -> None:
    chunk = codec_for("openai").parse_response(body("vllm_reasoning_whole.json"))
    assert (chunk.text, chunk.reasoning) == ("9.8 is greater.", "9.8 is 9.80, which beats 9.11.")


def test_anthropic_thinking_stream_skips_signatures_and_counts_cache_tokens() -> None:
    text, reasoning, usage, finish = summary(streamed("anthropic", "anthropic_thinking.sse"))
    assert (text, reasoning, finish) == ("4", "Let me add 2 and 2.", "stop")
    assert usage == Usage(2110, 25, cache_read_tokens=2000, cache_write_tokens=100)


def test_anthropic_whole_thinking_and_redacted_blocks() -> None:
    chunk = codec_for("anthropic").parse_response(body("anthropic_thinking_whole.json"))
    assert (chunk.text, chunk.reasoning) == ("42", "The user wants a number.")
    assert chunk.usage == Usage(2020, 60, cache_read_tokens=1500, cache_write_tokens=500)


def test_ollama_thinking_lines_go_to_reasoning_only() -> None:
    assert summary(streamed("ollama", "ollama_thinking.ndjson")) == (
        "Three.", "Count the rs: three.", Usage(11, 9), "stop")


def test_ollama_whole_reply_thinking() -> None:
    reply = {"model": "qwen3", "message": {"role": "assistant", "content": "Three.",
                                          "thinking": "Count them."},
             "done": True, "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 4}
    chunk = codec_for("ollama").parse_response(json.dumps(reply).encode())
    assert (chunk.text, chunk.reasoning, chunk.finish_reason) == ("Three.", "Count them.", "stop")


# --- reasoning in requests -----------------------------------------------------------------

@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_openai_sends_reasoning_effort(effort: str) -> None:
    assert sent("openai", BASE._replace(reasoning_effort=effort))["reasoning_effort"] == effort
    assert "reasoning_effort" not in sent("openai", BASE)


@pytest.mark.parametrize(("effort", "budget"), [("low", 1024), ("medium", 4096),
                                                ("high", 16384)])
@pytest.mark.parametrize("max_tokens", [None, 100, 50_000])
def test_anthropic_thinking_budget_stays_below_max_tokens(effort: str, budget: int,
                                                          max_tokens: int | None) -> None:
    wire = sent("anthropic", BASE._replace(reasoning_effort=effort, max_tokens=max_tokens,
                                           temperature=0.2))
    assert wire["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert wire["max_tokens"] == budget + (1024 if max_tokens is None else max_tokens)
    assert wire["max_tokens"] > budget
    assert "temperature" not in wire  # the API refuses a temperature with thinking


def test_anthropic_without_effort_sends_no_thinking() -> None:
    wire = sent("anthropic", BASE._replace(max_tokens=100, temperature=0.2))
    assert "thinking" not in wire and wire["max_tokens"] == 100 and wire["temperature"] == 0.2


@pytest.mark.parametrize(("model", "effort", "think"), [
    ("qwen3", "high", True), ("deepseek-r1:8b", "low", True), ("gpt-oss:20b", "low", "low"),
    ("library/gpt-oss:120b", "high", "high"),
])
def test_ollama_think(model: str, effort: str, think: Any) -> None:
    assert sent("ollama", BASE._replace(model=model, reasoning_effort=effort))["think"] == think
    assert "think" not in sent("ollama", BASE)


# --- quirks --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "usage"), [
    ("vllm_usage_every_chunk.sse", Usage(7, 3)),
    ("llamacpp_usage_last_chunk.sse", Usage(5, 2)),
])
def test_usage_wherever_the_server_puts_it(name: str, usage: Usage) -> None:
    chunks = streamed("openai", name)
    text, _, last, finish = summary(chunks)
    assert (last, finish) == (usage, "stop") and text in ("Hello there", "Hi")


def test_recorded_usage_chunk_has_empty_choices() -> None:
    wire = wire_dir()
    if wire is None:
        pytest.skip(MISSING_REASON)
    data = (wire / "openai_chat_stream_usage" / "response.body").read_bytes()
    assert b'"choices":[]' in data
    usage = summary(feed_all(codec_for("openai").stream_decoder(), [data]))[2]
    assert usage is not None and usage.input_tokens > 0 and usage.output_tokens > 0


def test_gemini_choice_without_message_is_an_empty_unfinished_answer() -> None:
    chunk = codec_for("openai").parse_response(body("gemini_choice_no_message.json"))
    assert (chunk.text, chunk.finish_reason, chunk.usage) == ("", None, Usage(6, 0))


def test_gemini_stream_choice_without_delta_still_finishes() -> None:
    assert summary(streamed("openai", "gemini_stream_no_delta.sse")) == (
        "Paris", "", Usage(6, 1), "stop")


def test_openai_cached_tokens_are_counted() -> None:
    chunk = codec_for("openai").parse_response(body("openai_cached_tokens.json"))
    assert chunk.usage == Usage(2006, 300, cache_read_tokens=1920)


def test_ollama_load_line_is_not_the_end_of_the_answer() -> None:
    chunks = streamed("ollama", "ollama_load_then_answer.ndjson")
    assert summary(chunks) == ("Hello!", "", Usage(4, 2), "stop")
    assert all(c.finish_reason != "load" for c in chunks)


def test_ollama_stream_of_only_a_load_ended_early() -> None:
    with pytest.raises(StreamError, match="ended early"):
        feed_all(codec_for("ollama").stream_decoder(), [body("ollama_load_only.json")])


def test_ollama_whole_load_reply_is_an_error() -> None:
    with pytest.raises(StreamError, match="done_reason: load"):
        codec_for("ollama").parse_response(body("ollama_load_only.json"))
