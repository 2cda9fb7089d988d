"""Recorded wire captures replayed through the Client: what the cache keeps (issue 9, item 4).

Each chat capture of ``../shared/data/wire`` is served twice by a mock transport to a Client
of its provider; every recorded reply is complete (text or tool calls), so it is sent once
and the repeat is the cache's, with the same text and the same tool calls.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmx.config.profile import load_config, resolve_profile
from llmx.engine import Client
from llmx.errors import LlmxError
from llmx.types import Completion
from tests.core.answers import ask_repeatedly
from tests.providers.capture_kit import Capture, load_captures

TOOL_CALLS = {"openai_chat_stream_toolcalls", "anthropic_messages_stream_tool_use"}
CHAT = [c for c in load_captures() if c.kind in ("chat", "stream")]


def replay_twice(capture: Capture, home: Path) -> tuple[list[Completion | LlmxError], int]:
    from llmx.providers.http import HttpEngine

    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(capture.status or 200, content=capture.body,
                              headers={"content-type": capture.headers.get("content-type", "")})

    base = {"openai": "http://capture.test/v1", "anthropic": "http://capture.test",
            "ollama": "http://capture.test"}[capture.provider]
    config = load_config({"profiles": {"p": {"provider": capture.provider, "model": "m",
                                             "base_url": base, "retries": 0}}})
    transport = httpx.MockTransport(handler)

    async def go() -> list[Completion | LlmxError]:
        engine = HttpEngine(transport_factory=lambda ep: transport)
        env = {"LLMX_HOME": str(home), "ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"}
        async with Client(resolve_profile(config, "p"), engine=engine, env=env) as client:
            out = await ask_repeatedly(client, "the recorded question",
                                       stream=capture.kind == "stream")
        await engine.aclose()
        return out

    results = asyncio.run(go())
    return results, len(sent)


@pytest.mark.parametrize("capture", CHAT, ids=str)
def test_a_recorded_reply_is_cached_only_when_complete(capture: Capture, tmp_path: Path,
                                                       shared_data: Any) -> None:
    results, sent = replay_twice(capture, tmp_path)
    first, second = results
    assert isinstance(first, Completion) and isinstance(second, Completion), results
    if capture.name in TOOL_CALLS:
        assert first.finish_reason == "tool_calls" and first.tool_calls and not first.text
    else:
        assert first.text
    assert sent == 1 and second.cached == "exact"
    assert (second.text, second.tool_calls) == (first.text, first.tool_calls)


def test_the_tool_call_captures_are_present(shared_data: Any) -> None:
    assert {c.name for c in CHAT} >= TOOL_CALLS
