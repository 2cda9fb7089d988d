"""OpenAI Responses API codec: ``POST {base_url}/responses`` (``api = "responses"``).

Request: the conversation as ``input`` (role/content items), the system prompt as
``instructions``, ``max_output_tokens``, ``temperature`` (subject to the model table of
``openai_models``), ``stream``, and ``store: false`` (llmx keeps no server-side state).
``Request.tools`` (chat-style function tools) become Responses function tools,
``tool_choice`` a mode or ``{"type": "function", "name": ...}``, ``schema`` a strict
``text.format`` of type ``json_schema``.

Reply: a ``response`` object whose ``output`` holds items: ``message`` (``output_text``
and ``refusal`` parts), ``function_call`` (``call_id``, ``name``, ``arguments``) and
``reasoning`` (``summary`` / ``content`` texts). Streams are SSE with named events and no
``[DONE]``: ``response.output_text.delta``, ``response.refusal.delta``, the reasoning
deltas, ``response.function_call_arguments.delta``, ``response.output_item.added`` /
``.done``, and one terminal event — ``response.completed``, ``response.incomplete``
(``length`` / ``content_filter``) or ``response.failed``; an ``error`` event raises.

What a caller may rely on: text, refusal and reasoning arrive as separate ``Chunk``
fields, never mixed; tool calls come complete, once, on the last chunk; the last chunk
carries ``usage``, ``model`` and ``finish_reason`` (``stop`` | ``length`` | ``tool_calls`` |
``refusal`` | ``content_filter``); a stream without a terminal event raises
``StreamError`` at ``close``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmx.errors import LlmxError, StreamError
from llmx.providers import openai_models
from llmx.providers.base import HttpCall
from llmx.providers.image_parts import responses_message
from llmx.providers.sse import SseEvent, SseParser, chunks_of
from llmx.providers.wire import (
    as_dict,
    as_list,
    as_str,
    bearer,
    encode_json,
    inband_error,
    is_error_object,
    json_headers,
    load_json,
    status_error,
    usage_from,
)
from llmx.types import Chunk, Request, ToolCall

PROVIDER = "openai"
RESPONSES_PATH = "responses"
_REASONING_DELTAS = frozenset({
    "response.reasoning_summary_text.delta", "response.reasoning_text.delta"})
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


class ResponsesCodec:
    """Codec for the Responses API; ``name`` is the provider the errors are labelled with."""

    __slots__ = ("name", "overrides", "path")

    def __init__(self, overrides: openai_models.Overrides = openai_models.TABLE, *,
                 name: str = PROVIDER, path: str = RESPONSES_PATH) -> None:
        self.overrides = overrides
        self.name = name
        self.path = path

    def build(self, request: Request, api_key: str | None) -> HttpCall:
        return HttpCall("POST", self.path, json_headers(bearer(api_key)),
                        encode_json(request_body(request, self.overrides)))

    def parse_response(self, body: bytes) -> Chunk:
        data = as_dict(load_json(self.name, body))
        if data.get("object") != "response" and is_error_object(data):
            raise inband_error(self.name, data, stream=False)
        return chunk_from_response(self.name, data, stream=False)

    def stream_decoder(self) -> ResponsesStreamDecoder:
        return ResponsesStreamDecoder(self.name)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LlmxError:
        return status_error(self.name, status, body)


def request_body(request: Request, overrides: openai_models.Overrides) -> dict[str, Any]:
    """The JSON body of ``POST /responses`` for ``request``."""
    body: dict[str, Any] = {
        "model": request.model,
        "input": [responses_message(m) for m in request.messages],
        "stream": request.stream,
        "store": False,
    }
    if request.system:
        body["instructions"] = request.system
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    if request.temperature is not None and openai_models.sends_temperature(
            request.model, overrides):
        body["temperature"] = request.temperature
    body.update(_tool_fields(request))
    return body


def _tool_fields(request: Request) -> dict[str, Any]:
    """``tools``, ``tool_choice`` and ``text.format`` from the request's canonical JSON."""
    fields: dict[str, Any] = {}
    if request.tools:
        fields["tools"] = [_function_tool(t) for t in as_list(json.loads(request.tools))]
    if request.tool_choice:
        choice = request.tool_choice
        modes = ("auto", "required", "none")
        fields["tool_choice"] = choice if choice in modes else {"type": "function",
                                                                "name": choice}
    if request.schema:
        fields["text"] = {"format": {"type": "json_schema", "name": "answer", "strict": True,
                                     "schema": json.loads(request.schema)}}
    return fields


def _function_tool(tool: Any) -> dict[str, Any]:
    """A chat-style ``{"type": "function", "function": {...}}`` as a Responses tool."""
    function = as_dict(as_dict(tool).get("function"))
    out: dict[str, Any] = {"type": "function", "name": function.get("name", "")}
    for key in ("description", "parameters", "strict"):
        if key in function:
            out[key] = function[key]
    return out


def chunk_from_response(provider: str, data: Mapping[str, Any], *, stream: bool) -> Chunk:
    """A whole ``response`` object as one Chunk (a failed one raises)."""
    status = as_str(data.get("status"))
    error = data.get("error")
    if status == "failed" or isinstance(error, dict):
        raise inband_error(provider, {"error": error or {"message": "response failed"}},
                           stream=stream)
    text, refusal, reasoning, calls = _output_parts(as_list(data.get("output")))
    finish = _finish(status, as_dict(data.get("incomplete_details")), bool(calls), refusal)
    return Chunk(text=text, usage=_usage(data), model=as_str(data.get("model")),
                 finish_reason=finish, tool_calls=calls, refusal=refusal, reasoning=reasoning)


