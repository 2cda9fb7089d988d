"""Frozen value types shared by every layer. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from llmx.choices import HitTier

Role = Literal["system", "user", "assistant"]
CacheTier = Literal[False, HitTier]  # False: not from the cache


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Request:
    """One generation request, independent of any provider's wire format."""

    model: str
    messages: tuple[Message, ...]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a streamed answer. Also used for a whole non-streamed reply.

    ``text`` is the new text only. ``usage``, ``model`` and ``finish_reason``
    are set on whichever chunk the provider reported them in (often the last).
    """

    text: str = ""
    usage: Usage | None = None
    model: str | None = None
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    model: str
    provider: str
    usage: Usage = field(default_factory=Usage)
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    finish_reason: str | None = None
    cached: CacheTier = False
    similarity: float | None = None  # for a semantic cache hit
