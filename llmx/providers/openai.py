"""OpenAI-compatible Chat Completions codec (OpenAI, OpenRouter, vLLM, llama.cpp, ...).

Path convention: the profile's ``base_url`` already ends in the API version,
e.g. ``https://api.openai.com/v1`` or ``http://127.0.0.1:PORT/v1``, so paths
here are relative to it: ``chat/completions`` and ``embeddings``.

Streams are SSE: each ``data:`` line holds a JSON chunk whose
``choices[0].delta.content`` carries new text; ``data: [DONE]`` ends it. With
``stream_options.include_usage`` the usage comes in a last chunk with
``choices: []`` (some compatible servers put it in a chunk that still has
choices). Unknown fields are ignored; tool-call deltas yield no text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from llmx.errors import LlmxError, ProviderError, StreamError
from llmx.providers.base import HttpCall
from llmx.providers.sse import SseEvent, SseParser
from llmx.providers.wire import (
    as_dict,
    as_list,
    as_str,
    bearer,
    chat_messages,
    detail_of,
    encode_json,
    json_headers,
    load_json,
    status_error,
    stream_error,
    usage_from,
)
from llmx.types import Chunk, Request

PROVIDER = "openai"
CHAT_PATH = "chat/completions"
EMBEDDINGS_PATH = "embeddings"
DONE_SENTINEL = "[DONE]"



class OpenAICodec:
    """Codec for ``POST {base_url}/chat/completions`` (base_url ends in ``/v1``)."""

    __slots__ = ()
    name: str = PROVIDER

    def build(self, request: Request, api_key: str | None) -> HttpCall:
        payload: dict[str, Any] = {
            "model": request.model,
            "messages": chat_messages(request),
            "stream": request.stream,
        }
        if request.temperature is not None:
            payload["temperature"] = request.temperature
        if request.max_tokens is not None:
            payload["max_tokens"] = request.max_tokens
        if request.stream:
            payload["stream_options"] = {"include_usage": True}
        return HttpCall("POST", CHAT_PATH, json_headers(bearer(api_key)), encode_json(payload))

    def parse_response(self, body: bytes) -> Chunk:
        return chunk_from_completion(body)

    def stream_decoder(self) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder()

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LlmxError:
        return status_error(PROVIDER, status, body)


def chunk_from_completion(body: bytes | str) -> Chunk:
    """A whole ``chat.completion`` JSON body as one Chunk."""
    data = as_dict(load_json(PROVIDER, body))
    if data.get("error"):
        raise ProviderError(f"{PROVIDER}: {detail_of(data) or 'error in response'}")
    choice = _first_choice(data)
    message = as_dict(choice.get("message"))
    return Chunk(
        text=as_str(message.get("content")) or "",
        usage=usage_from(data.get("usage"), "prompt_tokens", "completion_tokens"),
        model=as_str(data.get("model")),
        finish_reason=as_str(choice.get("finish_reason")),
    )


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

    __slots__ = ("_done", "_finished", "_sse")

    def __init__(self) -> None:
        self._sse = SseParser()
        self._done = False
        self._finished = False

    def feed(self, data: bytes) -> list[Chunk]:
        return self._take(self._sse.feed(data))

    def close(self) -> list[Chunk]:
        try:
            chunks = self._take(self._sse.close())
        except _BadEventData:
            chunks = []  # the body was cut inside its last event
        if not (self._done or self._finished):
            raise StreamError(f"{PROVIDER} stream ended early (no [DONE] and no finish_reason)")
        return chunks

    def _take(self, events: list[SseEvent]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for event in events:
            if self._done:
                break
            chunk = self._chunk(event)
            if chunk is not None:
                chunks.append(chunk)
        return chunks

    def _chunk(self, event: SseEvent) -> Chunk | None:
        if event.event == "error":
            raise stream_error(PROVIDER, event.data)
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
        if obj.get("error"):
            raise stream_error(PROVIDER, data)
        return self._chunk_from(obj)

    def _chunk_from(self, obj: Mapping[str, Any]) -> Chunk | None:
        choice = _first_choice(obj)
        text = as_str(as_dict(choice.get("delta")).get("content")) or ""
        finish = as_str(choice.get("finish_reason"))
        usage = usage_from(obj.get("usage"), "prompt_tokens", "completion_tokens")
        if finish:
            self._finished = True
        if not (text or finish or usage):
            return None
        return Chunk(text=text, usage=usage, model=as_str(obj.get("model")), finish_reason=finish)


def build_embeddings(model: str, inputs: Sequence[str], api_key: str | None) -> HttpCall:
    """``POST {base_url}/embeddings`` for a batch of texts."""
    payload = {"model": model, "input": list(inputs)}
    return HttpCall("POST", EMBEDDINGS_PATH, json_headers(bearer(api_key)), encode_json(payload))


def parse_embeddings(body: bytes) -> list[list[float]]:
    """The vectors of an embeddings response, in input order (sorted by ``index``)."""
    data = as_dict(load_json(PROVIDER, body))
    if data.get("error"):
        raise ProviderError(f"{PROVIDER}: {detail_of(data) or 'error in response'}")
    items = [as_dict(item) for item in as_list(data.get("data"))]
    items.sort(key=lambda item: item.get("index", 0))
    vectors = [as_list(item.get("embedding")) for item in items]
    return [[float(x) for x in vector] for vector in vectors]
