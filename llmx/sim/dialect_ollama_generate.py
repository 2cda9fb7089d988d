"""Ollama ``POST /api/generate`` (pure): one prompt in, NDJSON lines or one JSON body out.

Request: ``model``, ``prompt``, optional ``system``, ``options.num_predict``, ``stream``
(on unless ``false``). Each streamed line is ``{"model", "created_at", "response": PIECE,
"done": false}``; the last has ``"response": ""``, ``"done": true``, ``done_reason`` and
the counts and durations ``/api/chat`` reports. Not streamed: the whole ``response`` with
the same closing fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmx.sim.common import (
    Answer,
    ChatCall,
    Durations,
    Meta,
    StreamBody,
    bad_request,
    dumps,
    jstr,
    require_model,
)
from llmx.sim.dialect_ollama import _done_fields, _num_predict, created_at


def parse_generate(obj: dict[str, Any]) -> ChatCall:
    model = require_model(obj, "model is required")
    prompt = obj.get("prompt", "")
    system = obj.get("system")
    if not isinstance(prompt, str):
        raise bad_request("prompt must be a string")
    texts = (system, prompt) if isinstance(system, str) and system else (prompt,)
    return ChatCall(model=model, texts=texts, last_user=prompt,
                    max_tokens=_num_predict(obj), stream=obj.get("stream") is not False)


def render_generate(call: ChatCall, answer: Answer, meta: Meta, durations: Durations) -> bytes:
    body: dict[str, Any] = {"model": call.model, "created_at": created_at(meta.created),
                            "response": answer.text}
    body.update(_done_fields(answer, durations))
    return dumps(body)


def stream_generate(call: ChatCall, answer: Answer, meta: Meta) -> StreamBody:
    head = '{"model":' + jstr(call.model) + ',"created_at":"'

    def frames(pieces: Sequence[str], now: float) -> bytes:
        line = head + created_at(now) + '","response":'
        return "".join(line + jstr(p) + ',"done":false}\n' for p in pieces).encode()

    def tail(durations: Durations, now: float) -> bytes:
        body: dict[str, Any] = {"model": call.model, "created_at": created_at(now),
                                "response": ""}
        body.update(_done_fields(answer, durations))
        return dumps(body) + b"\n"

    return StreamBody(b"application/x-ndjson", b"", frames, tail)
