"""The Anthropic Messages shape on the proxy's side (``POST /v1/messages``). Pure: no IO.

What a client may rely on: ``messages`` alternate ``user`` / ``assistant`` turns with string
content or text blocks, the last one the user's; ``system`` is a string or text blocks;
``max_tokens`` is required (as the Messages API requires it); ``temperature``, ``stream``,
``tools`` and ``tool_choice`` are honoured (``tool_use`` blocks come back). Fields llmx
cannot honour yet (``thinking``, image or document blocks, ``tool_result`` blocks) get a 400
that names them. The reply is a
``message`` object, or the Messages event stream (``message_start``,
``content_block_start``, ``content_block_delta`` ``text_delta``s, ``content_block_stop``,
``message_delta`` with the stop reason and output tokens, ``message_stop``).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from llmx.messages import BadMessages, split_messages
from llmx.plan import Call
from llmx.serve.wire import BadRequest, ChatCall
from llmx.serve.wire_tools import anthropic_blocks, anthropic_tooling
from llmx.types import Chunk, Completion, ToolCall

if TYPE_CHECKING:
    from llmx.serve.budgets import Refused

REFUSED_FIELDS = ("thinking",)
STOP_REASONS = {"stop": "end_turn", "end_turn": "end_turn", "length": "max_tokens",
                "max_tokens": "max_tokens", "stop_sequence": "stop_sequence",
                "tool_calls": "tool_use", "tool_use": "tool_use", "refusal": "refusal"}
ERROR_TYPES = {  # llmx's error kinds -> the Messages API's error types
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error", "not_found_error": "not_found_error",
    "rate_limit_error": "rate_limit_error", "upstream_overloaded": "overloaded_error",
}


def parse_messages(body: Any) -> ChatCall:
    """The call a ``/v1/messages`` body asks for (raises ``BadRequest``)."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    for field in REFUSED_FIELDS:
        if body.get(field) not in (None, []):
            raise BadRequest(f"`{field}` is not supported by llmx serve yet")
    try:
        systems, turns = split_messages(body.get("messages"))
        system = _system(body.get("system"))
    except BadMessages as exc:
        raise BadRequest(str(exc)) from None
    if systems:
        raise BadRequest("a system prompt goes in the top-level `system` field")
    if turns[-1].role != "user":
        raise BadRequest("the last message must be the user's")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise BadRequest("`max_tokens` is required: a positive integer")
    temperature = body.get("temperature")
    if temperature is not None and (isinstance(temperature, bool)
                                    or not isinstance(temperature, int | float)):
        raise BadRequest("`temperature` must be a number")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise BadRequest("`model` must be a string")
    tooling = anthropic_tooling(body)
    call = Call(system=system, max_tokens=max_tokens, history=tuple(turns[:-1]),
                temperature=None if temperature is None else float(temperature),
                tools=tooling.tools, tool_choice=tooling.tool_choice)
    return ChatCall(model, turns[-1].content, call, body.get("stream") is True, True)


def _system(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = [block.get("text") for block in value
                 if isinstance(block, dict) and block.get("type") == "text"]
        if len(texts) == len(value) and all(isinstance(t, str) for t in texts):
            return "\n".join(str(t) for t in texts) or None
    raise BadMessages("`system` must be a string or a list of text blocks")


def _usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens}


