"""Test helpers for the provider codecs: recorded wire captures and simple readers.

The "expected" readers here are deliberately naive and non-incremental (read
the whole body, split lines, ``json.loads`` each payload) so that they give
values independent of the incremental decoders under test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmx.providers.base import StreamDecoder
from llmx.types import Chunk

REPO_ROOT = Path(__file__).resolve().parents[2]
MISSING_REASON = (
    "wire captures not found: ../shared/data/wire is absent (set LLMX_SHARED_DATA to run)"
)
# Bodies longer than this are trimmed (whole events/lines dropped from the middle)
# before the every-offset split test, to keep the suite fast. The full body is
# still fed whole and one byte at a time. LLMX_EXHAUSTIVE_SPLITS=1 disables trimming.
SPLIT_BUDGET = 6000
PREFIXES = (
    ("openai_", "openai"),
    ("openrouter_", "openai"),
    ("anthropic_", "anthropic"),
    ("ollama_", "ollama"),
)


@dataclass(frozen=True)
class Capture:
    name: str
    provider: str
    status: int | None
    headers: dict[str, str]
    body: bytes
    request: dict[str, Any]

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def kind(self) -> str:
        """stream | chat | embeddings | error | other."""
        if self.status is None:
            return "other"
        if self.status >= 400:
            return "error"
        if self.content_type in ("text/event-stream", "application/x-ndjson"):
            return "stream"
        return "embeddings" if "embed" in str(self.request.get("path")) else "chat"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Outcome:
    """What a stream amounted to: the comparable summary of its chunks."""

    text: str
    usage: tuple[int, int] | None
    finish_reason: str | None


def provider_for(name: str) -> str:
    for prefix, provider in PREFIXES:
        if name.startswith(prefix):
            return provider
    raise ValueError(f"no codec for capture {name!r}")


def wire_dir() -> Path | None:
    """``$LLMX_SHARED_DATA/wire`` or ``<repo>/../shared/data/wire``; None when absent."""
    env = os.environ.get("LLMX_SHARED_DATA")
    for data in (Path(env) if env else None, REPO_ROOT.parent / "shared" / "data"):
        if data is not None and (data / "wire").is_dir():
            return data / "wire"
    return None


def load_captures() -> list[Capture]:
    found = wire_dir()
    if found is None:
        return []
    return [_load(path) for path in sorted(found.iterdir()) if (path / "response.body").exists()]


def _load(path: Path) -> Capture:
    response = json.loads((path / "response.json").read_text())
    headers = {str(k).lower(): str(v) for k, v in response.get("headers") or []}
    return Capture(
        name=path.name,
        provider=provider_for(path.name),
        status=response.get("status"),
        headers=headers,
        body=(path / "response.body").read_bytes(),
        request=json.loads((path / "request.json").read_text()),
    )


# --- feeding decoders ---------------------------------------------------------


def summarize(chunks: Sequence[Chunk]) -> Outcome:
    usage = [c.usage for c in chunks if c.usage is not None]
    finish = [c.finish_reason for c in chunks if c.finish_reason is not None]
    return Outcome(
        text="".join(c.text for c in chunks),
        usage=(usage[-1].input_tokens, usage[-1].output_tokens) if usage else None,
        finish_reason=finish[-1] if finish else None,
    )


def feed_all(decoder: StreamDecoder, pieces: Sequence[bytes]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for piece in pieces:
        chunks.extend(decoder.feed(piece))
    chunks.extend(decoder.close())
    return chunks


def two_piece_splits(body: bytes) -> Iterator[tuple[int, list[bytes]]]:
    for offset in range(len(body) + 1):
        yield offset, [body[:offset], body[offset:]]


def bytewise(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


def trim_for_splits(body: bytes, separator: bytes) -> bytes:
    """Keep whole units (events/lines) from both ends so the result fits SPLIT_BUDGET."""
    if os.environ.get("LLMX_EXHAUSTIVE_SPLITS") == "1" or len(body) <= SPLIT_BUDGET:
        return body
    units = body.split(separator)
    head: list[bytes] = []
    tail: list[bytes] = []
    while units and sum(map(len, head)) < SPLIT_BUDGET // 2:
        head.append(units.pop(0))
    while units and sum(map(len, tail)) < SPLIT_BUDGET // 2:
        tail.insert(0, units.pop())
    return separator.join(head + tail)


def with_line_ends(body: bytes, line_end: bytes) -> bytes:
    return body.replace(b"\n", line_end)


# --- naive, whole-body readers (the independent expectations) ----------------


def sse_payloads(body: bytes) -> list[tuple[str, str]]:
    """(event name, data) for each `data:` line, tracking the last `event:` line."""
    found: list[tuple[str, str]] = []
    name = "message"
    for line in body.decode("utf-8").splitlines():
        if line.startswith("event:"):
            name = line[len("event:") :].strip()
        elif line.startswith("data:"):
            found.append((name, line[len("data:") :].strip()))
        elif not line:
            name = "message"
    return found


def expected_openai_stream(body: bytes) -> Outcome:
    text, usage, finish = "", None, None
    for _, payload in sse_payloads(body):
        if payload == "[DONE]":
            break
        obj = json.loads(payload)
        if obj.get("usage"):
            usage = (obj["usage"]["prompt_tokens"], obj["usage"]["completion_tokens"])
        for choice in obj.get("choices", []):
            text += choice.get("delta", {}).get("content") or ""
            finish = choice.get("finish_reason") or finish
    return Outcome(text, usage, finish)


def anthropic_input_tokens(usage: dict[str, Any]) -> int:
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    return sum(int(usage.get(k) or 0) for k in keys)


ANTHROPIC_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                    "tool_use": "tool_calls"}  # llmx's names for Anthropic's stop reasons


def anthropic_finish(stop_reason: str | None) -> str | None:
    return None if stop_reason is None else ANTHROPIC_FINISH.get(stop_reason, stop_reason)


def expected_anthropic_stream(body: bytes) -> Outcome:
    text, usage_in, usage_out, finish = "", 0, 0, None
    for _, payload in sse_payloads(body):
        obj = json.loads(payload)
        if obj["type"] == "message_start":
            usage_in = anthropic_input_tokens(obj["message"]["usage"])
        elif obj["type"] == "content_block_delta" and obj["delta"]["type"] == "text_delta":
            text += obj["delta"]["text"]
        elif obj["type"] == "message_delta":
            usage_out = obj["usage"]["output_tokens"]
            finish = anthropic_finish(obj["delta"]["stop_reason"])
    return Outcome(text, (usage_in, usage_out), finish)


def expected_ollama_stream(body: bytes) -> Outcome:
    text, usage, finish = "", None, None
    for line in body.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        text += obj["message"]["content"]
        if obj.get("done"):
            usage = (obj["prompt_eval_count"], obj["eval_count"])
            finish = obj["done_reason"]
    return Outcome(text, usage, finish)


def expected_stream(provider: str, body: bytes) -> Outcome:
    readers = {
        "openai": expected_openai_stream,
        "anthropic": expected_anthropic_stream,
        "ollama": expected_ollama_stream,
    }
    return readers[provider](body)


def provider_error_message(body: bytes) -> str:
    """The provider's own message, read directly from the error JSON."""
    error = json.loads(body)["error"]
    return error if isinstance(error, str) else error["message"]
