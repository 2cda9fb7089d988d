"""OpenAI-compatible Chat Completions codec (OpenAI, OpenRouter, vLLM, llama.cpp, ...).

Path convention: the profile's ``base_url`` already ends in the API version,
e.g. ``https://api.openai.com/v1`` or ``http://127.0.0.1:PORT/v1``, so paths
here are relative to it: ``chat/completions`` and ``embeddings``.

Streams are SSE: each ``data:`` line holds a JSON chunk whose
``choices[0].delta.content`` carries new text; ``data: [DONE]`` ends it. With
``stream_options.include_usage`` the usage comes in a last chunk with
``choices: []`` (some compatible servers put it in a chunk that still has
choices). Unknown fields are ignored; tool-call deltas yield no text.

Tools and structured output: ``Request.tools`` goes out as ``tools`` (already OpenAI's
shape), ``tool_choice`` as ``"auto"``/``"required"``/``"none"`` or
``{"type": "function", "function": {"name": NAME}}``, ``Request.schema`` as ``response_format:
{"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}``. Streamed
tool-call deltas are assembled by their ``index`` (the first fragment of a call brings its
``id`` and ``function.name``, later ones pieces of ``function.arguments``); the complete calls
come once, on the chunk with the finish reason (or at the end of a stream without one).

``Chunk.finish_reason`` says what happened, not only what the wire said: ``"tool_calls"``
when the reply called a tool (whatever finish_reason came with it), ``"refusal"`` when it
carried a ``refusal`` (its text goes to ``Chunk.refusal``, never into ``text``), the wire's
own reason otherwise (``stop``, ``length``, ``content_filter``...). A choice without a
message (Gemini's OpenAI-compatible endpoint sends one) is an empty answer with no finish
reason (not a known-complete answer: never cached); in a stream, a choice without a delta
gives nothing but its finish reason. An error object anywhere in a stream
(``{"error": ...}``, vLLM's ``{"object": "error", ...}``, an ``event: error``) raises, even
when ``[DONE]`` follows.

Reasoning: ``Request.reasoning_effort`` goes out as ``reasoning_effort``. Reasoning text comes
as ``reasoning_content`` (DeepSeek, vLLM before 0.11) or ``reasoning`` (vLLM 0.11+,
OpenRouter) beside ``content``, in a delta or a whole message; it goes to ``Chunk.reasoning``.
Usage: ``usage.completion_tokens_details.reasoning_tokens`` and
``usage.prompt_tokens_details.cached_tokens`` fill ``Usage.reasoning_tokens`` and
``Usage.cache_read_tokens``. Usage may come on the last chunk with ``choices: []`` (OpenAI,
llama.cpp), or on every chunk as a running total (vLLM ``continuous_usage_stats``): the
last one seen wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from llmx.errors import LlmxError, StreamError
from llmx.providers import openai_models
from llmx.providers.base import HttpCall
from llmx.providers.image_parts import openai_message
from llmx.providers.sse import SseEvent, SseParser, chunks_of
from llmx.providers.wire import (
    as_dict,
    as_int,
    as_list,
    as_str,
    bearer,
    chat_messages,
    encode_json,
    inband_error,
    is_error_object,
    json_headers,
    load_json,
    status_error,
)
from llmx.types import Chunk, Request, ToolCall, Usage

PROVIDER = "openai"
CHAT_PATH = "chat/completions"
EMBEDDINGS_PATH = "embeddings"
DONE_SENTINEL = "[DONE]"
TOOL_CALLS = "tool_calls"
REFUSAL = "refusal"
CONTENT_FILTER = "content_filter"

class OpenAICodec:
    """Codec for ``POST {base_url}/chat/completions`` (base_url ends in ``/v1``)."""

    __slots__ = ("overrides",)
    name: str = PROVIDER

    def __init__(self, overrides: openai_models.Overrides = openai_models.TABLE) -> None:
        self.overrides = overrides  # the profile's token_param / send_temperature

    def build(self, request: Request, api_key: str | None) -> HttpCall:
        payload: dict[str, Any] = {
            "model": request.model,
            "messages": chat_messages(request, openai_message),
            "stream": request.stream,
        }
        openai_models.add_sampling(payload, request, self.overrides)
        if request.stream:
            payload["stream_options"] = {"include_usage": True}
        payload.update(tool_fields(request))
        if request.reasoning_effort is not None:
            payload["reasoning_effort"] = request.reasoning_effort
        return HttpCall("POST", CHAT_PATH, json_headers(bearer(api_key)), encode_json(payload))

    def parse_response(self, body: bytes) -> Chunk:
        return chunk_from_completion(body)

    def stream_decoder(self) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder()

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LlmxError:
        return status_error(PROVIDER, status, body)


def tool_fields(request: Request) -> dict[str, Any]:
    """``tools``, ``tool_choice`` and ``response_format`` for the request (those it sets)."""
    fields: dict[str, Any] = {}
    if request.tools is not None:
        fields["tools"] = json.loads(request.tools)
    choice = request.tool_choice
    if choice is not None:
        named = choice not in ("auto", "required", "none")
        fields["tool_choice"] = {"type": "function", "function": {"name": choice}} if named \
            else choice
    if request.schema is not None:
        fields["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "answer", "schema": json.loads(request.schema), "strict": True}}
    return fields


def _whole_calls(message: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    calls = []
    for item in as_list(message.get("tool_calls")):
        function = as_dict(as_dict(item).get("function"))
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # some compatible servers send an object
            arguments = json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)
        calls.append(ToolCall(as_str(as_dict(item).get("id")) or "",
                              as_str(function.get("name")) or "", as_str(arguments) or ""))
    return tuple(calls)


def usage_of(data: Any) -> Usage | None:
    """``Usage`` from an OpenAI ``usage`` object (with its token details); None when absent."""
    if not isinstance(data, dict):
        return None
    prompt = as_dict(data.get("prompt_tokens_details"))
    completion = as_dict(data.get("completion_tokens_details"))
    return Usage(as_int(data.get("prompt_tokens")), as_int(data.get("completion_tokens")),
                 reasoning_tokens=as_int(completion.get("reasoning_tokens")),
                 cache_read_tokens=as_int(prompt.get("cached_tokens")))


def reasoning_of(part: Mapping[str, Any]) -> str:
    """The reasoning text of a delta or message (``reasoning_content`` or ``reasoning``)."""
    return as_str(part.get("reasoning_content")) or as_str(part.get("reasoning")) or ""


def chunk_from_completion(body: bytes | str) -> Chunk:
    """A whole ``chat.completion`` JSON body as one Chunk."""
    data = as_dict(load_json(PROVIDER, body))
    if is_error_object(data):
        raise inband_error(PROVIDER, data, stream=False)
    usage = usage_of(data.get("usage"))
    model = as_str(data.get("model"))
    choice = _first_choice(data)
    message = choice.get("message")
    if not isinstance(message, dict):
        return Chunk(usage=usage, model=model)
    refusal = as_str(message.get("refusal")) or ""
    calls = _whole_calls(message)
    tools = bool(calls or message.get("function_call"))
    finish = _finish(as_str(choice.get("finish_reason")), tools, bool(refusal))
    return Chunk(text=as_str(message.get("content")) or "", usage=usage, model=model,
                 finish_reason=finish, tool_calls=calls, refusal=refusal,
                 reasoning=reasoning_of(message))


def _finish(wire: str | None, tools: bool, refusal: bool) -> str | None:
    """What a reply's end means: a refusal or a tool call wins over the wire's reason
    (some servers say ``stop`` after a tool call), except a content filter's."""
    if wire == CONTENT_FILTER:
        return wire
    if refusal:
        return REFUSAL
    if tools:
        return TOOL_CALLS
    return wire


