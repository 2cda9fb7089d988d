"""Ollama native chat codec (``/api/chat``) and ``/api/embed``.

Path convention: the profile's ``base_url`` is the bare server, e.g.
``http://localhost:11434``, so the paths here are ``api/chat`` and
``api/embed``. (Ollama's OpenAI-compatible ``/v1`` goes through the openai
codec instead.)

Streams are NDJSON: every line is a JSON object with ``message.content``; the
final line has ``"done": true`` and carries ``prompt_eval_count`` /
``eval_count`` (usage) and ``done_reason``. Errors are ``{"error": "..."}``,
as a whole body or as a line in the middle of a stream; one inside a 200 stream is a
model-runner failure (Ollama's docs: "an error was encountered while running the
model"), mapped like the HTTP 500 Ollama sends for it before a stream starts.

Tools: ``Request.tools`` goes out as ``tools`` (Ollama takes OpenAI's shape); Ollama has no
``tool_choice``, so ``"none"`` leaves the tools out and the other choices send them as they
are. ``Request.schema`` goes out as ``format: <schema>``. Ollama sends each tool call whole
(``message.tool_calls[].function`` with ``arguments`` as an object, not text), so a line's
calls are given as they come; a call without an ``id`` is named ``call_<n>`` by position.

``Chunk.finish_reason`` is ``"tool_calls"`` when a line carried ``message.tool_calls``
(Ollama still says ``done_reason: "stop"`` then), otherwise ``done_reason`` as sent
(``stop``, ``length``...), ``"stop"`` when it is absent.

``done_reason: "load"`` (Ollama answers so when it only loaded the model, e.g. for a request
with no messages) is not the end of an answer: in a stream that line is skipped and reading
goes on (a stream that ends after it "ended early"); a whole reply that says it raises
``StreamError`` (no answer came).

Reasoning: ``Request.reasoning_effort`` sends ``think``: the level itself for the models that
take levels (``gpt-oss``), ``true`` for the others (which take only a switch). The thinking
text comes in ``message.thinking`` beside ``message.content`` and goes to ``Chunk.reasoning``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from llmx.errors import LlmxError, StreamError
from llmx.providers.base import HttpCall
from llmx.providers.image_parts import ollama_message
from llmx.providers.ndjson import NdjsonSplitter
from llmx.providers.wire import (
    as_dict,
    as_list,
    as_str,
    bearer,
    chat_messages,
    encode_json,
    inband_error,
    json_headers,
    load_json,
    status_error,
    usage_from,
)
from llmx.types import Chunk, Request, ToolCall

PROVIDER = "ollama"
CHAT_PATH = "api/chat"
EMBED_PATH = "api/embed"
TOOL_CALLS = "tool_calls"
INBAND_STATUS = 500  # what an error line inside a 200 stream stands for
LOAD = "load"  # done_reason of a bare model load: no answer
LEVELLED = ("gpt-oss",)  # model name prefixes whose `think` takes "low" | "medium" | "high"

class OllamaCodec:
    """Codec for ``POST {base_url}/api/chat`` (base_url is the bare server)."""

    __slots__ = ()
    name: str = PROVIDER

    def build(self, request: Request, api_key: str | None) -> HttpCall:
        payload: dict[str, Any] = {
            "model": request.model,
            "messages": chat_messages(request, ollama_message),
            "stream": request.stream,
        }
        options: dict[str, Any] = {}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.max_tokens is not None:
            options["num_predict"] = request.max_tokens
        if options:
            payload["options"] = options
        if request.tools is not None and request.tool_choice != "none":
            payload["tools"] = json.loads(request.tools)
        if request.schema is not None:
            payload["format"] = json.loads(request.schema)
        if request.reasoning_effort is not None:
            payload["think"] = think_value(request.model, request.reasoning_effort)
        return HttpCall("POST", CHAT_PATH, json_headers(bearer(api_key)), encode_json(payload))

    def parse_response(self, body: bytes) -> Chunk:
        data = as_dict(load_json(PROVIDER, body))
        if data.get("error"):
            raise inband_error(PROVIDER, data, INBAND_STATUS, stream=False)
        if _is_load(data):
            raise StreamError(f"{PROVIDER}: the model was loaded but no answer came "
                              "(done_reason: load)")
        return _chunk(data, _has_tool_calls(data), 0)

    def stream_decoder(self) -> OllamaStreamDecoder:
        return OllamaStreamDecoder()

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LlmxError:
        return status_error(PROVIDER, status, body)


def think_value(model: str, effort: str) -> str | bool:
    """What ``think`` says for an effort: the level where the model takes levels."""
    bare = model.rsplit("/", 1)[-1]
    return effort if bare.startswith(LEVELLED) else True


def _is_load(data: Mapping[str, Any]) -> bool:
    return data.get("done") is True and data.get("done_reason") == LOAD


def _has_tool_calls(data: Mapping[str, Any]) -> bool:
    return bool(as_dict(data.get("message")).get("tool_calls"))


def _calls(message: Mapping[str, Any], first: int) -> tuple[ToolCall, ...]:
    """A line's tool calls (``first``: how many came in earlier lines, for unnamed ids)."""
    calls = []
    for position, item in enumerate(as_list(message.get("tool_calls")), start=first):
        function = as_dict(as_dict(item).get("function"))
        arguments = function.get("arguments", {})
        text = arguments if isinstance(arguments, str) else json.dumps(
            arguments, separators=(",", ":"), ensure_ascii=False)
        calls.append(ToolCall(as_str(as_dict(item).get("id")) or f"call_{position}",
                              as_str(function.get("name")) or "", text))
    return tuple(calls)


