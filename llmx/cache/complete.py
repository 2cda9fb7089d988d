"""Which answers the cache may keep: only those the provider finished normally. Pure.

An answer is cached when no error ended it, its text is not blank, and the provider's
finish reason (``Chunk.finish_reason``, as each codec reports it) is a normal ending:

    OpenAI and compatible servers   stop, length
    Anthropic                       end_turn, max_tokens, stop_sequence
    Ollama                          stop, length

Everything else is refused: tool calls (``tool_calls``, ``tool_use``: not first-class
yet), refusals (``refusal``), filters (``content_filter``), Anthropic's ``pause_turn``
and ``model_context_window_exceeded``, Ollama's ``load`` / ``unload``, any reason this
table does not know, and ``None``: a reply that never said how it ended (a stream cut
off before its finish reason, an error followed by ``[DONE]``, a server that omits the
field) is not known to be complete.

A truncated answer (``length``, ``max_tokens``) is complete for its request: the same
request with the same ``max_tokens`` gets the same kind of answer.
"""

from __future__ import annotations

from typing import Final

NORMAL_ENDINGS: Final = frozenset({"stop", "length", "end_turn", "max_tokens", "stop_sequence"})


def is_complete(text: str, finish_reason: str | None, error: BaseException | None = None
                ) -> bool:
    """True when an answer may be cached (see the module docstring)."""
    return error is None and finish_reason in NORMAL_ENDINGS and bool(text.strip())
