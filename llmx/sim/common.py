"""Values shared by the simulator's wire dialects and its server (pure)."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from llmx.sim.text import answer_pieces, count_all, seed_of

Headers = tuple[tuple[bytes, bytes], ...]

ErrorKind = Literal[
    "invalid_request", "auth", "not_found", "rate_limit", "server", "overloaded", "too_large"
]


class SimError(Exception):
    """An error response the simulator sends, rendered in each provider's shape."""

    def __init__(self, status: int, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind: ErrorKind = kind
        self.message = message


def bad_request(message: str) -> SimError:
    return SimError(400, "invalid_request", message)


class Fault(enum.Enum):
    NONE = "none"
    RATE_LIMIT = "rate_limit"
    FAIL_500 = "fail_500"
    FAIL_503 = "fail_503"
    CUT = "cut"
    STALL = "stall"  # before the status line
    STALL_MID = "stall_mid"  # after part of the body


@dataclass(frozen=True, slots=True)
class ChatCall:
    """What a chat request asks for, whatever its dialect."""

    model: str
    texts: tuple[str, ...]  # system prompt and every message's text, in order
    last_user: str
    max_tokens: int | None
    stream: bool
    include_usage: bool = False
    tools: tuple[tuple[str, str], ...] = ()  # (name, parameters JSON) of each callable tool
    tool_choice: str | None = None  # None/"auto", "required", "none" or a tool's name
    schema: str | None = None  # the JSON Schema (JSON text) a structured answer follows
    reasoning: str | None = None  # the reasoning asked for: an effort level, "on", or None


@dataclass(frozen=True, slots=True)
class EmbedCall:
    model: str
    inputs: tuple[str, ...]
    dims: int | None
    base64: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    pieces: tuple[str, ...]
    truncated: bool
    input_tokens: int
    tool_call: tuple[str, str] | None = None  # (id suffix, name): pieces are its arguments
    reasoning: tuple[str, ...] = ()  # reasoning pieces, sent before the answer's

    @property
    def output_tokens(self) -> int:
        """Every answer token, reasoning included (as providers count them)."""
        return len(self.pieces) + len(self.reasoning)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True, slots=True)
class Meta:
    """Per-response identity: an id and the wall-clock creation time."""

    id: str
    created: float


@dataclass(frozen=True, slots=True)
class Durations:
    """Seconds spent before the first token and generating the rest."""

    prompt: float
    generate: float


@dataclass(frozen=True, slots=True)
class StreamBody:
    """A streamed body: ``head`` goes with the headers, ``frames`` renders a
    batch of pieces (given the wall-clock time), ``tail`` closes the stream."""

    content_type: bytes
    head: bytes
    frames: Callable[[Sequence[str], float], bytes]
    tail: Callable[[Durations, float], bytes]


REASONING_TOKENS = {"low": 8, "medium": 16, "high": 32}  # reasoning pieces by effort
REASONING_MARK = "reason"  # a model whose name holds this reasons without being asked


def reasoning_level(call: ChatCall) -> str | None:
    """How much the answer to ``call`` reasons: the level asked for (``"on"`` is medium),
    ``medium`` for a model named like a reasoning model, None for no reasoning."""
    if call.reasoning is not None:
        return call.reasoning if call.reasoning in REASONING_TOKENS else "medium"
    return "medium" if REASONING_MARK in call.model.lower() else None


def make_answer(call: ChatCall, default_length: int) -> Answer:
    """The deterministic answer to ``call``: same model and texts, same answer (a tool call
    or a structured answer when the call asks for one: ``llmx.sim.structured``). A plain
    answer reasons first (``Answer.reasoning``) when ``reasoning_level`` says so."""
    if call.schema is not None or (call.tools and call.tool_choice != "none"):
        from llmx.sim.structured import structured_answer

        return structured_answer(call)
    limit = call.max_tokens
    truncated = limit is not None and limit < default_length
    pieces = answer_pieces(seed_of(call.model, *call.texts), default_length, limit)
    level = reasoning_level(call)
    thinking = () if level is None else tuple(
        answer_pieces(seed_of("reasoning", call.model, *call.texts), REASONING_TOKENS[level]))
    return Answer(tuple(pieces), truncated, count_all(call.texts), reasoning=thinking)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def jstr(text: str) -> str:
    """``text`` as a JSON string literal."""
    return json.dumps(text, ensure_ascii=False)


def require_model(obj: dict[str, Any], message: str) -> str:
    model = obj.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request(message)
    return model


def optional_int(obj: dict[str, Any], *names: str) -> int | None:
    """The first of ``names`` present in ``obj`` as a positive int, or None."""
    for name in names:
        value = obj.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_request(f"{name} must be a positive integer")
        return value
    return None


PartReader = Callable[[dict[str, Any]], "str | None"]  # a dialect's image part -> its marker
MessageImages = Callable[[dict[str, Any]], "list[str]"]  # a message's own image list (Ollama)


def content_text(content: Any, image: PartReader | None = None) -> str:
    """The text of a message's content: a string or a list of text parts; with ``image``
    (``llmx.sim.images``), each image part the dialect knows adds its marker line."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif image is not None and (found := image(part)) is not None:
                parts.append(found)
        return "\n".join(parts)
    if content is None:
        return ""
    raise bad_request("message content must be a string or a list of parts")


def message_texts(messages: Any, image: PartReader | None = None,
                  images: MessageImages | None = None) -> tuple[tuple[str, ...], str]:
    """(every message's text, the last user message's text); ``image`` reads image parts,
    ``images`` a message's separate image list (their markers follow its text)."""
    if not isinstance(messages, list):
        raise bad_request("messages must be a list")
    texts: list[str] = []
    last_user = ""
    for message in messages:
        if not isinstance(message, dict):
            raise bad_request("each message must be an object")
        text = content_text(message.get("content"), image)
        if images is not None:
            text = "\n".join([text, *images(message)]) if message.get("images") else text
        texts.append(text)
        if message.get("role") == "user":
            last_user = text
    return tuple(texts), last_user


def embed_inputs(value: Any) -> tuple[str, ...]:
    """Embedding inputs: a string, a list of strings, or token-id arrays."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return tuple(value)
        if all(isinstance(v, int) for v in value):
            return (" ".join(map(str, value)),)
        if all(isinstance(v, list) for v in value):
            return tuple(" ".join(map(str, v)) for v in value)
    raise bad_request("input must be a string, a list of strings or token arrays")
