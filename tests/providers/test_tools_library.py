"""The library side of tools and structured output: ``Client.generate`` / ``Client.stream``
with ``Call(tools=..., tool_choice=..., schema=...)`` against the simulator, in each
dialect; the Completion carries the calls, the schema's answer validates, and
``llmx.tooling`` refuses what is not a tool list or an object schema."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from llmx.config.profile import load_config, resolve_profile
from llmx.engine import Client
from llmx.errors import UsageError
from llmx.prepare import Call
from llmx.sim import SimOptions, SimServer
from llmx.tooling import canonical_schema, canonical_tools, schema_problem
from llmx.types import Completion

PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"]}
TOOLS = canonical_tools(json.dumps([{"type": "function", "function": {
    "name": "get_weather", "parameters": PARAMETERS}}]))
SCHEMA = canonical_schema(json.dumps({"type": "object", "properties": {
    "n": {"type": "integer", "minimum": 3}}, "required": ["n"]}))
BASES = {"openai": "/v1", "anthropic": "", "ollama": ""}


def ask(provider: str, home: Path, call: Call, *, stream: bool) -> list[Completion]:
    async def go() -> list[Completion]:
        async with SimServer(SimOptions()) as sim:
            config = load_config({"profiles": {"p": {
                "provider": provider, "model": "sim-1",
                "base_url": sim.base_url + BASES[provider]}}})
            env = {"LLMX_HOME": str(home), "ANTHROPIC_API_KEY": "k"}
            async with Client(resolve_profile(config, "p"), env=env) as client:
                out = []
                for _ in range(2):
                    if stream:
                        out.append(await client.stream("weather in Paris?", call).collect())
                    else:
                        out.append(await client.generate("weather in Paris?", call))
                return out

    return asyncio.run(go())


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("provider", list(BASES))
def test_generate_gives_the_tool_calls_and_caches_them(provider: str, stream: bool,
                                                       tmp_path: Path) -> None:
    first, second = ask(provider, tmp_path, Call(tools=TOOLS, tool_choice="required"),
                        stream=stream)
    assert first.finish_reason == "tool_calls" and first.cached is False
    [call] = first.tool_calls
    assert call.name == "get_weather" and call.id
    assert isinstance(json.loads(call.arguments)["city"], str)
    assert second.cached == "exact" and second.tool_calls == first.tool_calls


@pytest.mark.parametrize("provider", list(BASES))
def test_generate_with_a_schema_answers_json_that_follows_it(provider: str,
                                                             tmp_path: Path) -> None:
    first, second = ask(provider, tmp_path, Call(schema=SCHEMA), stream=True)
    assert schema_problem(first.text, SCHEMA) is None and first.tool_calls == ()
    assert json.loads(first.text)["n"] >= 3
    assert second.cached == "exact" and second.text == first.text


@pytest.mark.parametrize(("text", "needle"), [
    ("[]", "non-empty JSON list"), ('{"type": "function"}', "non-empty JSON list"),
    ('[{"type": "function", "function": {"name": "f", "parameters": []}}]', "parameters"),
    ("[1]", "item 0"),
])
def test_canonical_tools_refuses_what_is_not_a_tool_list(text: str, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        canonical_tools(text)


def test_canonical_forms_do_not_depend_on_spacing_or_key_order() -> None:
    a: Any = [{"function": {"parameters": {"type": "object"}, "name": "f"}, "type": "function"}]
    assert canonical_tools(json.dumps(a, indent=2)) == canonical_tools(json.dumps(a))
    assert canonical_schema('{ "type" : "object" }') == canonical_schema('{"type":"object"}')
