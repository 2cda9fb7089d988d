"""Value types of the cache. Standard library only.

``Entry`` (one cached answer) and the look-up's values ``Hit``, ``Policy`` and ``Keys``
(re-exported by ``llmx.cache.tiers``) are ``typing.NamedTuple``s (attribute access,
``_replace``, equality by value), not dataclasses: every cache hit imports this module, and
a named tuple is far cheaper to create at import.
"""

# No ``from __future__ import annotations`` here: a named tuple's string annotations are
# compiled when its class is made (the first compile of a process costs ~3 ms).

from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from llmx.choices import HitTier
from llmx.types import ToolCall

ENTRY_VERSION = 1


class Entry(NamedTuple):
    """One cached answer, stored as JSON (never pickle)."""

    text: str
    chunks: tuple[int, ...]  # lengths of the streamed pieces, for replay; () = one piece
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    finish_reason: str | None
    prompt: str  # the last user message: for the semantic veto and `llmx cache ls/show`
    scope: str  # semantic matches stay inside one scope (see keys.scope_key)
    kind: str  # content kind that chose the TTL
    created: float  # unix time
    tool_calls: tuple[ToolCall, ...] = ()  # a complete tool-call answer's calls
    reasoning: str = ""  # the answer's reasoning text (replayed before the answer)

    def to_json(self) -> dict[str, Any]:
        data = self._asdict()
        data["chunks"] = list(self.chunks)
        data["v"] = ENTRY_VERSION
        if self.tool_calls:
            data["tool_calls"] = [list(call) for call in self.tool_calls]
        else:
            del data["tool_calls"]  # entries without calls keep their old form
        if not self.reasoning:
            del data["reasoning"]  # nor do entries without reasoning
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Entry":
        """Rebuild an entry; ``ValueError`` on anything malformed."""
        if not isinstance(data, Mapping) or data.get("v") != ENTRY_VERSION:
            raise ValueError("not a cache entry of this version")
        try:
            entry = cls(
                text=_typed(data["text"], str),
                chunks=tuple(_typed(n, int) for n in _typed(data["chunks"], list)),
                model=_typed(data["model"], str),
                provider=_typed(data["provider"], str),
                input_tokens=_typed(data["input_tokens"], int),
                output_tokens=_typed(data["output_tokens"], int),
                finish_reason=_optional_str(data["finish_reason"]),
                prompt=_typed(data["prompt"], str),
                scope=_typed(data["scope"], str),
                kind=_typed(data["kind"], str),
                created=float(_typed(data["created"], (int, float))),
                tool_calls=tuple(ToolCall(*(_typed(part, str) for part in _typed(call, list)))
                                 for call in _typed(data.get("tool_calls", []), list)),
                reasoning=_typed(data.get("reasoning", ""), str),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed cache entry: {exc}") from None
        if entry.chunks and sum(entry.chunks) != len(entry.text):
            raise ValueError("malformed cache entry: chunk lengths do not add up")
        return entry

    def pieces(self) -> list[str]:
        """The answer cut at its original chunk boundaries."""
        if not self.chunks:
            return [self.text] if self.text else []
        out, start = [], 0
        for length in self.chunks:
            out.append(self.text[start : start + length])
            start += length
        return out


class Hit(NamedTuple):
    entry: Entry
    tier: HitTier
    similarity: float | None


class Policy(NamedTuple):
    """What one call may do with the cache (profile mode narrowed by per-call flags)."""

    read: bool
    write: bool

    @classmethod
    def of(cls, mode: str, *, no_cache: bool = False, refresh: bool = False) -> "Policy":
        if no_cache or mode == "off":
            return cls(False, False)
        return cls(read=mode in ("read-write", "read") and not refresh,
                   write=mode in ("read-write", "write"))


class Keys(NamedTuple):
    exact: str
    scope: str
    prompt: str


def _typed(value: Any, kind: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"unexpected {type(value).__name__}")
    return value


def _optional_str(value: Any) -> str | None:
    return None if value is None else _typed(value, str)


class _Miss:
    """The miss sentinel (compare with ``is MISS``): falsy and readable in reprs."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "MISS"


MISS: Final = _Miss()