class MessageWriter:
    """The Messages event stream of one answer."""

    __slots__ = ("_calls", "_finish", "_ident", "_input", "_model", "_output")

    def __init__(self, ident: str, model: str) -> None:
        self._ident, self._model = ident, model
        self._finish: str | None = None
        self._input = self._output = 0
        self._calls: tuple[ToolCall, ...] = ()

    def first(self) -> bytes:
        message: dict[str, Any] = {"id": self._ident, "type": "message", "role": "assistant",
                   "model": self._model, "content": [], "stop_reason": None,
                   "stop_sequence": None, "usage": _usage(self._input, 0)}
        return (_event("message_start", {"type": "message_start", "message": message})
                + _event("content_block_start", {"type": "content_block_start", "index": 0,
                                                 "content_block": {"type": "text", "text": ""}}))

    def chunk(self, chunk: Chunk) -> bytes:
        if chunk.finish_reason:
            self._finish = chunk.finish_reason
        if chunk.usage is not None:
            self._input, self._output = chunk.usage.input_tokens, chunk.usage.output_tokens
        self._calls += chunk.tool_calls
        text = chunk.text or chunk.refusal
        if not text:
            return b""
        return _event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": text}})

    def last(self) -> bytes:
        stop = STOP_REASONS.get(self._finish or "stop", "end_turn")
        return (_event("content_block_stop", {"type": "content_block_stop", "index": 0})
                + b"".join(_tool_events(i, call) for i, call in enumerate(self._calls, 1))
                + _event("message_delta", {"type": "message_delta",
                                           "delta": {"stop_reason": stop,
                                                     "stop_sequence": None},
                                           "usage": {"output_tokens": self._output}})
                + _event("message_stop", {"type": "message_stop"}))


class AnthropicDialect:
    """The Messages route's shapes, for ``llmx.serve.chat``."""

    prefix = "msg_llmx"

    @staticmethod
    def parse(body: object) -> ChatCall:
        return parse_messages(body)

    @staticmethod
    def whole(completion: Completion, ident: str, created: int) -> dict[str, Any]:
        text = completion.text or completion.refusal
        blocks = [{"type": "text", "text": text}] if text or not completion.tool_calls else []
        return {"id": ident, "type": "message", "role": "assistant", "model": completion.model,
                "content": blocks + anthropic_blocks(completion.tool_calls),
                "stop_reason": STOP_REASONS.get(completion.finish_reason or "stop", "end_turn"),
                "stop_sequence": None,
                "usage": _usage(completion.usage.input_tokens, completion.usage.output_tokens)}

    @staticmethod
    def writer(ident: str, created: int, model: str, include_usage: bool) -> MessageWriter:
        return MessageWriter(ident, model)

    @staticmethod
    def error(kind: str, message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": ERROR_TYPES.get(kind, "api_error"),
                                           "message": message}}

    @staticmethod
    def stream_error(kind: str, message: str) -> bytes:
        return _event("error", AnthropicDialect.error(kind, message))


    @staticmethod
    def over_budget(refused: Refused) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
        """A client over its ``[serve]`` budget: the Messages API's ``rate_limit_error`` and
        its headers (``retry-after``, ``anthropic-ratelimit-{requests,tokens}-{limit,
        remaining,reset}``, the reset as an RFC 3339 time)."""
        seconds = refused.retry_after_s
        reset = datetime.fromtimestamp(time.time() + refused.retry_after, UTC)
        message = (f"This llmx serve key is over its {refused.limit} {refused.what} a "
                   f"minute; try again in {seconds}s.")
        prefix = f"anthropic-ratelimit-{refused.what}"
        return (AnthropicDialect.error("rate_limit_error", message),
                (("retry-after", str(seconds)), (f"{prefix}-limit", str(refused.limit)),
                 (f"{prefix}-remaining", "0"),
                 (f"{prefix}-reset", reset.isoformat(timespec="seconds").replace("+00:00",
                                                                                  "Z"))))


def _tool_events(index: int, call: ToolCall) -> bytes:
    """A whole tool call as the Messages stream sends one: its block, its input as one
    ``input_json_delta``, the block's end."""
    start = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
    return (_event("content_block_start", {"type": "content_block_start", "index": index,
                                           "content_block": start})
            + _event("content_block_delta", {"type": "content_block_delta", "index": index,
                                             "delta": {"type": "input_json_delta",
                                                       "partial_json": call.arguments}})
            + _event("content_block_stop", {"type": "content_block_stop", "index": index}))


def _event(name: str, data: dict[str, Any]) -> bytes:
    return (f"event: {name}\ndata: ".encode() + json.dumps(data, separators=(",", ":")).encode()
            + b"\n\n")
