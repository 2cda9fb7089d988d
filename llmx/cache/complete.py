"""Which answers the cache may keep: only those the provider finished normally. Pure.

An answer is cached when no error ended it and its finish reason (``Chunk.finish_reason``,
as each codec reports it) is a normal ending with something in it:

    a text answer      stop, length (and end_turn, max_tokens, stop_sequence: Anthropic's
                       names, which entries written before the codecs mapped them still hold)
                       with text that is not blank
    a tool-call answer tool_calls, with at least one call and every call's arguments a whole
                       JSON object (``tooling.complete_calls``); its text may be empty

Everything else is refused: refusals (``refusal``), filters (``content_filter``),
Anthropic's ``pause_turn`` and ``model_context_window_exceeded``, Ollama's ``load`` /
``unload``, any reason this table does not know, and ``None``: a reply that never said how
it ended (a stream cut off before its finish reason, an error followed by ``[DONE]``, a
server that omits the field) is not known to be complete. A refusal's text is never cached
either, whatever the finish reason says.

A truncated answer (``length``, ``max_tokens``) is complete for its request: the same
request with the same ``max_tokens`` gets the same kind of answer. Tool calls are keyed with
the request's tools and tool choice (see ``keys``), so they answer only the same tools.
``may_keep`` adds the request's schema: a structured answer that does not follow it is not
kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from llmx.types import Completion, Request, ToolCall

NORMAL_ENDINGS: Final = frozenset({"stop", "length", "end_turn", "max_tokens", "stop_sequence"})
TOOL_CALLS: Final = "tool_calls"


def is_complete(text: str, finish_reason: str | None, error: BaseException | None = None,
                *, tool_calls: Sequence[ToolCall] = (), refusal: str = "") -> bool:
    """True when an answer may be cached (see the module docstring)."""
    if error is not None or refusal:
        return False
    if finish_reason == TOOL_CALLS:
        from llmx.tooling import complete_calls

        return complete_calls(tool_calls)
    return finish_reason in NORMAL_ENDINGS and bool(text.strip())


def may_keep(completion: Completion, request: Request) -> bool:
    """``is_complete`` for a Completion, and, when the request asked for a schema, only an
    answer that follows it (``tooling.schema_problem`` is None)."""
    if not is_complete(completion.text, completion.finish_reason,
                       tool_calls=completion.tool_calls, refusal=completion.refusal):
        return False
    if request.schema is None or completion.tool_calls:
        return True
    from llmx.tooling import schema_problem

    return schema_problem(completion.text, request.schema) is None