def _first_choice(data: Mapping[str, Any]) -> dict[str, Any]:
    """The choice with index 0 (or the first one); {} when there are none."""
    choices = as_list(data.get("choices"))
    for choice in choices:
        if as_dict(choice).get("index", 0) == 0:
            return as_dict(choice)
    return as_dict(choices[0]) if choices else {}


class _BadEventData(StreamError):
    """An event's data is not JSON (at close: the body was cut mid-event)."""


class OpenAIStreamDecoder:
    """Turns an SSE chat-completion stream into Chunks (one per useful event)."""

    __slots__ = ("_calls", "_done", "_finished", "_refusal", "_sse", "_tools")

    def __init__(self) -> None:
        self._sse = SseParser()
        self._done = False
        self._finished = False
        self._tools = False  # a tool-call delta was seen
        self._refusal = False  # a refusal delta was seen
        self._calls = CallParts()

    def feed(self, data: bytes) -> list[Chunk]:
        return self._take(self._sse.feed(data))

    def close(self) -> list[Chunk]:
        try:
            chunks = self._take(self._sse.close())
        except _BadEventData:
            chunks = []  # the body was cut inside its last event
        if not (self._done or self._finished):
            raise StreamError(f"{PROVIDER} stream ended early (no [DONE] and no finish_reason)")
        calls = self._calls.take()
        return [*chunks, Chunk(tool_calls=calls)] if calls else chunks

    def _take(self, events: list[SseEvent]) -> list[Chunk]:
        return chunks_of(events, self._chunk, lambda: self._done)

    def _chunk(self, event: SseEvent) -> Chunk | None:
        if event.event == "error":
            raise inband_error(PROVIDER, event.data)
        data = event.data.strip()
        if data == DONE_SENTINEL:
            self._done = True
            return None
        if not data:
            return None
        try:
            obj = as_dict(json.loads(data))
        except ValueError:
            raise _BadEventData(f"{PROVIDER} stream: event data is not JSON") from None
        if is_error_object(obj):
            raise inband_error(PROVIDER, obj)
        return self._chunk_from(obj)

    def _chunk_from(self, obj: Mapping[str, Any]) -> Chunk | None:
        choice = _first_choice(obj)
        delta = as_dict(choice.get("delta"))
        refusal = as_str(delta.get("refusal")) or ""
        text = as_str(delta.get("content")) or ""
        reasoning = reasoning_of(delta)
        self._refusal = self._refusal or bool(refusal)
        self._calls.add(as_list(delta.get("tool_calls")))
        self._tools = self._tools or bool(delta.get("tool_calls") or delta.get("function_call"))
        finish = as_str(choice.get("finish_reason"))
        usage = usage_of(obj.get("usage"))
        calls: tuple[ToolCall, ...] = ()
        if finish:
            self._finished = True
            finish = _finish(finish, self._tools, self._refusal)
            calls = self._calls.take()
        if not (text or finish or usage or refusal or reasoning):
            return None
        return Chunk(text=text, usage=usage, model=as_str(obj.get("model")), finish_reason=finish,
                     tool_calls=calls, refusal=refusal, reasoning=reasoning)


