"""The OpenAI Chat Completions shape on the proxy's side: a request body in, a ``Call`` out;
a ``Completion`` or ``Chunk`` in, response JSON / SSE events out. Pure: no IO.

What a client may rely on: ``messages`` with string content or text parts; ``system`` and
``developer`` messages become the call's system text (joined by blank lines;
``llmx.messages`` reads the list, as for a batch line); the last
message must be the user's, and the ones before it are the history; ``max_tokens`` or
``max_completion_tokens``, ``temperature``, ``stream`` and ``stream_options.include_usage``
are honoured. A field llmx cannot honour yet (``tools``, ``response_format``, images, ``n``
above 1) is refused with a 400 that names it, never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from llmx.messages import BadMessages, split_messages
from llmx.plan import Call
from llmx.types import Chunk, Completion, Message

REFUSED_FIELDS = ("tools", "tool_choice", "functions", "response_format", "logprobs")


class BadRequest(Exception):
    """The request body is not one llmx can serve; ``str(exc)`` says why (a 400)."""


class ChatCall(NamedTuple):
    model: str | None  # the request's ``model``: a profile name, or a model of the default
    prompt: str
    call: Call
    stream: bool
    include_usage: bool


def parse_chat(body: Any) -> ChatCall:
    """The call a ``/v1/chat/completions`` body asks for (raises ``BadRequest``)."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    for field in REFUSED_FIELDS:
        if body.get(field) not in (None, [], False):
            raise BadRequest(f"`{field}` is not supported by llmx serve yet")
    if body.get("n", 1) != 1:
        raise BadRequest("`n` other than 1 is not supported")
    system, history, prompt = _conversation(body.get("messages"))
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise BadRequest("`model` must be a string")
    options = body.get("stream_options") or {}
    return ChatCall(model, prompt, Call(system=system, temperature=_number(body, "temperature"),
                                        max_tokens=_max_tokens(body), history=history),
                    body.get("stream") is True,
                    isinstance(options, dict) and options.get("include_usage") is True)


def _conversation(messages: Any) -> tuple[str | None, tuple[Message, ...], str]:
    try:
        systems, turns = split_messages(messages)
    except BadMessages as exc:
        raise BadRequest(str(exc)) from None
    if not turns or turns[-1].role != "user":
        raise BadRequest("the last message must be the user's")
    return ("\n\n".join(systems) or None), tuple(turns[:-1]), turns[-1].content


def _number(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"`{name}` must be a number")
    return float(value)


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest("`max_tokens` must be a positive integer")
    return value


def completion_json(completion: Completion, *, ident: str, created: int) -> dict[str, Any]:
    """A whole ``chat.completion`` object."""
    return {
        "id": ident, "object": "chat.completion", "created": created,
        "model": completion.model,
        "choices": [{"index": 0, "finish_reason": completion.finish_reason or "stop",
                     "message": {"role": "assistant", "content": completion.text}}],
        "usage": usage_json(completion.usage.input_tokens, completion.usage.output_tokens),
    }


def usage_json(prompt: int, answer: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": answer,
            "total_tokens": prompt + answer}


class ChunkWriter:
    """The SSE events of one streamed answer, in order: a role delta, content deltas, the
    finish reason, then (when asked) a usage event with no choices, then ``[DONE]``."""

    __slots__ = ("_base", "_finish", "_model", "_usage", "include_usage")

    def __init__(self, *, ident: str, created: int, model: str, include_usage: bool) -> None:
        self._base = {"id": ident, "object": "chat.completion.chunk", "created": created}
        self._model = model
        self._finish: str | None = None
        self._usage = (0, 0)
        self.include_usage = include_usage

    def first(self) -> bytes:
        return self._event({"index": 0, "delta": {"role": "assistant", "content": ""},
                            "finish_reason": None})

    def chunk(self, chunk: Chunk) -> bytes:
        """The event of ``chunk``'s text (empty bytes when it has none); notes its ending."""
        if chunk.model:
            self._model = chunk.model
        if chunk.finish_reason:
            self._finish = chunk.finish_reason
        if chunk.usage is not None:
            self._usage = (chunk.usage.input_tokens, chunk.usage.output_tokens)
        if not chunk.text:
            return b""
        return self._event({"index": 0, "delta": {"content": chunk.text},
                            "finish_reason": None})

    def last(self) -> bytes:
        out = self._event({"index": 0, "delta": {}, "finish_reason": self._finish or "stop"})
        if self.include_usage:
            out += _sse({**self._base, "model": self._model, "choices": [],
                         "usage": usage_json(*self._usage)})
        return out + b"data: [DONE]\n\n"

    def _event(self, choice: dict[str, Any]) -> bytes:
        return _sse({**self._base, "model": self._model, "choices": [choice]})


class OpenAIDialect:
    """The Chat Completions route's shapes, for ``llmx.serve.chat``."""

    prefix = "chatcmpl-llmx-"

    @staticmethod
    def parse(body: object) -> ChatCall:
        return parse_chat(body)

    @staticmethod
    def whole(completion: Completion, ident: str, created: int) -> dict[str, Any]:
        return completion_json(completion, ident=ident, created=created)

    @staticmethod
    def writer(ident: str, created: int, model: str, include_usage: bool) -> ChunkWriter:
        return ChunkWriter(ident=ident, created=created, model=model,
                           include_usage=include_usage)

    @staticmethod
    def error(kind: str, message: str) -> dict[str, Any]:
        return error_json(kind, message)

    @staticmethod
    def stream_error(kind: str, message: str) -> bytes:
        """An in-band error after the stream has started (the status line is already sent);
        no ``[DONE]`` follows, so no client takes the cut answer for a whole one."""
        return _sse(error_json(kind, message))


def error_json(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"
