"""Test helper: ask one Client the same thing several times, keeping each answer or error."""

from __future__ import annotations

from llmx.engine import Client
from llmx.errors import LlmxError
from llmx.prepare import Call
from llmx.types import Completion


async def ask_repeatedly(client: Client, prompt: str, call: Call | None = None, *,
                         stream: bool = True, times: int = 2) -> list[Completion | LlmxError]:
    """The Completion of each attempt, or the LlmxError it ended with (a second attempt
    that is a cache hit shows the first was cached)."""
    out: list[Completion | LlmxError] = []
    for _ in range(times):
        answer = client.stream(prompt, call or Call(), wire_stream=stream)
        try:
            async for _chunk in answer:
                pass
            out.append(answer.completion())
        except LlmxError as exc:
            out.append(exc)
    return out
