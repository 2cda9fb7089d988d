"""The rule that decides which answers the cache may keep (``llmx.cache.complete``)."""

from __future__ import annotations

import pytest

from llmx.cache.complete import NORMAL_ENDINGS, is_complete
from llmx.errors import StreamError

CASES = [
    # (text, finish_reason, error, cacheable)
    ("Paris.", "stop", None, True),  # OpenAI, Ollama
    ("Paris.", "end_turn", None, True),  # Anthropic
    ("Paris is the cap", "length", None, True),  # truncated at max_tokens: complete for it
    ("Paris is the cap", "max_tokens", None, True),  # Anthropic's truncation
    ("Paris", "stop_sequence", None, True),  # Anthropic, a stop sequence was hit
    ("", "tool_calls", None, False),  # OpenAI / Ollama tool-call-only reply
    ("Let me look that up.", "tool_calls", None, False),  # text plus a tool call
    ("", "tool_use", None, False),  # Anthropic tool use
    ("I can't help with that.", "refusal", None, False),  # OpenAI refusal / Anthropic refusal
    ("partial", "content_filter", None, False),  # filtered
    ("", "stop", None, False),  # a choice with no message
    ("  \n", "stop", None, False),  # blank is empty
    ("", "load", None, False),  # Ollama done_reason=load: the model was only loaded
    ("", "unload", None, False),
    ("half an ans", None, None, False),  # error then [DONE]: no finish reason
    ("half an ans", "stop", StreamError("cut"), False),  # anything that ended in an error
    ("some text", "pause_turn", None, False),  # Anthropic: the turn is not over
    ("some text", "model_context_window_exceeded", None, False),
    ("some text", "function_call", None, False),  # OpenAI's legacy tool call
    ("some text", "STOP", None, False),  # the codecs report the wire's own spelling
    ("some text", "a reason from next year", None, False),  # unknown: not known complete
]


@pytest.mark.parametrize(("text", "reason", "error", "expected"), CASES)
def test_only_normal_non_empty_error_free_answers_are_cacheable(
        text: str, reason: str | None, error: BaseException | None, expected: bool) -> None:
    assert is_complete(text, reason, error) is expected


def test_every_normal_ending_is_in_the_table() -> None:
    covered = {reason for _, reason, error, ok in CASES if ok and error is None}
    assert covered == NORMAL_ENDINGS
