"""Anthropic Messages codec.

Path convention: the profile's ``base_url`` is the bare host, e.g.
``https://api.anthropic.com``, so the path here is ``v1/messages``.

Request: ``system`` is a top-level field (system-role messages in the request
are folded into it, since the API accepts only user/assistant turns);
``max_tokens`` is required by the API and defaults to ``DEFAULT_MAX_TOKENS``.

Streams are SSE with typed events: ``message_start`` (model, input usage),
``content_block_delta`` with ``text_delta`` (text; other delta types such as
``input_json_delta`` are ignored), ``message_delta`` (stop_reason, output
usage), ``message_stop`` (end), ``ping`` (ignored) and ``error``. Data JSON may
be padded with spaces. Input tokens count cache reads and writes as well.

Tools: ``Request.tools`` goes out as ``tools: [{name, description, input_schema}]``,
``tool_choice`` as ``{"type": "auto" | "any" | "none"}`` (``required`` is ``any``) or
``{"type": "tool", "name": NAME}``. Structured output (``Request.schema``) is a forced tool,
``tooling.SCHEMA_TOOL``, whose ``input_schema`` is the schema: that tool's input is the
answer, given as ``text`` (streamed as its ``input_json_delta`` fragments arrive), never as
a tool call. Other ``tool_use`` blocks are assembled from ``content_block_start`` (id, name)
and their ``input_json_delta`` fragments; the complete calls come once, with the stop reason.

``Chunk.finish_reason`` is llmx's name for the stop_reason: ``end_turn`` and
``stop_sequence`` are ``stop``, ``max_tokens`` is ``length``, a reply holding a ``tool_use``
block (other than the structured-output one) is ``tool_calls``, ``refusal`` stays (a whole
reply's text then goes to ``Chunk.refusal``); others (``pause_turn``...) pass as sent. An
``error`` event (e.g. ``overloaded_error``, which stands for HTTP 529) is mapped like its
HTTP twin.

Reasoning: ``Request.reasoning_effort`` sends ``thinking: {"type": "enabled", "budget_tokens":
THINKING_BUDGETS[effort]}`` (low 1024, the API's minimum; medium 4096; high 16384). The budget
counts against ``max_tokens`` and must stay below it, so with thinking on ``max_tokens`` is
the budget plus the answer's own cap (the request's ``max_tokens``, else
``DEFAULT_MAX_TOKENS``), and no ``temperature`` is sent (the API refuses one with thinking;
a forced tool too, which ``llmx.prepare.check_call`` refuses before anything is sent).
A ``thinking`` block's text (whole, or as ``thinking_delta`` pieces) goes to
``Chunk.reasoning``; ``signature_delta`` and ``redacted_thinking`` blocks carry nothing
readable and are skipped. Usage: ``cache_read_input_tokens`` and
``cache_creation_input_tokens`` fill ``Usage.cache_read_tokens`` / ``cache_write_tokens``
(both are also counted in ``input_tokens``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmx.errors import LlmxError, StreamError
from llmx.providers.base import HttpCall
from llmx.providers.image_parts import anthropic_message
from llmx.providers.sse import SseEvent, SseParser, chunks_of
from llmx.providers.wire import (
    as_dict,
    as_int,
    as_list,
    as_str,
    encode_json,
    inband_error,
    is_error_object,
    json_headers,
    load_json,
    status_error,
)
from llmx.tooling import SCHEMA_TOOL, SCHEMA_TOOL_DESCRIPTION, functions
from llmx.types import Chunk, Request, ToolCall, Usage

PROVIDER = "anthropic"
MESSAGES_PATH = "v1/messages"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
TOOL_USE = "tool_use"
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
           TOOL_USE: "tool_calls"}
_CHOICE = {"auto": "auto", "required": "any", "none": "none"}
_INPUT_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}  # --reasoning-effort


class AnthropicCodec:
    """Codec for ``POST {base_url}/v1/messages`` (base_url is the bare host)."""

    __slots__ = ()
    name: str = PROVIDER

    def build(self, request: Request, api_key: str | None) -> HttpCall:
        system = [request.system] if request.system else []
        system.extend(m.content for m in request.messages if m.role == "system")
        answer_cap = request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS
        budget = THINKING_BUDGETS.get(request.reasoning_effort or "")
        payload: dict[str, Any] = {
            "model": request.model,
            "max_tokens": answer_cap + (budget or 0),
            "messages": [anthropic_message(m) for m in request.messages if m.role != "system"],
            "stream": request.stream,
        }
        if system:
            payload["system"] = "\n\n".join(system)
        if budget is not None:
            payload["thinking"] = {"type": "enabled", "budget_tokens": budget}
        elif request.temperature is not None:
            payload["temperature"] = request.temperature
        payload.update(tool_fields(request))
        auth = {"anthropic-version": API_VERSION}
        if api_key:
            auth["x-api-key"] = api_key
        return HttpCall("POST", MESSAGES_PATH, json_headers(auth), encode_json(payload))

    def parse_response(self, body: bytes) -> Chunk:
        data = as_dict(load_json(PROVIDER, body))
        if is_error_object(data):
            raise inband_error(PROVIDER, data, stream=False)
        blocks = [as_dict(block) for block in as_list(data.get("content"))]
        text = "".join(as_str(b.get("text")) or "" for b in blocks if b.get("type") == "text")
        thinking = "".join(as_str(b.get("thinking")) or "" for b in blocks
                           if b.get("type") == "thinking")
        calls = []
        for block in blocks:
            if block.get("type") == TOOL_USE:
                arguments = _compact(block.get("input", {}))
                if block.get("name") == SCHEMA_TOOL:
                    text += arguments
                else:
                    calls.append(ToolCall(as_str(block.get("id")) or "",
                                          as_str(block.get("name")) or "", arguments))
        usage = data.get("usage")
        finish = _finish(as_str(data.get("stop_reason")), bool(calls))
        refusal = text if finish == "refusal" else ""
        return Chunk(
            text="" if refusal else text,
            usage=_usage(as_dict(usage)) if isinstance(usage, dict) else None,
            model=as_str(data.get("model")),
            finish_reason=finish, tool_calls=tuple(calls), refusal=refusal, reasoning=thinking,
        )

    def stream_decoder(self) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder()

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LlmxError:
        return status_error(PROVIDER, status, body)


def tool_fields(request: Request) -> dict[str, Any]:
    """``tools`` and ``tool_choice`` for the request's tools or schema (those it sets)."""
    tools = [{"name": f["name"], "description": f.get("description", ""),
              "input_schema": f.get("parameters") or {"type": "object", "properties": {}}}
             for f in functions(request.tools)]
    fields: dict[str, Any] = {}
    choice = request.tool_choice
    if choice is not None:
        kind = _CHOICE.get(choice)
        fields["tool_choice"] = {"type": kind} if kind else {"type": "tool", "name": choice}
    if request.schema is not None:
        tools.append({"name": SCHEMA_TOOL, "description": SCHEMA_TOOL_DESCRIPTION,
                      "input_schema": json.loads(request.schema)})
        fields["tool_choice"] = {"type": "tool", "name": SCHEMA_TOOL}
    if tools:
        fields["tools"] = tools
    return fields


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _finish(stop_reason: str | None, tools: bool) -> str | None:
    """llmx's name for a stop_reason (a reply with tool calls: ``tool_calls``)."""
    if stop_reason is None:
        return None
    if tools:
        return "tool_calls"
    if stop_reason == TOOL_USE:
        return "stop"  # only the structured-output tool was used: its input is the answer
    return _FINISH.get(stop_reason, stop_reason)


