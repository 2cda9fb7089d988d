"""Ollama native ``/api/chat`` and ``/api/embed`` wire format (pure).

Streams are NDJSON (``application/x-ndjson``) and stream by default unless the
request says ``"stream": false``; the last line has ``"done": true`` with the
token counts and durations in nanoseconds. Errors are ``{"error": "..."}``.

A tool-call answer (``llmx.sim.structured``) is ``message.tool_calls`` with the arguments
as an object, whole (Ollama does not fragment them): streamed, one line with the call once
every piece of the answer is out, then the ``done`` line (``done_reason: "stop"``, as Ollama
says after a tool call). A ``format`` answer is JSON text streamed like any other.

Reasoning (``think`` true or a level in the request, or a model named with "reason"; ``think:
false`` turns it off): ``message.thinking`` beside ``message.content`` (streamed: one line per
thinking piece, with empty ``content``, before the answer's lines); ``eval_count`` counts it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from llmx.sim.common import (
    Answer,
    ChatCall,
    Durations,
    EmbedCall,
    Meta,
    SimError,
    StreamBody,
    bad_request,
    dumps,
    embed_inputs,
    jstr,
    message_texts,
    require_model,
)
from llmx.sim.images import ollama_images
from llmx.sim.structured import ollama_tools

_LOAD_NS = 1_000_000  # a nominal, constant model load time
_MIN_NS_PER_TOKEN = 1_000


def created_at(wall: float) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``, as Ollama writes it."""
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _num_predict(obj: dict[str, Any]) -> int | None:
    options = obj.get("options")
    if options is None:
        return None
    if not isinstance(options, dict):
        raise bad_request("options must be an object")
    value = options.get("num_predict")
    if value is None or (isinstance(value, int) and value < 0):
        return None  # absent or -1: no limit
    if isinstance(value, bool) or not isinstance(value, int) or value == 0:
        raise bad_request("num_predict must be a positive integer or -1")
    return value


def parse_chat(obj: dict[str, Any]) -> ChatCall:
    model = require_model(obj, "model is required")
    texts, last_user = message_texts(obj.get("messages", []), images=ollama_images)
    tools, choice, schema = ollama_tools(obj)
    return ChatCall(
        model=model,
        texts=texts,
        last_user=last_user,
        max_tokens=_num_predict(obj),
        stream=obj.get("stream", True) is not False,
        tools=tools,
        tool_choice=choice,
        schema=schema,
        reasoning=_think(obj),
    )


def _think(obj: dict[str, Any]) -> str | None:
    think = obj.get("think")
    if think is None or think is False:
        return None
    if think is True:
        return "on"
    if think in ("low", "medium", "high"):
        return str(think)
    raise bad_request(f"invalid think value: {think!r}")


def _done_fields(answer: Answer, durations: Durations) -> dict[str, Any]:
    # real servers never report 0 ns; keep rates (count / duration) finite
    prompt_ns = max(round(durations.prompt * 1e9), answer.input_tokens * _MIN_NS_PER_TOKEN)
    eval_ns = max(round(durations.generate * 1e9), answer.output_tokens * _MIN_NS_PER_TOKEN)
    return {
        "done_reason": "length" if answer.truncated else "stop",
        "done": True,
        "total_duration": _LOAD_NS + prompt_ns + eval_ns,
        "load_duration": _LOAD_NS,
        "prompt_eval_count": answer.input_tokens,
        "prompt_eval_duration": prompt_ns,
        "eval_count": answer.output_tokens,
        "eval_duration": eval_ns,
    }


def _message(answer: Answer, whole: bool) -> dict[str, Any]:
    if answer.tool_call is None:
        message = {"role": "assistant", "content": answer.text if whole else ""}
        if whole and answer.reasoning:
            message["thinking"] = "".join(answer.reasoning)
        return message
    call = {"function": {"name": answer.tool_call[1], "arguments": json.loads(answer.text)}}
    return {"role": "assistant", "content": "", "tool_calls": [call]}


def render_chat(call: ChatCall, answer: Answer, meta: Meta, durations: Durations) -> bytes:
    body = {
        "model": call.model,
        "created_at": created_at(meta.created),
        "message": _message(answer, whole=True),
    }
    body.update(_done_fields(answer, durations))
    return dumps(body)


def stream_chat(call: ChatCall, answer: Answer, meta: Meta) -> StreamBody:
    model = '{"model":' + jstr(call.model) + ',"created_at":"'
    middle = '","message":{"role":"assistant","content":'

    sent = [0]  # pieces out so far (a tool call goes out whole, after the last one)

    def frames(pieces: Sequence[str], now: float) -> bytes:
        line_head = model + created_at(now) + middle
        if answer.tool_call is None:
            return "".join(line_head + jstr(p) + '},"done":false}\n' for p in pieces).encode()
        sent[0] += len(pieces)
        if sent[0] < len(answer.pieces):
            return b""
        line = {"model": call.model, "created_at": created_at(now),
                "message": _message(answer, whole=True), "done": False}
        return dumps(line) + b"\n"

    def tail(durations: Durations, now: float) -> bytes:
        body = {
            "model": call.model,
            "created_at": created_at(now),
            "message": {"role": "assistant", "content": ""},
        }
        body.update(_done_fields(answer, durations))
        return dumps(body) + b"\n"

    head = b"".join(
        dumps({"model": call.model, "created_at": created_at(meta.created),
               "message": {"role": "assistant", "content": "", "thinking": piece},
               "done": False}) + b"\n"
        for piece in answer.reasoning)
    return StreamBody(b"application/x-ndjson", head, frames, tail)


def parse_embed(obj: dict[str, Any]) -> EmbedCall:
    model = require_model(obj, "model is required")
    dims = obj.get("dimensions")
    if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < 1):
        raise bad_request("dimensions must be a positive integer")
    return EmbedCall(model, embed_inputs(obj.get("input", "")), dims)


def render_embed(
    call: EmbedCall, vectors: list[list[float]], tokens: int, durations: Durations
) -> bytes:
    prompt_ns = max(round(durations.prompt * 1e9), tokens * _MIN_NS_PER_TOKEN)
    return dumps(
        {
            "model": call.model,
            "embeddings": vectors,
            "total_duration": _LOAD_NS + prompt_ns,
            "load_duration": _LOAD_NS,
            "prompt_eval_count": tokens,
        }
    )


def error_body(err: SimError, request_id: str) -> bytes:
    return dumps({"error": err.message})