def _output_parts(items: list[Any]) -> tuple[str, str, str, tuple[ToolCall, ...]]:
    """(text, refusal, reasoning, tool calls) of a response's output items."""
    text: list[str] = []
    refusal: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    for item in map(as_dict, items):
        kind = item.get("type")
        if kind == "message":
            for part in map(as_dict, as_list(item.get("content"))):
                if part.get("type") == "output_text":
                    text.append(as_str(part.get("text")) or "")
                elif part.get("type") == "refusal":
                    refusal.append(as_str(part.get("refusal")) or "")
        elif kind == "function_call":
            calls.append(_tool_call(item, as_str(item.get("arguments")) or ""))
        elif kind == "reasoning":
            reasoning.extend(_reasoning_texts(item))
    return "".join(text), "".join(refusal), "\n".join(reasoning), tuple(calls)


def _reasoning_texts(item: Mapping[str, Any]) -> list[str]:
    parts = [*as_list(item.get("summary")), *as_list(item.get("content"))]
    return [text for text in (as_str(as_dict(p).get("text")) for p in parts) if text]


def _tool_call(item: Mapping[str, Any], arguments: str) -> ToolCall:
    ident = as_str(item.get("call_id")) or as_str(item.get("id")) or ""
    return ToolCall(ident, as_str(item.get("name")) or "", arguments or "{}")


def _finish(status: str | None, incomplete: Mapping[str, Any], tools: bool,
            refusal: str) -> str | None:
    if status == "incomplete":
        return _INCOMPLETE.get(as_str(incomplete.get("reason")) or "", "length")
    if status not in (None, "completed"):
        return None  # queued / in_progress: not an ended response
    if refusal:
        return "refusal"
    return "tool_calls" if tools else "stop"


def _usage(data: Mapping[str, Any]) -> Any:
    return usage_from(data.get("usage"), "input_tokens", "output_tokens")


class ResponsesStreamDecoder:
    """Turns a Responses SSE stream into Chunks: text, refusal and reasoning deltas as they
    come, tool calls and the end (usage, model, finish reason) on the terminal event."""

    __slots__ = ("_args", "_calls", "_ended", "_items", "_part", "_provider", "_sse")

    def __init__(self, provider: str = PROVIDER) -> None:
        self._provider = provider
        self._sse = SseParser()
        self._ended = False
        self._items: dict[str, dict[str, Any]] = {}  # function_call items by item id
        self._args: dict[str, list[str]] = {}  # their argument fragments
        self._calls: list[ToolCall] = []  # function calls whose item is done
        self._part: tuple[Any, ...] | None = None  # the reasoning part deltas belong to

    def feed(self, data: bytes) -> list[Chunk]:
        return self._take(self._sse.feed(data))

    def close(self) -> list[Chunk]:
        chunks = self._take(self._sse.close())
        if not self._ended:
            raise StreamError(f"{self._provider} stream ended early (no response.completed)")
        return chunks

    def _take(self, events: list[SseEvent]) -> list[Chunk]:
        return chunks_of(events, self._chunk, lambda: self._ended)

    def _chunk(self, event: SseEvent) -> Chunk | None:
        data = event.data.strip()
        if not data or data == "[DONE]":
            return None
        try:
            obj = as_dict(json.loads(data))
        except ValueError:
            if event.event == "error":
                raise inband_error(self._provider, data) from None
            raise StreamError(f"{self._provider} stream: event data is not JSON") from None
        kind = as_str(obj.get("type")) or event.event or ""
        if kind == "error" or (kind == "" and is_error_object(obj)):
            raise inband_error(self._provider, obj)
        return self._event(kind, obj)

    def _event(self, kind: str, obj: Mapping[str, Any]) -> Chunk | None:
        delta = as_str(obj.get("delta")) or ""
        if kind == "response.output_text.delta":
            return Chunk(text=delta) if delta else None
        if kind == "response.refusal.delta":
            return Chunk(refusal=delta) if delta else None
        if kind in _REASONING_DELTAS:
            return self._reasoning(obj, delta)
        if kind == "response.function_call_arguments.delta":
            self._args.setdefault(as_str(obj.get("item_id")) or "", []).append(delta)
        elif kind in ("response.output_item.added", "response.output_item.done"):
            self._item(kind, as_dict(obj.get("item")))
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            return self._end(as_dict(obj.get("response")))
        return None

    def _reasoning(self, obj: Mapping[str, Any], delta: str) -> Chunk | None:
        """A reasoning delta; parts after the first start on a new line, as in the JSON."""
        if not delta:
            return None
        part = (obj.get("item_id"), obj.get("summary_index"), obj.get("content_index"))
        if self._part is not None and part != self._part:
            delta = "\n" + delta
        self._part = part
        return Chunk(reasoning=delta)

    def _item(self, kind: str, item: dict[str, Any]) -> None:
        if item.get("type") != "function_call":
            return
        ident = as_str(item.get("id")) or as_str(item.get("call_id")) or ""
        known = self._items.setdefault(ident, {})
        known.update({k: v for k, v in item.items() if v not in (None, "")})
        if kind == "response.output_item.done":
            pieces = "".join(self._args.pop(ident, []))
            self._calls.append(_tool_call(known, as_str(known.get("arguments")) or pieces))

    def _end(self, response: Mapping[str, Any]) -> Chunk:
        self._ended = True
        whole = chunk_from_response(self._provider, response, stream=True)
        calls = whole.tool_calls or tuple(self._calls)
        finish = whole.finish_reason
        if calls and finish == "stop":
            finish = "tool_calls"
        return Chunk(usage=whole.usage, model=whole.model, finish_reason=finish,
                     tool_calls=calls)