class CallParts:
    """Tool calls being assembled from streamed deltas, by their ``index``."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: dict[int, list[str]] = {}  # index: [id, name, arguments so far]

    def add(self, deltas: list[Any]) -> None:
        for position, item in enumerate(deltas):
            delta = as_dict(item)
            index = delta.get("index", position)
            key = index if isinstance(index, int) else position
            parts = self._parts.setdefault(key, ["", "", ""])
            function = as_dict(delta.get("function"))
            parts[0] = parts[0] or as_str(delta.get("id")) or ""
            parts[1] = parts[1] or as_str(function.get("name")) or ""
            parts[2] += as_str(function.get("arguments")) or ""

    def take(self) -> tuple[ToolCall, ...]:
        """The calls assembled so far, in index order (each given once)."""
        calls = tuple(ToolCall(*self._parts[key]) for key in sorted(self._parts))
        self._parts.clear()
        return calls


def build_embeddings(model: str, inputs: Sequence[str], api_key: str | None) -> HttpCall:
    """``POST {base_url}/embeddings`` for a batch of texts."""
    payload = {"model": model, "input": list(inputs)}
    return HttpCall("POST", EMBEDDINGS_PATH, json_headers(bearer(api_key)), encode_json(payload))


def parse_embeddings(body: bytes) -> list[list[float]]:
    """The vectors of an embeddings response, in input order (sorted by ``index``)."""
    data = as_dict(load_json(PROVIDER, body))
    if is_error_object(data):
        raise inband_error(PROVIDER, data, stream=False)
    items = [as_dict(item) for item in as_list(data.get("data"))]
    items.sort(key=lambda item: item.get("index", 0))
    vectors = [as_list(item.get("embedding")) for item in items]
    return [[float(x) for x in vector] for vector in vectors]
