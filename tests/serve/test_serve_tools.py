"""Tools and structured output through `llmx serve`, with the official SDKs as clients."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai

from tests.integration.conftest import Sim
from tests.serve.conftest import Serve

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {"name": "get_weather", "description": "The weather in a city",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                "required": ["city"]}}}


def _requests(sim: Sim) -> int:
    return int(httpx.get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def test_tool_calls_come_back_whole_and_are_cached(sim: Sim, shared_serve: Serve) -> None:
    client = openai.OpenAI(base_url=shared_serve.v1, api_key="x", max_retries=0)
    ask: dict[str, Any] = {"model": "local", "tools": [WEATHER], "tool_choice": "required",
                           "messages": [{"role": "user", "content": "weather in Paris?"}]}
    first = client.chat.completions.with_raw_response.create(**ask)
    again = client.chat.completions.with_raw_response.create(**ask)
    assert (first.headers["x-llmx-cache"], again.headers["x-llmx-cache"]) == ("miss", "exact")
    choice = first.parse().choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [call.function.name for call in calls] == ["get_weather"]
    assert isinstance(json.loads(calls[0].function.arguments)["city"], str)
    assert again.parse().choices[0].message.tool_calls == calls
    assert _requests(sim) == 1


def test_streamed_tool_calls_assemble(sim: Sim, shared_serve: Serve) -> None:
    client = openai.OpenAI(base_url=shared_serve.v1, api_key="x", max_retries=0)
    names, arguments, finish = [], "", None
    ask: dict[str, Any] = {"model": "local", "stream": True, "tools": [WEATHER],
                           "messages": [{"role": "user", "content": "weather in Oslo?"}]}
    for event in client.chat.completions.create(**ask):
        for choice in event.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                if delta.function and delta.function.name:
                    names.append(delta.function.name)
                if delta.function and delta.function.arguments:
                    arguments += delta.function.arguments
    assert names == ["get_weather"] and finish == "tool_calls"
    assert "city" in json.loads(arguments)


def test_a_json_schema_answer_follows_it(sim: Sim, shared_serve: Serve) -> None:
    client = openai.OpenAI(base_url=shared_serve.v1, api_key="x", max_retries=0)
    schema = {"type": "object", "properties": {"capital": {"type": "string"},
                                               "population": {"type": "integer"}},
              "required": ["capital", "population"], "additionalProperties": False}
    reply = client.chat.completions.create(
        model="local", messages=[{"role": "user", "content": "France?"}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "country", "schema": schema, "strict": True}})
    value = json.loads(reply.choices[0].message.content or "")
    assert isinstance(value["capital"], str) and isinstance(value["population"], int)


def test_anthropic_tool_use_blocks(sim: Sim, shared_serve: Serve) -> None:
    client = anthropic.Anthropic(base_url=shared_serve.url, api_key="x", max_retries=0)
    tool = {"name": "get_weather", "description": "The weather in a city",
            "input_schema": WEATHER["function"]["parameters"]}
    ask: dict[str, Any] = {"model": "local", "max_tokens": 64, "tools": [tool],
                           "tool_choice": {"type": "any"}}
    reply = client.messages.create(
        **ask, messages=[{"role": "user", "content": "weather in Rome?"}])
    uses = [block for block in reply.content if block.type == "tool_use"]
    assert reply.stop_reason == "tool_use" and [u.name for u in uses] == ["get_weather"]
    assert isinstance(uses[0].input, dict) and "city" in uses[0].input
    with client.messages.stream(
            **ask, messages=[{"role": "user", "content": "weather in Lima?"}]) as stream:
        final = stream.get_final_message()
    streamed = [block for block in final.content if block.type == "tool_use"]
    assert final.stop_reason == "tool_use" and streamed[0].name == "get_weather"
    assert isinstance(streamed[0].input, dict) and "city" in streamed[0].input
