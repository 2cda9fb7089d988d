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


class ToolCall(NamedTuple):
    """One complete call, as the model asked for it."""

    id: str
    name: str
    arguments: str  # the JSON text of the arguments, complete


class Message(NamedTuple):
    role: Role
    content: str


class Request(NamedTuple):
    """One generation request, independent of any provider's wire format."""

    model: str
    messages: tuple[Message, ...]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    tools: str | None = None  # canonical JSON text of an OpenAI-style list of function tools
    tool_choice: str | None = None  # "auto" | "required" | "none" | a tool name
    schema: str | None = None  # canonical JSON text of a JSON Schema (structured output)


class Usage(NamedTuple):
    input_tokens: int = 0
    output_tokens: int = 0


class Chunk(NamedTuple):
    """A piece of a streamed answer. Also used for a whole non-streamed reply.

    ``text`` is the new text only. ``usage``, ``model`` and ``finish_reason``
    are set on whichever chunk the provider reported them in (often the last).
    """

    text: str = ""
    usage: Usage | None = None
    model: str | None = None
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()  # complete calls only, each emitted once
    refusal: str = ""  # refusal text (never mixed into ``text``)
    reasoning: str = ""  # reasoning text (never mixed into ``text``)


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
