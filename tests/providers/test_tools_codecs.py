"""Tool calls and structured output through the codecs: the request each provider is sent,
and the calls assembled from recorded captures (``../shared/data/wire``) and from replies
crafted in the documented shapes (OpenAI index-based ``tool_calls`` argument fragments,
Anthropic ``tool_use`` blocks with ``input_json_delta``, Ollama whole ``tool_calls``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmx.providers.registry import codec_for
from llmx.tooling import SCHEMA_TOOL, canonical_schema, canonical_tools
from llmx.types import Chunk, Message, Request, ToolCall
from tests.providers.capture_kit import bytewise, feed_all

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {}}}
TOOLS = canonical_tools(json.dumps([WEATHER, TIME]))
SCHEMA = canonical_schema('{"type":"object","properties":{"n":{"type":"integer"}},'
                          '"required":["n"],"additionalProperties":false}')
BASE = Request("m", (Message("user", "weather in Paris?"),))


def body_of(provider: str, request: Request) -> dict[str, Any]:
    sent: dict[str, Any] = json.loads(codec_for(provider).build(request, None).body)
    return sent


def sse(*events: tuple[str | None, Any]) -> bytes:
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        out.append(f"{head}data: {data if isinstance(data, str) else json.dumps(data)}\n\n")
    return "".join(out).encode()


def decode(provider: str, body: bytes, pieces: list[bytes] | None = None) -> list[Chunk]:
    return feed_all(codec_for(provider).stream_decoder(), pieces or [body])


def calls_of(chunks: list[Chunk]) -> list[ToolCall]:
    return [call for chunk in chunks for call in chunk.tool_calls]


# --- requests -------------------------------------------------------------------------------

@pytest.mark.parametrize(("choice", "wire"), [
    (None, None), ("auto", "auto"), ("required", "required"), ("none", "none"),
    ("get_time", {"type": "function", "function": {"name": "get_time"}}),
])
def test_openai_sends_tools_and_choice(choice: str | None, wire: Any) -> None:
    sent = body_of("openai", BASE._replace(tools=TOOLS, tool_choice=choice))
    assert sent["tools"] == [WEATHER, TIME]
    assert sent.get("tool_choice") == wire


def test_openai_sends_a_strict_json_schema_response_format() -> None:
    sent = body_of("openai", BASE._replace(schema=SCHEMA))
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "answer", "schema": json.loads(SCHEMA), "strict": True}}
    assert "tools" not in sent


def test_requests_without_tools_are_sent_as_before() -> None:
    for provider in ("openai", "anthropic", "ollama"):
        sent = body_of(provider, BASE)
        assert not {"tools", "tool_choice", "response_format", "format"} & set(sent)


@pytest.mark.parametrize(("choice", "wire"), [
    (None, None), ("auto", {"type": "auto"}), ("required", {"type": "any"}),
    ("none", {"type": "none"}), ("get_time", {"type": "tool", "name": "get_time"}),
])
def test_anthropic_translates_tools_and_choice(choice: str | None, wire: Any) -> None:
    sent = body_of("anthropic", BASE._replace(tools=TOOLS, tool_choice=choice))
    assert sent["tools"] == [
        {"name": "get_weather", "description": "Weather for a city",
         "input_schema": WEATHER["function"]["parameters"]},  # type: ignore[index]
        {"name": "get_time", "description": "",
         "input_schema": {"type": "object", "properties": {}}}]
    assert sent.get("tool_choice") == wire


def test_anthropic_forces_the_schema_tool_for_structured_output() -> None:
    sent = body_of("anthropic", BASE._replace(schema=SCHEMA))
    assert [tool["name"] for tool in sent["tools"]] == [SCHEMA_TOOL]
    assert sent["tools"][0]["input_schema"] == json.loads(SCHEMA)
    assert sent["tool_choice"] == {"type": "tool", "name": SCHEMA_TOOL}


def test_ollama_sends_tools_format_and_leaves_tools_out_for_none() -> None:
    assert body_of("ollama", BASE._replace(tools=TOOLS))["tools"] == [WEATHER, TIME]
    assert "tools" not in body_of("ollama", BASE._replace(tools=TOOLS, tool_choice="none"))
    assert body_of("ollama", BASE._replace(schema=SCHEMA))["format"] == json.loads(SCHEMA)


# --- recorded captures ------------------------------------------------------------------------

def recorded(shared_data: Path, name: str) -> bytes:
    return (shared_data / "wire" / name / "response.body").read_bytes()


def test_recorded_openai_tool_stream_gives_one_whole_call(shared_data: Path) -> None:
    body = recorded(shared_data, "openai_chat_stream_toolcalls")
    for pieces in ([body], bytewise(body)):
        chunks = decode("openai", body, pieces)
        calls = calls_of(chunks)
        assert [(c.id, c.name) for c in calls] == [("call_1EYWDzueHEp8OsB8jJSEp7WB", "multiply")]
        assert json.loads(calls[0].arguments) == {"a": 1231, "b": 2331}
        assert [c.finish_reason for c in chunks if c.tool_calls] == ["tool_calls"]


def test_recorded_anthropic_tool_stream_gives_its_call(shared_data: Path) -> None:
    body = recorded(shared_data, "anthropic_messages_stream_tool_use")
    for pieces in ([body], bytewise(body)):
        calls = calls_of(decode("anthropic", body, pieces))
        assert calls == [ToolCall("toolu_01CzN6riCPqw4pVSuTd9Dwn7", "pelican_name_generator",
                                  "{}")]


# --- crafted replies --------------------------------------------------------------------------

def oa(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
    return None, {"model": "m", "choices": [{"index": 0, "delta": delta,
                                             "finish_reason": finish}]}


def fragment(index: int, arguments: str, **start: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if start:
        item.update(id=start["id"], type="function")
        item["function"]["name"] = start["name"]
    return {"tool_calls": [item]}


def test_openai_parallel_calls_are_assembled_by_index() -> None:
    body = sse(oa({"role": "assistant", "content": None}),
               oa(fragment(0, "", id="call_a", name="get_weather")),
               oa(fragment(0, '{"ci')), oa(fragment(1, "", id="call_b", name="get_time")),
               oa(fragment(0, 'ty":"Paris"}')), oa(fragment(1, "{}")),
               oa({}, "tool_calls"), (None, "[DONE]"))
    chunks = decode("openai", body)
    assert calls_of(chunks) == [ToolCall("call_a", "get_weather", '{"city":"Paris"}'),
                                ToolCall("call_b", "get_time", "{}")]
    assert sum(1 for c in chunks if c.tool_calls) == 1  # given once, with the finish


def test_openai_whole_reply_with_tool_calls() -> None:
    message = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}
    body = json.dumps({"model": "m", "choices": [{"index": 0, "message": message,
                                                  "finish_reason": "tool_calls"}]})
    chunk = codec_for("openai").parse_response(body.encode())
    assert chunk.tool_calls == (ToolCall("call_a", "get_weather", '{"city":"Paris"}'),)
    assert (chunk.text, chunk.finish_reason) == ("", "tool_calls")


def an(name: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return name, {"type": name, **payload}


def anthropic_stream(block: dict[str, Any], pieces: list[str], stop: str,
                     text: str = "") -> bytes:
    events = [an("message_start", {"message": {"model": "c", "usage": {"input_tokens": 3}}})]
    index = 0
    if text:
        events += [an("content_block_start", {"index": 0, "content_block": {"type": "text"}}),
                   an("content_block_delta", {"index": 0, "delta": {"type": "text_delta",
                                                                     "text": text}}),
                   an("content_block_stop", {"index": 0})]
        index = 1
    events.append(an("content_block_start", {"index": index, "content_block": block}))
    events += [an("content_block_delta", {"index": index, "delta": {
        "type": "input_json_delta", "partial_json": p}}) for p in pieces]
    events += [an("content_block_stop", {"index": index}),
               an("message_delta", {"delta": {"stop_reason": stop},
                                    "usage": {"output_tokens": 5}}),
               an("message_stop", {})]
    return sse(*events)


def test_anthropic_input_json_fragments_become_one_call_after_text() -> None:
    block = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    body = anthropic_stream(block, ['{"city"', ': "Par', 'is"}'], "tool_use", "Let me check.")
    chunks = decode("anthropic", body)
    assert "".join(c.text for c in chunks) == "Let me check."
    assert calls_of(chunks) == [ToolCall("toolu_1", "get_weather", '{"city": "Paris"}')]
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["tool_calls"]


def test_anthropic_schema_tool_input_is_the_answer_text() -> None:
    block = {"type": "tool_use", "id": "toolu_2", "name": SCHEMA_TOOL, "input": {}}
    chunks = decode("anthropic", anthropic_stream(block, ['{"n"', ": 4}"], "tool_use"))
    assert "".join(c.text for c in chunks) == '{"n": 4}'
    assert calls_of(chunks) == []
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
    whole = json.dumps({"type": "message", "model": "c", "stop_reason": "tool_use", "content": [
        {"type": "tool_use", "id": "t", "name": SCHEMA_TOOL, "input": {"n": 4}}]})
    chunk = codec_for("anthropic").parse_response(whole.encode())
    assert (chunk.text, chunk.tool_calls, chunk.finish_reason) == ('{"n":4}', (), "stop")


def test_anthropic_whole_reply_tool_use_arguments_are_json_text() -> None:
    whole = json.dumps({"type": "message", "model": "c", "stop_reason": "tool_use", "content": [
        {"type": "tool_use", "id": "t", "name": "get_weather", "input": {"city": "Paris"}}]})
    chunk = codec_for("anthropic").parse_response(whole.encode())
    assert chunk.tool_calls == (ToolCall("t", "get_weather", '{"city":"Paris"}'),)


def ollama_line(message: dict[str, Any], **fields: Any) -> bytes:
    return json.dumps({"model": "l", "message": {"role": "assistant", **message},
                       **fields}).encode() + b"\n"


def test_ollama_tool_calls_come_whole_with_ids_by_position() -> None:
    calls = [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
             {"id": "call_x", "function": {"name": "get_time", "arguments": {}}}]
    body = (ollama_line({"content": "", "tool_calls": calls}, done=False)
            + ollama_line({"content": ""}, done=True, done_reason="stop", eval_count=2,
                          prompt_eval_count=3))
    expected = [ToolCall("call_0", "get_weather", '{"city":"Paris"}'),
                ToolCall("call_x", "get_time", "{}")]
    chunks = decode("ollama", body)
    assert calls_of(chunks) == expected
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["tool_calls"]
    whole = ollama_line({"content": "", "tool_calls": calls}, done=True, done_reason="stop")
    assert list(codec_for("ollama").parse_response(whole).tool_calls) == expected
