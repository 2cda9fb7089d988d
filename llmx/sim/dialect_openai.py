"""OpenAI Chat Completions, Embeddings and Models wire format (pure).

Shapes follow the recorded captures: chunk objects carry ``service_tier``,
``system_fingerprint``, ``usage: null`` (when usage was asked for) and an
``obfuscation`` pad; the usage chunk has ``choices: []``; the stream ends with
``data: [DONE]``.

A tool-call answer (``llmx.sim.structured``) is a message with ``content: null`` and
``tool_calls`` (finish_reason ``tool_calls``); streamed, the call's first delta carries its
``id``, ``type`` and ``function.name`` with empty ``arguments``, and each later delta one
fragment of ``function.arguments`` under the same ``index``, as OpenAI streams them.

Reasoning (``llmx.sim.common.reasoning_level``: a ``reasoning_effort`` in the request, or a
model named with "reason"): the reply carries it as vLLM and DeepSeek do, in
``message.reasoning_content`` (streamed: one ``delta.reasoning_content`` chunk per piece,
after the role chunk and before any content), and counts it in
``usage.completion_tokens_details.reasoning_tokens`` (part of ``completion_tokens``).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
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
    optional_int,
    require_model,
)
from llmx.sim.images import openai_part
from llmx.sim.structured import openai_tools

_ERROR_TYPES = {
    "invalid_request": ("invalid_request_error", None),
    "auth": ("invalid_request_error", "invalid_api_key"),
    "not_found": ("invalid_request_error", None),
    "rate_limit": ("requests", "rate_limit_exceeded"),
    "server": ("server_error", None),
    "overloaded": ("server_error", "service_unavailable"),
    "too_large": ("invalid_request_error", "request_too_large"),
}


def parse_chat(obj: dict[str, Any]) -> ChatCall:
    model = require_model(obj, "you must provide a model parameter")
    if "messages" not in obj:
        raise bad_request("Missing required parameter: 'messages'.")
    texts, last_user = message_texts(obj["messages"], openai_part)
    stream = obj.get("stream") is True
    options = obj.get("stream_options")
    include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
    tools, choice, schema = openai_tools(obj)
    return ChatCall(
        model=model,
        texts=texts,
        last_user=last_user,
        max_tokens=optional_int(obj, "max_completion_tokens", "max_tokens"),
        stream=stream,
        include_usage=include_usage,
        tools=tools,
        tool_choice=choice,
        schema=schema,
        reasoning=_effort(obj),
    )


def _effort(obj: dict[str, Any]) -> str | None:
    effort = obj.get("reasoning_effort")
    if effort is None:
        return None
    if effort not in ("minimal", "low", "medium", "high"):
        raise bad_request(f"Invalid value for 'reasoning_effort': {effort!r}.")
    return "low" if effort == "minimal" else str(effort)


def _usage(answer: Answer) -> dict[str, Any]:
    return {
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": len(answer.reasoning),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _finish(answer: Answer) -> str:
    if answer.tool_call is not None:
        return "tool_calls"
    return "length" if answer.truncated else "stop"


def _call_id(answer: Answer) -> str:
    assert answer.tool_call is not None
    return "call_" + answer.tool_call[0]


def _tool_calls(answer: Answer) -> list[dict[str, Any]]:
    assert answer.tool_call is not None
    return [{"id": _call_id(answer), "type": "function",
             "function": {"name": answer.tool_call[1], "arguments": answer.text}}]


def render_chat(call: ChatCall, answer: Answer, meta: Meta) -> bytes:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.text,
        "refusal": None,
        "annotations": [],
    }
    if answer.tool_call is not None:
        message.update(content=None, tool_calls=_tool_calls(answer))
    if answer.reasoning:
        message["reasoning_content"] = "".join(answer.reasoning)
    return dumps(
        {
            "id": meta.id,
            "object": "chat.completion",
            "created": int(meta.created),
            "model": call.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": _finish(answer),
                }
            ],
            "usage": _usage(answer),
            "service_tier": "default",
            "system_fingerprint": None,
        }
    )


def stream_chat(call: ChatCall, answer: Answer, meta: Meta) -> StreamBody:
    prefix = (
        'data: {"id":'
        + jstr(meta.id)
        + ',"object":"chat.completion.chunk","created":'
        + str(int(meta.created))
        + ',"model":'
        + jstr(call.model)
        + ',"service_tier":"default","system_fingerprint":null,"choices":'
    )
    suffix = (',"usage":null' if call.include_usage else "") + ',"obfuscation":"sim0"}\n\n'
    token_head = prefix + '[{"index":0,"delta":{"content":'
    token_tail = '},"logprobs":null,"finish_reason":null}]' + suffix
    role = (
        '[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},'
        '"logprobs":null,"finish_reason":null}]'
    )
    head = (prefix + role + suffix).encode()
    if answer.tool_call is not None:
        start = {"index": 0, "id": _call_id(answer), "type": "function",
                 "function": {"name": answer.tool_call[1], "arguments": ""}}
        first = {"role": "assistant", "content": None, "tool_calls": [start], "refusal": None}
        head = (prefix + '[{"index":0,"delta":' + dumps(first).decode()
                + ',"logprobs":null,"finish_reason":null}]' + suffix).encode()
        token_head = prefix + '[{"index":0,"delta":{"tool_calls":[{"index":0,"function":' \
            '{"arguments":'
        token_tail = '}}]},"logprobs":null,"finish_reason":null}]' + suffix
    if answer.reasoning:
        head += "".join(prefix + '[{"index":0,"delta":{"reasoning_content":' + jstr(piece)
                        + '},"logprobs":null,"finish_reason":null}]' + suffix
                        for piece in answer.reasoning).encode()

    def frames(pieces: Sequence[str], now: float) -> bytes:
        return "".join(token_head + jstr(p) + token_tail for p in pieces).encode()

    def tail(durations: Durations, now: float) -> bytes:
        finish = '[{"index":0,"delta":{},"logprobs":null,"finish_reason":"' + _finish(answer)
        out = prefix + finish + '"}]' + suffix
        if call.include_usage:
            usage = dumps(_usage(answer)).decode()
            out += prefix + '[],"usage":' + usage + ',"obfuscation":"sim0"}\n\n'
        return (out + "data: [DONE]\n\n").encode()

    return StreamBody(b"text/event-stream; charset=utf-8", head, frames, tail)


def parse_embed(obj: dict[str, Any]) -> EmbedCall:
    model = require_model(obj, "you must provide a model parameter")
    if "input" not in obj:
        raise bad_request("Missing required parameter: 'input'.")
    fmt = obj.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        raise bad_request("encoding_format must be 'float' or 'base64'")
    return EmbedCall(
        model, embed_inputs(obj["input"]), optional_int(obj, "dimensions"), fmt == "base64"
    )


def render_embed(call: EmbedCall, vectors: list[list[float]], tokens: int) -> bytes:
    data: list[dict[str, Any]] = []
    for i, vec in enumerate(vectors):
        value: Any = vec
        if call.base64:
            value = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode("ascii")
        data.append({"object": "embedding", "index": i, "embedding": value})
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return dumps({"object": "list", "data": data, "model": call.model, "usage": usage})


def render_models(models: Sequence[str], created: int) -> bytes:
    data = [
        {"id": m, "object": "model", "created": created, "owned_by": "llmx-sim"} for m in models
    ]
    return dumps({"object": "list", "data": data})


def error_body(err: SimError, request_id: str) -> bytes:
    etype, code = _ERROR_TYPES[err.kind]
    return dumps({"error": {"message": err.message, "type": etype, "param": None, "code": code}})
