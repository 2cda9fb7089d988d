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

Reasoning (``thinking: {"type": "enabled", "budget_tokens": N}`` in the request, or a model
named with "reason"): a ``thinking`` block (with a ``signature``) before the answer's block;
streamed, block 0 is the thinking (``thinking_delta`` pieces, then one ``signature_delta``)
and the answer is block 1. As the API does, a budget under 1024 or not below ``max_tokens``
is a 400.
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
from llmx.sim.images import anthropic_part
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
MIN_BUDGET = 1024  # the API's least thinking.budget_tokens
SIGNATURE = "c2ltLXNpZ25hdHVyZQ=="  # what a thinking block's signature holds here


def parse_chat(obj: dict[str, Any]) -> ChatCall:
    model = require_model(obj, "model: Field required")
    if "messages" not in obj:
        raise bad_request("messages: Field required")
    texts, last_user = message_texts(obj["messages"], anthropic_part)
    system = content_text(obj.get("system"))
    if system:
        texts = (system, *texts)
    tools, choice, _ = anthropic_tools(obj)
    max_tokens = optional_int(obj, "max_tokens")
    return ChatCall(
        model=model,
        texts=texts,
        last_user=last_user,
        max_tokens=max_tokens,
        stream=obj.get("stream") is True,
        tools=tools,
        tool_choice=choice,
        reasoning=_thinking(obj.get("thinking"), max_tokens),
    )


def _thinking(thinking: Any, max_tokens: int | None) -> str | None:
    """The reasoning a ``thinking`` field asks for (its budget checked as the API does)."""
    if thinking is None or (isinstance(thinking, dict) and thinking.get("type") == "disabled"):
        return None
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        raise bad_request("thinking: Input tag does not match 'enabled' or 'disabled'")
    budget = thinking.get("budget_tokens")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < MIN_BUDGET:
        raise bad_request(f"thinking.budget_tokens: Input should be greater than or equal "
                          f"to {MIN_BUDGET}")
    if max_tokens is not None and budget >= max_tokens:
        raise bad_request("`max_tokens` must be greater than `thinking.budget_tokens`")
    return "low" if budget < 4096 else "medium" if budget < 16384 else "high"


def _thinking_block(answer: Answer, whole: bool) -> dict[str, Any]:
    return {"type": "thinking", "thinking": "".join(answer.reasoning) if whole else "",
            "signature": SIGNATURE if whole else ""}


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
            "content": [*([_thinking_block(answer, True)] if answer.reasoning else []),
                        _content(answer, whole=True)],
            "stop_reason": _stop_reason(answer),
            "stop_sequence": None,
            "usage": _usage(answer.input_tokens, answer.output_tokens),
        }
    )


def _event(name: str, payload: dict[str, Any]) -> str:
    return "event: " + name + "\ndata: " + dumps(payload).decode() + "\n\n"


def _thinking_events(answer: Answer) -> str:
    """Block 0 of a reasoning answer's stream: the thinking, its signature, its end."""
    if not answer.reasoning:
        return ""
    start = {"type": "content_block_start", "index": 0,
             "content_block": _thinking_block(answer, whole=False)}
    deltas = [{"type": "content_block_delta", "index": 0,
               "delta": {"type": "thinking_delta", "thinking": piece}}
              for piece in answer.reasoning]
    deltas.append({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "signature_delta", "signature": SIGNATURE}})
    return (_event("content_block_start", start)
            + "".join(_event("content_block_delta", delta) for delta in deltas)
            + _event("content_block_stop", {"type": "content_block_stop", "index": 0}))


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
    index = 1 if answer.reasoning else 0  # the answer's block follows the thinking one
    head = (
        _event("message_start", {"type": "message_start", "message": message})
        + _thinking_events(answer)
        + _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": _content(answer, whole=False),
            },
        )
        + _event("ping", {"type": "ping"})
    ).encode()
    delta_head = (
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
        + str(index) + ',"delta":{"type":"text_delta","text":'
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
            _event("content_block_stop", {"type": "content_block_stop", "index": index})
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
