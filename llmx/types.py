"""Frozen value types shared by every layer. Standard library only.

They are ``typing.NamedTuple``s, not dataclasses: this module is on the path of every
``llmx ask`` (a cache hit included), and a named tuple is ~8x cheaper to create at import.
What a caller may rely on: construction by position or keyword, attribute access,
``x._replace(field=value)`` for a changed copy, ``X._fields`` for the field names, equality
and hashing by value. (Like any tuple, an instance also equals a plain tuple of the same
values; nothing in llmx compares them so.)
"""

# No ``from __future__ import annotations`` here: a named tuple's string annotations are
# compiled when its class is made (the first compile of a process costs ~3 ms).

from typing import Literal, NamedTuple

from llmx.choices import HitTier

Role = Literal["system", "user", "assistant"]
CacheTier = Literal[False, HitTier]  # False: not from the cache


class Image(NamedTuple):
    """One attached image (``-a``), as read or fetched by :mod:`llmx.attach`.

    ``mime`` is sniffed from the bytes, one of ``"image/png"``, ``"image/jpeg"``,
    ``"image/gif"``, ``"image/webp"``; ``data`` is the file's bytes (never logged: logs keep
    ``name`` and the sha256 of ``data``); ``name`` is the path or URL as the user gave it.
    """

    mime: str
    data: bytes
    name: str


class Message(NamedTuple):
    """One turn. ``content`` is the text; ``images`` are attached images, sent after the text.

    Each codec encodes ``images`` the way its provider wants (OpenAI ``image_url`` data URL
    parts, Responses ``input_image``, Anthropic base64 ``image`` blocks, Ollama ``images``);
    a message without images is encoded exactly as before (a plain string).
    """

    role: Role
    content: str
    images: tuple[Image, ...] = ()


class ToolCall(NamedTuple):
    """One complete tool call, as the model asked for it.

    ``arguments`` is the whole JSON text of the call's arguments (a codec assembles streamed
    fragments and emits a call only once it is complete).
    """

    id: str
    name: str
    arguments: str


class Request(NamedTuple):
    """One generation request, independent of any provider's wire format.

    ``tools`` is the canonical JSON text of an OpenAI-style list of
    ``{"type": "function", "function": {name, description, parameters}}``; ``tool_choice`` is
    ``"auto"``, ``"required"``, ``"none"`` or a tool's name; ``schema`` is the canonical JSON
    text of a JSON Schema the answer must follow (structured output). ``reasoning_effort``
    is ``"low"``, ``"medium"`` or ``"high"`` (each codec maps it: OpenAI ``reasoning_effort``,
    Anthropic ``thinking.budget_tokens``, Ollama ``think``). ``None``: not asked for.
    """

    model: str
    messages: tuple[Message, ...]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    tools: str | None = None
    tool_choice: str | None = None
    schema: str | None = None
    reasoning_effort: str | None = None


class Usage(NamedTuple):
    """Token counts as the provider reported them (0: not reported).

    ``input_tokens`` counts every prompt token, cached ones included; ``cache_read_tokens``
    and ``cache_write_tokens`` are the parts of it read from / written to the provider's
    prompt cache (priced at their own rates). ``output_tokens`` counts every answer token,
    reasoning included; ``reasoning_tokens`` is the reasoning part of it."""

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


class Chunk(NamedTuple):
    """A piece of a streamed answer. Also used for a whole non-streamed reply.

    ``text`` is the new text only. ``usage``, ``model`` and ``finish_reason``
    are set on whichever chunk the provider reported them in (often the last).
    ``tool_calls`` holds complete calls only, each emitted once; ``refusal`` is refusal text
    (never mixed into ``text``); ``reasoning`` is new reasoning text (a reasoning model's
    thinking: OpenAI-compatible ``reasoning_content``/``reasoning``, Anthropic ``thinking``
    blocks, Ollama ``message.thinking``), never mixed into ``text`` either.
    Finish reasons as llmx reports them: ``"stop"``, ``"length"``, ``"tool_calls"``,
    ``"refusal"``, ``"content_filter"`` (codecs map the provider's names onto these).
    """

    text: str = ""
    usage: Usage | None = None
    model: str | None = None
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str = ""
    reasoning: str = ""


class Completion(NamedTuple):
    text: str
    model: str
    provider: str
    usage: Usage = Usage()
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    finish_reason: str | None = None
    cached: CacheTier = False
    similarity: float | None = None  # for a semantic cache hit
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str = ""
    reasoning: str = ""
