"""The OpenAI Chat Completions shape on the proxy's side: a request body in, a ``Call`` out;
a ``Completion`` or ``Chunk`` in, response JSON / SSE events out. Pure: no IO.

What a client may rely on: ``messages`` with string content or text parts; ``system`` and
``developer`` messages become the call's system text (joined by blank lines;
``llmx.messages`` reads the list, as for a batch line); the last
message must be the user's, and the ones before it are the history; ``max_tokens`` or
``max_completion_tokens``, ``temperature``, ``stream`` and ``stream_options.include_usage``
are honoured; so are ``tools``, ``tool_choice`` and a ``json_schema`` ``response_format``
(``llmx.serve.wire_tools``), and tool calls and refusals come back in the reply. A field
llmx cannot honour yet (``functions``, ``logprobs``, images, tool results in ``messages``,
``n`` above 1) is refused with a 400 that names it, never dropped silently.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llmx.messages import BadMessages, split_messages
from llmx.plan import Call
from llmx.serve.wire import BadRequest, ChatCall
from llmx.serve.wire_tools import openai_call_deltas, openai_calls, openai_tooling
from llmx.types import Chunk, Completion, Message, ToolCall

if TYPE_CHECKING:
    from llmx.serve.budgets import Refused

REFUSED_FIELDS = ("functions", "function_call", "logprobs")


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
    tooling = openai_tooling(body)
    call = Call(system=system, temperature=_number(body, "temperature"),
                max_tokens=_max_tokens(body), history=history, tools=tooling.tools,
                tool_choice=tooling.tool_choice, schema=tooling.schema)
    return ChatCall(model, prompt, call, body.get("stream") is True,
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
        "choices": [{"index": 0, "finish_reason": finish_reason(completion.finish_reason),
                     "message": _message(completion)}],
        "usage": usage_json(completion.usage.input_tokens, completion.usage.output_tokens),
    }


def _message(completion: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant",
                               "content": completion.text or (None if completion.tool_calls
                                                              or completion.refusal else "")}
    if completion.tool_calls:
        message["tool_calls"] = openai_calls(completion.tool_calls)
    if completion.refusal:
        message["refusal"] = completion.refusal
    return message


def finish_reason(reason: str | None) -> str:
    """llmx's finish reason as Chat Completions names it (a refusal ends with ``stop``)."""
    return {"length": "length", "tool_calls": "tool_calls",
            "content_filter": "content_filter"}.get(reason or "stop", "stop")


def usage_json(prompt: int, answer: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": answer,
            "total_tokens": prompt + answer}


class ChunkWriter:
    """The SSE events of one streamed answer, in order: a role delta, content deltas, the
    finish reason, then (when asked) a usage event with no choices, then ``[DONE]``."""

    __slots__ = ("_base", "_calls", "_finish", "_model", "_usage", "include_usage")

    def __init__(self, *, ident: str, created: int, model: str, include_usage: bool) -> None:
        self._base = {"id": ident, "object": "chat.completion.chunk", "created": created}
        self._model = model
        self._finish: str | None = None
        self._usage = (0, 0)
        self._calls: tuple[ToolCall, ...] = ()
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
        self._calls += chunk.tool_calls
        delta = {name: value for name, value in (("content", chunk.text),
                                                 ("refusal", chunk.refusal)) if value}
        if not delta:
            return b""
        return self._event({"index": 0, "delta": delta, "finish_reason": None})

    def last(self) -> bytes:
        out = b""
        if self._calls:  # each call whole, at its index (what SDKs assemble from fragments)
            out = self._event({"index": 0, "delta": {"tool_calls": openai_call_deltas(
                self._calls)}, "finish_reason": None})
        out += self._event({"index": 0, "delta": {},
                            "finish_reason": finish_reason(self._finish)})
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


    @staticmethod
    def over_budget(refused: Refused) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
        """A client over its ``[serve]`` budget: OpenAI's 429 body (type ``requests`` or
        ``tokens``, code ``rate_limit_exceeded``) and headers (``retry-after``,
        ``retry-after-ms``, ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``)."""
        seconds = refused.retry_after_s
        message = (f"Rate limit reached for {refused.what} per min on this llmx serve key: "
                   f"Limit {refused.limit}. Please try again in {seconds}s.")
        body = {"error": {"message": message, "type": refused.what, "param": None,
                          "code": "rate_limit_exceeded"}}
        return body, (("retry-after", str(seconds)),
                      ("retry-after-ms", str(math.ceil(refused.retry_after * 1000))),
                      (f"x-ratelimit-limit-{refused.what}", str(refused.limit)),
                      (f"x-ratelimit-remaining-{refused.what}", "0"),
                      (f"x-ratelimit-reset-{refused.what}", f"{seconds}s"))


def error_json(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"
