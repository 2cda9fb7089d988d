"""The Client caches only answers the provider completed normally (issue 9, item 4).

Three sources of replies: crafted Chunks from a fake engine (the engine rule alone), wire
bodies through the real codecs and HTTP engine (``httpx.MockTransport``), and the embedded
simulator's faults. Each incomplete reply is asked twice: both times go to the provider.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmx.config.profile import builtin_config, load_config, resolve_profile
from llmx.engine import Client
from llmx.errors import LlmxError, StreamError
from llmx.prepare import Call
from llmx.sim import SimOptions, SimServer
from llmx.types import Chunk, Completion, ToolCall, Usage
from tests.core.answers import ask_repeatedly

USAGE = Usage(3, 4)


@dataclass
class ScriptedEngine:
    """Stands in for HttpEngine: every call replays ``chunks``, then raises ``error``."""

    chunks: list[Chunk]
    error: BaseException | None = None
    sends: int = 0
    seen: list[bool] = field(default_factory=list)

    async def stream(self, ep: object, call: object, codec: object) -> AsyncIterator[Chunk]:
        self.sends += 1
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error

    async def request(self, ep: object, call: object, codec: object) -> Chunk:
        self.sends += 1
        if self.error is not None:
            raise self.error
        return Chunk(text="".join(c.text for c in self.chunks), usage=USAGE, model="m",
                     finish_reason=next((c.finish_reason for c in reversed(self.chunks)
                                         if c.finish_reason), None))

    async def aclose(self) -> None:
        return None


def profile_for(provider: str = "openai", base_url: str = "http://model.test/v1") -> Any:
    config = load_config({"profiles": {"p": {
        "provider": provider, "model": "m", "base_url": base_url, "retries": 0}}})
    return resolve_profile(config, "p")


def ask_twice(engine: Any, home: Path, *, stream: bool, provider: str = "openai"
              ) -> list[Completion | LlmxError]:
    async def go() -> list[Completion | LlmxError]:
        async with Client(profile_for(provider), engine=engine,
                          env={"LLMX_HOME": str(home), "ANTHROPIC_API_KEY": "k"}) as client:
            return await ask_repeatedly(client, "what is the capital of France?",
                                        stream=stream)

    return asyncio.run(go())


def reply(text: str, reason: str | None) -> list[Chunk]:
    pieces = [Chunk(text=text[: len(text) // 2]), Chunk(text=text[len(text) // 2:])] if text else []
    return [*pieces, Chunk(usage=USAGE, model="m", finish_reason=reason)]


INCOMPLETE = {
    "finish tool_calls, no call given": (reply("", "tool_calls"), None),
    "text plus finish tool_calls, no call given": (reply("Let me check.", "tool_calls"), None),
    "a tool call cut mid-arguments": ([Chunk(tool_calls=(ToolCall("c1", "f", '{"ci'),)),
                                       Chunk(usage=USAGE, model="m",
                                             finish_reason="tool_calls")], None),
    "a tool call without a name": ([Chunk(tool_calls=(ToolCall("c1", "", "{}"),)),
                                    Chunk(usage=USAGE, model="m",
                                          finish_reason="tool_calls")], None),
    "tool use (the raw Anthropic name)": (reply("", "tool_use"), None),
    "refusal": (reply("I can't help with that.", "refusal"), None),
    "content filter": (reply("The first half of", "content_filter"), None),
    "a choice with no message": (reply("", "stop"), None),
    "Ollama done_reason load": (reply("", "load"), None),
    "error then [DONE]: partial text, no finish reason": (reply("half of an ans", None), None),
    "partial text, then an error": ([Chunk(text="half of an ans")], StreamError("cut")),
}


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("case", list(INCOMPLETE))
def test_an_incomplete_answer_is_never_cached(case: str, stream: bool, tmp_path: Path) -> None:
    chunks, error = INCOMPLETE[case]
    engine = ScriptedEngine(chunks, error)
    first, second = ask_twice(engine, tmp_path, stream=stream)
    assert engine.sends == 2  # the repeat went to the provider again
    for result in (first, second):
        assert isinstance(result, LlmxError) or result.cached is False


@pytest.mark.parametrize("reason", ["stop", "end_turn", "length", "max_tokens", "stop_sequence"])
def test_a_complete_answer_is_cached(reason: str, tmp_path: Path) -> None:
    engine = ScriptedEngine(reply("Paris is the capital of France.", reason))
    first, second = ask_twice(engine, tmp_path, stream=True)
    assert engine.sends == 1
    assert isinstance(second, Completion) and second.cached == "exact"
    assert isinstance(first, Completion) and second.text == first.text
    assert second.finish_reason == reason


# -- replies on the wire, through the real codecs -----------------------------------------------

def sse(*events: Any) -> bytes:
    return b"".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode()
                    for e in events)


def openai_choice(message: Any, reason: str | None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": reason}
    if message is not None:
        choice["message"] = message
    return {"id": "x", "object": "chat.completion", "model": "m", "choices": [choice],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4}}


TOOL_CALL = {"id": "call_1", "type": "function",
             "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}
CUT_CALL = {"id": "call_1", "type": "function",
            "function": {"name": "weather", "arguments": "{\"city\": \"Par"}}
DELTA = {"id": "x", "object": "chat.completion.chunk", "model": "m"}

WIRE = {
    "openai refusal": ("openai", False, json.dumps(openai_choice(
        {"role": "assistant", "content": None, "refusal": "I can't help with that."}, "stop"))),
    "openai content_filter": ("openai", False, json.dumps(openai_choice(
        {"role": "assistant", "content": "The first half"}, "content_filter"))),
    "openai choice without a message": ("openai", False, json.dumps(openai_choice(None, "stop"))),
    "openai error event then [DONE]": ("openai", True, sse(
        {**DELTA, "choices": [{"index": 0, "delta": {"content": "half an"}}]},
        {"error": {"message": "the server had an error", "type": "server_error"}}, "[DONE]")),
    "vLLM error object then [DONE]": ("openai", True, sse(
        {**DELTA, "choices": [{"index": 0, "delta": {"content": "half an"}}]},
        {"object": "error", "message": "the engine died", "type": "InternalServerError",
         "code": 500}, "[DONE]")),
    "a bare error string then [DONE]": ("openai", True, sse(
        {**DELTA, "choices": [{"index": 0, "delta": {"content": "half an"}}]},
        {"error": "overloaded"}, "[DONE]")),
    "text deltas then [DONE], never a finish_reason": ("openai", True, sse(
        {**DELTA, "choices": [{"index": 0, "delta": {"content": "half an"}}]}, "[DONE]")),
    "openai stream of tool-call deltas cut mid-arguments": ("openai", True, sse(
        {**DELTA, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, **CUT_CALL}]}}]},
        {**DELTA, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        "[DONE]")),
    "anthropic refusal": ("anthropic", False, json.dumps({
        "id": "msg", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "text", "text": "I can't"}],
        "stop_reason": "refusal", "usage": {"input_tokens": 3, "output_tokens": 4}})),
    "ollama done_reason load": ("ollama", False, json.dumps({
        "model": "m", "message": {"role": "assistant", "content": ""}, "done": True,
        "done_reason": "load"})),
}
COMPLETE_TOOL_CALLS = {
    "openai tool_calls, content null": ("openai", False, json.dumps(openai_choice(
        {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}, "tool_calls"))),
    "openai stream of tool-call deltas": ("openai", True, sse(
        {**DELTA, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, **TOOL_CALL}]}}]},
        {**DELTA, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        "[DONE]")),
    "anthropic tool_use": ("anthropic", False, json.dumps({
        "id": "msg", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "tool_use", "id": "tu", "name": "weather", "input": {}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 3, "output_tokens": 4}})),
    "ollama tool call, no text": ("ollama", False, json.dumps({
        "model": "m", "message": {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "weather", "arguments": {"city": "Paris"}}}]},
        "done": True, "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 4})),
}


def wire_engine(body: bytes | str, stream: bool, sent: list[str]) -> Any:
    from llmx.providers.http import HttpEngine

    data = body.encode() if isinstance(body, str) else body
    kind = "text/event-stream" if stream else "application/json"

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, content=data, headers={"content-type": kind})

    transport = httpx.MockTransport(handler)
    return HttpEngine(transport_factory=lambda ep: transport)


@pytest.mark.parametrize("case", list(WIRE))
def test_an_incomplete_wire_reply_is_never_cached(case: str, tmp_path: Path) -> None:
    provider, stream, body = WIRE[case]
    sent: list[str] = []
    results = ask_twice(wire_engine(body, stream, sent), tmp_path, stream=stream,
                        provider=provider)
    assert len(sent) == 2, results
    assert all(isinstance(r, LlmxError) or r.cached is False for r in results)


@pytest.mark.parametrize("case", list(COMPLETE_TOOL_CALLS))
def test_a_complete_tool_call_reply_is_cached_with_its_calls(case: str, tmp_path: Path) -> None:
    provider, stream, body = COMPLETE_TOOL_CALLS[case]
    sent: list[str] = []
    first, second = ask_twice(wire_engine(body, stream, sent), tmp_path, stream=stream,
                              provider=provider)
    assert isinstance(first, Completion) and isinstance(second, Completion)
    assert len(sent) == 1 and second.cached == "exact"
    assert first.finish_reason == second.finish_reason == "tool_calls"
    assert [c.name for c in second.tool_calls] == ["weather"]
    assert second.tool_calls == first.tool_calls


def test_a_complete_wire_reply_is_cached(tmp_path: Path) -> None:
    sent: list[str] = []
    body = json.dumps(openai_choice({"role": "assistant", "content": "Paris."}, "stop"))
    _, second = ask_twice(wire_engine(body, False, sent), tmp_path, stream=False)
    assert len(sent) == 1 and isinstance(second, Completion) and second.cached == "exact"


# -- the embedded simulator's own faults ---------------------------------------------------------

def test_a_stream_cut_by_the_simulator_is_not_cached(tmp_path: Path) -> None:
    async def go() -> list[Completion | LlmxError]:
        async with SimServer(SimOptions(cut_rate=1.0)) as sim:
            profile = profile_for("openai", sim.base_url + "/v1")
            async with Client(profile, env={"LLMX_HOME": str(tmp_path)}) as client:
                return await ask_repeatedly(client, "tell me a story", Call(max_tokens=30))

    first, second = asyncio.run(go())
    assert isinstance(first, LlmxError) and isinstance(second, LlmxError)  # not a hit


def test_a_length_truncated_simulator_answer_is_cached(tmp_path: Path) -> None:
    async def go() -> list[Completion]:
        async with SimServer(SimOptions()) as sim:
            profile = profile_for("openai", sim.base_url + "/v1")
            async with Client(profile, env={"LLMX_HOME": str(tmp_path)}) as client:
                return [await client.generate("tell me a story", Call(max_tokens=3))
                        for _ in range(2)]

    first, second = asyncio.run(go())
    assert first.finish_reason == "length" and second.cached == "exact"


def test_the_builtin_sim_profile_caches_its_normal_answers() -> None:
    async def go() -> list[Completion]:
        async with Client(resolve_profile(builtin_config(), "sim")) as client:
            return [await client.generate("a normal question") for _ in range(2)]

    first, second = asyncio.run(go())
    assert first.finish_reason in ("stop", "length") and second.cached == "exact"