def _chunk(data: Mapping[str, Any], tools: bool, first: int) -> Chunk:
    """One response object (a whole reply or one stream line) as a Chunk; ``tools``:
    the reply called a tool (in this line or an earlier one)."""
    message = as_dict(data.get("message"))
    text = as_str(message.get("content")) or ""
    thinking = as_str(message.get("thinking")) or ""
    calls = _calls(message, first)
    if data.get("done") is not True:
        return Chunk(text=text, model=as_str(data.get("model")), tool_calls=calls,
                     reasoning=thinking)
    reason = as_str(data.get("done_reason")) or "stop"
    return Chunk(
        text=text,
        usage=usage_from(data, "prompt_eval_count", "eval_count"),
        model=as_str(data.get("model")),
        finish_reason=TOOL_CALLS if tools else reason,
        tool_calls=calls,
        reasoning=thinking,
    )


class OllamaStreamDecoder:
    """Turns an NDJSON ``/api/chat`` stream into Chunks."""

    __slots__ = ("_calls", "_done", "_lines", "_tools")

    def __init__(self) -> None:
        self._lines = NdjsonSplitter()
        self._done = False
        self._tools = False
        self._calls = 0  # tool calls given so far

    def feed(self, data: bytes) -> list[Chunk]:
        return self._take(self._lines.feed(data))

    def close(self) -> list[Chunk]:
        try:
            last = self._lines.close()
        except StreamError:
            if self._done:
                raise
            last = []  # the body was cut inside its last line
        chunks = self._take(last)
        if not self._done:
            raise StreamError(f"{PROVIDER} stream ended early (no line with done: true)")
        return chunks

    def _take(self, objects: list[Any]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for item in objects:
            obj = as_dict(item)
            if obj.get("error"):
                raise inband_error(PROVIDER, obj, INBAND_STATUS)
            if self._done or _is_load(obj):
                continue  # a load line is not the answer's end: read on
            self._tools = self._tools or _has_tool_calls(obj)
            chunk = _chunk(obj, self._tools, self._calls)
            self._calls += len(chunk.tool_calls)
            self._done = obj.get("done") is True
            if chunk.text or chunk.reasoning or chunk.tool_calls or self._done:
                chunks.append(chunk)
        return chunks


def build_embeddings(model: str, inputs: Sequence[str], api_key: str | None) -> HttpCall:
    """``POST {base_url}/api/embed`` for a batch of texts."""
    payload = {"model": model, "input": list(inputs)}
    return HttpCall("POST", EMBED_PATH, json_headers(bearer(api_key)), encode_json(payload))


def parse_embeddings(body: bytes) -> list[list[float]]:
    """The vectors of an ``/api/embed`` response (a list of lists, in input order)."""
    data = as_dict(load_json(PROVIDER, body))
    if data.get("error"):
        raise inband_error(PROVIDER, data, INBAND_STATUS, stream=False)
    return [[float(x) for x in as_list(vector)] for vector in as_list(data.get("embeddings"))]
