"""Tools and structured output on the Responses API: the simulator through the openai SDK,
and llmx's Responses codec end to end (``api = "responses"``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openai
import pytest

from llmx.config.profile import load_config, resolve_profile
from llmx.engine import Client
from llmx.prepare import Call
from llmx.sim import SimOptions, SimServer
from llmx.tooling import canonical_schema, canonical_tools, schema_problem
from llmx.types import Completion
from tests.sim.simkit import with_sim

PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"]}
FLAT_TOOLS: list[Any] = [{"type": "function", "name": "get_weather", "description": "w",
                          "parameters": PARAMETERS}]
SCHEMA = {"type": "object", "properties": {"capital": {"type": "string"}},
          "required": ["capital"], "additionalProperties": False}


def test_the_sdk_gets_a_function_call_whole_and_streamed() -> None:
    async def run(sim: SimServer) -> None:
        async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x",
                                      max_retries=0) as client:
            whole = await client.responses.create(model="sim-1", input="weather in Paris?",
                                                  tools=FLAT_TOOLS, tool_choice="required")
            stream = await client.responses.create(model="sim-1", input="weather in Oslo?",
                                                   tools=FLAT_TOOLS, stream=True)
            events = [event async for event in stream]
        [call] = [item for item in whole.output if item.type == "function_call"]
        assert call.name == "get_weather" and call.call_id
        assert isinstance(json.loads(call.arguments)["city"], str)
        kinds = [event.type for event in events]
        assert "response.function_call_arguments.delta" in kinds
        done = next(e for e in events if e.type == "response.function_call_arguments.done")
        deltas = "".join(e.delta for e in events
                         if e.type == "response.function_call_arguments.delta")
        assert deltas == done.arguments and "city" in json.loads(done.arguments)
        assert kinds[-1] == "response.completed"

    with_sim(run)


def test_the_sdk_gets_json_that_follows_text_format() -> None:
    async def run(sim: SimServer) -> None:
        async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x",
                                      max_retries=0) as client:
            reply = await client.responses.create(
                model="sim-1", input="France?",
                text={"format": {"type": "json_schema", "name": "c", "schema": SCHEMA,
                                 "strict": True}})
        assert isinstance(json.loads(reply.output_text)["capital"], str)

    with_sim(run)


def _ask(home: Path, call: Call, *, stream: bool) -> Completion:
    async def go() -> Completion:
        async with SimServer(SimOptions()) as sim:
            config = load_config({"profiles": {"r": {
                "provider": "openai", "model": "sim-1", "api": "responses",
                "base_url": sim.base_url + "/v1"}}})
            async with Client(resolve_profile(config, "r"),
                              env={"LLMX_HOME": str(home)}) as client:
                if stream:
                    return await client.stream("weather in Paris?", call).collect()
                return await client.generate("weather in Paris?", call)

    return asyncio.run(go())


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_llmx_responses_codec_gives_tool_calls(stream: bool, tmp_path: Path) -> None:
    tools = canonical_tools(json.dumps([{"type": "function", "function": {
        "name": "get_weather", "parameters": PARAMETERS}}]))
    done = _ask(tmp_path, Call(tools=tools, tool_choice="required"), stream=stream)
    assert done.finish_reason == "tool_calls"
    [call] = done.tool_calls
    assert call.name == "get_weather" and isinstance(json.loads(call.arguments)["city"], str)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_llmx_responses_codec_gives_a_structured_answer(stream: bool, tmp_path: Path) -> None:
    schema = canonical_schema(json.dumps(SCHEMA))
    done = _ask(tmp_path, Call(schema=schema), stream=stream)
    assert schema_problem(done.text, schema) is None