def _input_tokens(usage: Mapping[str, Any]) -> int:
    return sum(as_int(usage.get(key)) for key in _INPUT_KEYS)


def _usage(usage: Mapping[str, Any], output: int | None = None) -> Usage:
    """Usage from a usage object (``output``: the output count when known otherwise)."""
    return Usage(_input_tokens(usage),
                 as_int(usage.get("output_tokens")) if output is None else output,
                 cache_read_tokens=as_int(usage.get("cache_read_input_tokens")),
                 cache_write_tokens=as_int(usage.get("cache_creation_input_tokens")))


class _BadEventData(StreamError):
    """An event's data is not JSON (at close: the body was cut mid-event)."""


class AnthropicStreamDecoder:
    """Turns a Messages SSE stream into Chunks; usage is reported with the stop reason."""

    __slots__ = ("_blocks", "_cache", "_input", "_model", "_output", "_sse", "_stopped")

    def __init__(self) -> None:
        self._sse = SseParser()
        self._model: str | None = None
        self._input = 0
        self._output = 0
        self._cache: dict[str, Any] = {}  # the cache read/write counts last reported
        self._stopped = False  # message_stop or a stop_reason was seen
        # tool_use blocks by index: [id, name, the input's fragments, the start's input]
        self._blocks: dict[int, list[str]] = {}

    def feed(self, data: bytes) -> list[Chunk]:
        return self._take(self._sse.feed(data))

    def close(self) -> list[Chunk]:
        try:
            chunks = self._take(self._sse.close())
        except _BadEventData:
            chunks = []  # the body was cut inside its last event
        if not self._stopped:
            raise StreamError(f"{PROVIDER} stream ended early (no message_stop)")
        return chunks

    def _take(self, events: list[SseEvent]) -> list[Chunk]:
        return chunks_of(events, self._chunk)

    def _chunk(self, event: SseEvent) -> Chunk | None:
        if event.event == "error":
            raise inband_error(PROVIDER, event.data)
        if not event.data.strip():
            return None
        try:
            obj = as_dict(json.loads(event.data))
        except ValueError:
            raise _BadEventData(f"{PROVIDER} stream: event data is not JSON") from None
        kind = as_str(obj.get("type")) or event.event
        if kind == "content_block_delta":
            return self._block_delta(obj)
        if kind == "message_start":
            self._start(as_dict(obj.get("message")))
        elif kind == "content_block_start":
            block = as_dict(obj.get("content_block"))
            if block.get("type") == TOOL_USE:
                given = block.get("input")  # {} when the input streams as fragments
                self._blocks[as_int(obj.get("index"))] = [
                    as_str(block.get("id")) or "", as_str(block.get("name")) or "", "",
                    _compact(given) if given else "{}"]
        elif kind == "message_delta":
            return self._delta(obj)
        elif kind == "message_stop":
            self._stopped = True
        elif kind == "error" or is_error_object(obj):
            raise inband_error(PROVIDER, obj)
        return None

    def _block_delta(self, obj: Mapping[str, Any]) -> Chunk | None:
        delta = as_dict(obj.get("delta"))
        if delta.get("type") == "input_json_delta":
            block = self._blocks.get(as_int(obj.get("index")))
            piece = as_str(delta.get("partial_json")) or ""
            if block is None or not piece:
                return None
            if block[1] == SCHEMA_TOOL:  # the structured answer: streamed as text
                return Chunk(text=piece, model=self._model)
            block[2] += piece
            return None
        kind = delta.get("type")
        if kind == "thinking_delta":
            thinking = as_str(delta.get("thinking"))
            return Chunk(reasoning=thinking, model=self._model) if thinking else None
        text = as_str(delta.get("text")) if kind == "text_delta" else None
        return Chunk(text=text, model=self._model) if text else None

    def _calls(self) -> tuple[ToolCall, ...]:
        calls = tuple(ToolCall(b[0], b[1], b[2] or b[3]) for _, b in sorted(self._blocks.items())
                      if b[1] != SCHEMA_TOOL)
        self._blocks.clear()
        return calls

    def _start(self, message: Mapping[str, Any]) -> None:
        self._model = as_str(message.get("model"))
        usage = as_dict(message.get("usage"))
        self._input = _input_tokens(usage)
        self._output = as_int(usage.get("output_tokens"))
        self._keep_cache(usage)

    def _keep_cache(self, usage: Mapping[str, Any]) -> None:
        for key in _INPUT_KEYS[1:]:
            if key in usage:
                self._cache[key] = usage[key]

    def _delta(self, obj: Mapping[str, Any]) -> Chunk:
        usage = as_dict(obj.get("usage"))
        if any(key in usage for key in _INPUT_KEYS):
            self._input = max(self._input, _input_tokens(usage))
            self._keep_cache(usage)
        if "output_tokens" in usage:
            self._output = as_int(usage.get("output_tokens"))
        stop = as_str(as_dict(obj.get("delta")).get("stop_reason"))
        calls: tuple[ToolCall, ...] = ()
        if stop:
            self._stopped = True
            calls = self._calls()
        counts = _usage(self._cache, self._output)._replace(input_tokens=self._input)
        return Chunk(usage=counts, model=self._model,
                     finish_reason=_finish(stop, bool(calls)), tool_calls=calls)
