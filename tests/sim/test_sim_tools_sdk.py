"""Tool calls and structured output from the simulator, read by the official ``openai`` and
``anthropic`` SDKs (their own stream accumulators) and by plain HTTP for Ollama: the calls'
arguments and the structured answers follow the schemas they were asked for."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest

from llmx.jsonshape import problem
from llmx.sim import SimServer

from .simkit import with_sim

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "minLength": 2},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                   "days": {"type": "integer", "minimum": 1, "maximum": 7},
                   "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2}},
    "required": ["city", "unit", "days", "tags"], "additionalProperties": False,
}
OA_TOOLS: Any = [
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "get_weather", "parameters": PARAMETERS}},
]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "score": {"type": "number",
                                                           "exclusiveMinimum": 0},
                   "ok": {"type": "boolean"}, "items": {"type": "array", "items": {
                       "type": "object", "properties": {"n": {"type": "integer"}},
                       "required": ["n"], "additionalProperties": False}}},
    "required": ["answer", "score", "ok", "items"], "additionalProperties": False,
}
USER: Any = [{"role": "user", "content": "weather in Paris?"}]


def oa_client(sim: SimServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0)


def an_client(sim: SimServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0)


def test_openai_named_tool_call_whole_and_streamed_agree() -> None:
    async def go(sim: SimServer) -> None:
        choice: Any = {"type": "function", "function": {"name": "get_weather"}}
        async with oa_client(sim) as client:
            whole = await client.chat.completions.create(
                model="sim-1", messages=USER, tools=OA_TOOLS, tool_choice=choice)
            async with client.beta.chat.completions.stream(
                    model="sim-1", messages=USER, tools=OA_TOOLS, tool_choice=choice) as s:
                deltas = [e async for e in s if e.type == "tool_calls.function.arguments.delta"]
                streamed = await s.get_final_completion()
        for reply in (whole, streamed):
            calls = reply.choices[0].message.tool_calls or []
            assert reply.choices[0].finish_reason == "tool_calls"
            assert [c.function.name for c in calls] == ["get_weather"]
            assert problem(json.loads(calls[0].function.arguments), PARAMETERS) is None
        assert len(deltas) > 3  # the arguments came in fragments
        assert (streamed.choices[0].message.tool_calls[0].function.arguments  # type: ignore[index]
                == whole.choices[0].message.tool_calls[0].function.arguments)  # type: ignore[index]

    with_sim(go)


def test_openai_auto_calls_the_first_tool_and_none_answers_text() -> None:
    async def go(sim: SimServer) -> None:
        async with oa_client(sim) as client:
            auto = await client.chat.completions.create(model="sim-1", messages=USER,
                                                        tools=OA_TOOLS)
            none = await client.chat.completions.create(model="sim-1", messages=USER,
                                                        tools=OA_TOOLS, tool_choice="none")
        assert [c.function.name for c in auto.choices[0].message.tool_calls or []] == ["get_time"]
        assert none.choices[0].message.tool_calls is None and none.choices[0].message.content

    with_sim(go)


def test_openai_structured_output_parses_and_validates() -> None:
    async def go(sim: SimServer) -> None:
        fmt: Any = {"type": "json_schema",
                    "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}}
        async with oa_client(sim) as client:
            whole = await client.chat.completions.create(model="sim-1", messages=USER,
                                                         response_format=fmt)
            stream = await client.chat.completions.create(model="sim-1", messages=USER,
                                                          response_format=fmt, stream=True)
            text = "".join([c.choices[0].delta.content or "" async for c in stream
                            if c.choices])
        assert text == whole.choices[0].message.content
        assert problem(json.loads(text), SCHEMA) is None

    with_sim(go)


def test_openai_unknown_tool_choice_is_a_400() -> None:
    async def go(sim: SimServer) -> None:
        choice: Any = {"type": "function", "function": {"name": "nope"}}
        async with oa_client(sim) as client:
            with pytest.raises(openai.BadRequestError):
                await client.chat.completions.create(model="sim-1", messages=USER,
                                                     tools=OA_TOOLS, tool_choice=choice)

    with_sim(go)


AN_TOOLS: Any = [{"name": "get_weather", "description": "weather", "input_schema": PARAMETERS}]


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "get_weather"},
                                    {"type": "auto"}])
def test_anthropic_tool_use_whole_and_streamed(choice: Any) -> None:
    async def go(sim: SimServer) -> None:
        async with an_client(sim) as client:
            whole = await client.messages.create(model="sim-1", max_tokens=500, messages=USER,
                                                 tools=AN_TOOLS, tool_choice=choice)
            async with client.messages.stream(model="sim-1", max_tokens=500, messages=USER,
                                              tools=AN_TOOLS, tool_choice=choice) as s:
                kinds = [e.type async for e in s]
                streamed = await s.get_final_message()
        for message in (whole, streamed):
            assert message.stop_reason == "tool_use"
            block = message.content[0]
            assert block.type == "tool_use" and block.name == "get_weather"
            assert problem(block.input, PARAMETERS) is None
        assert whole.content[0].input == streamed.content[0].input  # type: ignore[union-attr]
        assert kinds.count("input_json") > 3

    with_sim(go)


def test_anthropic_tool_choice_none_answers_text() -> None:
    async def go(sim: SimServer) -> None:
        async with an_client(sim) as client:
            message = await client.messages.create(model="sim-1", max_tokens=500, messages=USER,
                                                   tools=AN_TOOLS, tool_choice={"type": "none"})
        assert message.stop_reason == "end_turn" and message.content[0].type == "text"

    with_sim(go)


@pytest.mark.parametrize("stream", [False, True])
def test_ollama_tool_calls_and_format(stream: bool) -> None:
    async def go(sim: SimServer) -> None:
        base = {"model": "llama3.1", "messages": USER, "stream": stream}
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            tools = await client.post("/api/chat", json={**base, "tools": OA_TOOLS[1:]})
            shaped = await client.post("/api/chat", json={**base, "format": SCHEMA})
        lines = [json.loads(line) for line in tools.text.splitlines() if line.strip()]
        calls = [c for line in lines for c in line["message"].get("tool_calls", [])]
        assert len(calls) == 1 and calls[0]["function"]["name"] == "get_weather"
        assert problem(calls[0]["function"]["arguments"], PARAMETERS) is None
        assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop"
        text = "".join(json.loads(line)["message"]["content"]
                       for line in shaped.text.splitlines() if line.strip())
        assert problem(json.loads(text), SCHEMA) is None

    with_sim(go)
