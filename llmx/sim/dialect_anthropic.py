"""Anthropic Messages wire format (pure).

Stream event order, as recorded: message_start, content_block_start, ping,
content_block_delta (text_delta) ..., content_block_stop, message_delta (with
stop_reason and usage), message_stop. The streamed objects carry the newer
fields of the recorded stream (``stop_details``, ``inference_geo``); the whole
message mirrors the recorded non-streamed one.

A tool-call answer (``llmx.sim.structured``; a structured answer asked through a forced tool
is one) is a ``tool_use`` block (stop_reason ``tool_use``); streamed, its
``content_block_start`` has ``input: {}`` and each ``input_json_delta`` one fragment of the
input's JSON, as recorded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llmx.sim.common import (
    Answer,
    ChatCall,
    Durations,
    Meta,
    SimError,
    StreamBody,
    bad_request,
    content_text,
    dumps,
    jstr,
    message_texts,
    optional_int,
    require_model,
)
from llmx.sim.structured import anthropic_tools

_ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "auth": "authentication_error",
    "not_found": "not_found_error",
    "rate_limit": "rate_limit_error",
    "server": "api_error",
    "overloaded": "overloaded_error",
    "too_large": "request_too_large",
}


def parse_chat(obj: dict[str, Any]) -> ChatCall:
    model = require_model(obj, "model: Field required")
    if "messages" not in obj:
        raise bad_request("messages: Field required")
    texts, last_user = message_texts(obj["messages"])
    system = content_text(obj.get("system"))
    if system:
        texts = (system, *texts)
    tools, choice, _ = anthropic_tools(obj)
    return ChatCall(
        model=model,
        texts=texts,
        last_user=last_user,
        max_tokens=optional_int(obj, "max_tokens"),
        stream=obj.get("stream") is True,
        tools=tools,
        tool_choice=choice,
    )


def _stop_reason(answer: Answer) -> str:
    if answer.tool_call is not None:
        return "tool_use"
    return "max_tokens" if answer.truncated else "end_turn"


def _content(answer: Answer, whole: bool) -> dict[str, Any]:
    """The answer's content block (streamed: as ``content_block_start`` gives it)."""
    if answer.tool_call is None:
        return {"type": "text", "text": answer.text if whole else ""}
    suffix, name = answer.tool_call
    return {"type": "tool_use", "id": "toolu_" + suffix, "name": name,
            "input": json.loads(answer.text) if whole else {}}


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def render_chat(call: ChatCall, answer: Answer, meta: Meta) -> bytes:
    return dumps(
        {
            "id": meta.id,
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": [_content(answer, whole=True)],
            "stop_reason": _stop_reason(answer),
            "stop_sequence": None,
            "usage": _usage(answer.input_tokens, answer.output_tokens),
        }
    )


def _event(name: str, payload: dict[str, Any]) -> str:
    return "event: " + name + "\ndata: " + dumps(payload).decode() + "\n\n"


def stream_chat(call: ChatCall, answer: Answer, meta: Meta) -> StreamBody:
    message: dict[str, Any] = {
        "model": call.model,
        "id": meta.id,
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "stop_details": None,
        "usage": {**_usage(answer.input_tokens, 1), "inference_geo": "not_available"},
    }
    head = (
        _event("message_start", {"type": "message_start", "message": message})
        + _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": _content(answer, whole=False),
            },
        )
        + _event("ping", {"type": "ping"})
    ).encode()
    delta_head = (
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        '"delta":{"type":"text_delta","text":'
    )
    if answer.tool_call is not None:
        delta_head = delta_head.replace('"text_delta","text":',
                                        '"input_json_delta","partial_json":')

    def frames(pieces: Sequence[str], now: float) -> bytes:
        return "".join(delta_head + jstr(p) + "}}\n\n" for p in pieces).encode()

    def tail(durations: Durations, now: float) -> bytes:
        usage = {
            "input_tokens": answer.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": answer.output_tokens,
        }
        delta = {"stop_reason": _stop_reason(answer), "stop_sequence": None, "stop_details": None}
        return (
            _event("content_block_stop", {"type": "content_block_stop", "index": 0})
            + _event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
            + _event("message_stop", {"type": "message_stop"})
        ).encode()

    return StreamBody(b"text/event-stream; charset=utf-8", head, frames, tail)


def error_body(err: SimError, request_id: str) -> bytes:
    return dumps(
        {
            "type": "error",
            "error": {"type": _ERROR_TYPES[err.kind], "message": err.message},
            "request_id": request_id,
        }
    )
