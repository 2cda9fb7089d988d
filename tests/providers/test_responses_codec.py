"""The Responses API codec against crafted captures in the documented shapes (event names,
``sequence_number``, ``response`` objects), fed whole and byte by byte."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmx.errors import AuthError, ProviderError, RateLimitError, StreamError
from llmx.providers.responses import ResponsesCodec
from llmx.types import Chunk, Message, Request, ToolCall
from tests.providers.capture_kit import bytewise, feed_all

USAGE = {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0},
         "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 18},
         "total_tokens": 42}
WEATHER_TOOL = [{"type": "function", "function": {
    "name": "get_weather", "description": "weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]


def sse(*events: dict[str, Any]) -> bytes:
    out = []
    for number, event in enumerate(events):
        data = json.dumps({**event, "sequence_number": number})
        out.append(f"event: {event['type']}\ndata: {data}\n\n")
    return "".join(out).encode()


def response(output: list[dict[str, Any]], status: str = "completed",
             **extra: Any) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1, "status": status,
            "model": "gpt-5-mini-2025-08-07", "output": output, "usage": USAGE, "error": None,
            "incomplete_details": None, **extra}


def message(text: str) -> dict[str, Any]:
    return {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def call_item(arguments: str | None = '{"city":"Paris"}') -> dict[str, Any]:
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "get_weather",
            "status": "completed"}
    return item if arguments is None else {**item, "arguments": arguments}


REASONING = {"type": "reasoning", "id": "rs_1",
             "summary": [{"type": "summary_text", "text": "Thinking about greetings."}]}

TEXT_STREAM = sse(
    {"type": "response.created", "response": response([], "in_progress", usage=None)},
    {"type": "response.output_item.added", "output_index": 0, "item": {**REASONING,
                                                                      "summary": []}},
    {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0,
     "summary_index": 0, "delta": "Thinking about "},
    {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0,
     "summary_index": 0, "delta": "greetings."},
    {"type": "response.output_item.done", "output_index": 0, "item": REASONING},
    {"type": "response.output_item.added", "output_index": 1,
     "item": {**message(""), "status": "in_progress", "content": []}},
    {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1,
     "content_index": 0, "delta": "Héllo", "logprobs": []},
    {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1,
     "content_index": 0, "delta": " there", "logprobs": []},
    {"type": "response.output_text.done", "item_id": "msg_1", "output_index": 1,
     "content_index": 0, "text": "Héllo there", "logprobs": []},
    {"type": "response.output_item.done", "output_index": 1, "item": message("Héllo there")},
    {"type": "response.completed", "response": response([REASONING, message("Héllo there")])},
)

TOOL_STREAM = sse(
    {"type": "response.created", "response": response([], "in_progress", usage=None)},
    {"type": "response.output_item.added", "output_index": 0,
     "item": {**call_item(""), "status": "in_progress"}},
    {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0,
     "delta": '{"city":'},
    {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0,
     "delta": '"Paris"}'},
    {"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 0,
     "arguments": '{"city":"Paris"}'},
    {"type": "response.output_item.done", "output_index": 0, "item": call_item()},
    {"type": "response.completed", "response": response([call_item()])},
)


def decode(body: bytes, bytewise_feed: bool) -> list[Chunk]:
    decoder = ResponsesCodec().stream_decoder()
    return feed_all(decoder, bytewise(body) if bytewise_feed else [body])


@pytest.mark.parametrize("bytewise_feed", [False, True])
def test_text_and_reasoning_stream(bytewise_feed: bool) -> None:
    chunks = decode(TEXT_STREAM, bytewise_feed)
    assert "".join(c.text for c in chunks) == "Héllo there"
    assert "".join(c.reasoning for c in chunks) == "Thinking about greetings."
    assert all(not (c.text and c.reasoning) for c in chunks)  # never mixed
    last = chunks[-1]
    assert last.finish_reason == "stop" and last.model == "gpt-5-mini-2025-08-07"
    assert last.usage is not None and (last.usage.input_tokens, last.usage.output_tokens) == (
        12, 30)
    assert [c for c in chunks if c.finish_reason] == [last]


@pytest.mark.parametrize("bytewise_feed", [False, True])
def test_function_call_stream_assembles_one_complete_call(bytewise_feed: bool) -> None:
    chunks = decode(TOOL_STREAM, bytewise_feed)
    calls = [call for c in chunks for call in c.tool_calls]
    assert calls == [ToolCall("call_9", "get_weather", '{"city":"Paris"}')]
    assert chunks[-1].finish_reason == "tool_calls" and chunks[-1].tool_calls == tuple(calls)
    assert "".join(c.text for c in chunks) == ""


def test_call_arguments_from_deltas_when_the_done_item_omits_them() -> None:
    body = sse(
        {"type": "response.output_item.added", "output_index": 0, "item": call_item("")},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1",
         "output_index": 0, "delta": '{"city":'},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1",
         "output_index": 0, "delta": '"Paris"}'},
        {"type": "response.output_item.done", "output_index": 0, "item": call_item(None)},
        {"type": "response.completed", "response": response([])})
    chunks = decode(body, False)
    assert chunks[-1].tool_calls == (ToolCall("call_9", "get_weather", '{"city":"Paris"}'),)
    assert chunks[-1].finish_reason == "tool_calls"


def test_reasoning_parts_are_lines_in_a_stream_as_in_the_json() -> None:
    two = {"type": "reasoning", "id": "rs_1", "summary": [
        {"type": "summary_text", "text": "First."}, {"type": "summary_text", "text": "Then."}]}
    body = sse(*[{"type": "response.reasoning_summary_text.delta", "item_id": "rs_1",
                  "output_index": 0, "summary_index": index, "delta": delta}
                 for index, delta in ((0, "Fir"), (0, "st."), (1, "Then."))],
               {"type": "response.completed", "response": response([two, message("ok")])})
    streamed = "".join(c.reasoning for c in decode(body, False))
    whole = ResponsesCodec().parse_response(json.dumps(response([two, message("ok")])).encode())
    assert streamed == whole.reasoning == "First.\nThen."


def test_incomplete_stream_is_length() -> None:
    body = sse({"type": "response.output_text.delta", "item_id": "m", "output_index": 0,
                "content_index": 0, "delta": "cut"},
               {"type": "response.incomplete", "response": response(
                   [message("cut")], "incomplete",
                   incomplete_details={"reason": "max_output_tokens"})})
    chunks = decode(body, False)
    assert chunks[-1].finish_reason == "length" and "".join(c.text for c in chunks) == "cut"


def test_refusal_is_kept_apart_from_text() -> None:
    refusal = {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
               "content": [{"type": "refusal", "refusal": "I can't help with that."}]}
    body = sse({"type": "response.refusal.delta", "item_id": "msg_1", "output_index": 0,
                "content_index": 0, "delta": "I can't help with that."},
               {"type": "response.completed", "response": response([refusal])})
    chunks = decode(body, False)
    assert "".join(c.refusal for c in chunks) == "I can't help with that."
    assert "".join(c.text for c in chunks) == "" and chunks[-1].finish_reason == "refusal"
    whole = ResponsesCodec().parse_response(json.dumps(response([refusal])).encode())
    assert (whole.text, whole.refusal, whole.finish_reason) == (
        "", "I can't help with that.", "refusal")


@pytest.mark.parametrize(("event", "error"), [
    ({"type": "response.failed", "response": response(
        [], "failed", error={"code": "server_error", "message": "The model broke."})},
     StreamError),
    ({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down.", "param": None},
     RateLimitError),
    ({"type": "error", "code": "invalid_api_key", "message": "bad key", "param": None},
     AuthError),
])
def test_failed_and_error_events_raise(event: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        decode(sse({"type": "response.created", "response": response([], "in_progress")},
                   event), False)
    assert str(info.value).startswith("openai stream error: ")
    failed = info.value
    if isinstance(failed, StreamError):
        assert failed.status == 500 and "The model broke." in str(failed)


def test_a_stream_without_its_terminal_event_raises_at_close() -> None:
    cut = TEXT_STREAM[: TEXT_STREAM.index(b"event: response.completed")]
    with pytest.raises(StreamError, match="ended early"):
        decode(cut, False)


def test_json_reply_with_reasoning_text_and_tool_call() -> None:
    body = json.dumps(response([REASONING, message("Calling."), call_item()])).encode()
    chunk = ResponsesCodec().parse_response(body)
    assert chunk.text == "Calling." and chunk.reasoning == "Thinking about greetings."
    assert chunk.tool_calls == (ToolCall("call_9", "get_weather", '{"city":"Paris"}'),)
    assert chunk.finish_reason == "tool_calls"
    assert chunk.usage is not None and chunk.usage.output_tokens == 30


def test_json_error_bodies() -> None:
    codec = ResponsesCodec()
    failed = json.dumps(response([], "failed", error={"code": "server_error",
                                                       "message": "boom"})).encode()
    with pytest.raises(ProviderError, match="boom"):
        codec.parse_response(failed)
    error = codec.parse_error(400, {}, json.dumps({"error": {
        "message": "Unsupported parameter: 'temperature'", "type": "invalid_request_error",
        "param": "temperature", "code": None}}).encode())
    assert "Unsupported parameter: 'temperature'" in str(error)


def test_request_maps_tools_choice_and_schema() -> None:
    request = Request("gpt-4.1", (Message("user", "weather in Paris?"),), system="be brief",
                      temperature=0.3, max_tokens=50, stream=True,
                      tools=json.dumps(WEATHER_TOOL), tool_choice="get_weather",
                      schema=json.dumps({"type": "object"}))
    sent = json.loads(ResponsesCodec().build(request, "sk-x").body)
    assert sent["instructions"] == "be brief" and sent["temperature"] == 0.3
    assert sent["input"] == [{"role": "user", "content": "weather in Paris?"}]
    assert sent["max_output_tokens"] == 50 and sent["stream"] is True
    assert sent["tools"] == [{"type": "function", "name": "get_weather",
                              "description": "weather for a city",
                              "parameters": WEATHER_TOOL[0]["function"]["parameters"]}]
    assert sent["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert sent["text"]["format"] == {"type": "json_schema", "name": "answer", "strict": True,
                                      "schema": {"type": "object"}}
    auto = json.loads(ResponsesCodec().build(request._replace(tool_choice="auto"), None).body)
    assert auto["tool_choice"] == "auto"
