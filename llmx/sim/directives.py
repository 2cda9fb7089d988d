"""Per-request reply shapes: a prompt asks the simulator for one of the replies real
providers send besides a plain answer (pure; no IO).

A last user message containing ``[[sim:NAME]]`` gets reply NAME in the request's dialect;
``[[sim:NAME*K]]`` only for the first K requests with that same message (then plain
answers), so a retry can be seen to succeed. A shape a dialect has no equivalent for
answers 400. The shapes follow the recorded captures and the providers' documentation:

- ``tool_calls``: OpenAI ``tool_calls`` (finish_reason ``tool_calls``), Anthropic a
  ``tool_use`` block (stop_reason ``tool_use``), Ollama ``message.tool_calls`` followed by
  ``done_reason: "stop"`` (what Ollama sends after a tool call).
- ``refusal``: OpenAI ``message.refusal`` / ``delta.refusal`` (finish_reason ``stop``),
  Anthropic stop_reason ``refusal`` after a little text.
- ``content_filter`` (OpenAI): some text, then finish_reason ``content_filter``.
- ``no_message`` (OpenAI): a choice with no message (streamed: chunks with no delta).
- ``load`` (Ollama): the bare ``done_reason: "load"`` reply of a model load.
- ``overloaded`` / ``rate_limited``: streamed, an in-band error before any text (OpenAI
  ``server_is_overloaded`` / ``rate_limit_exceeded`` chunks, Anthropic ``event: error``
  with ``overloaded_error`` / ``rate_limit_error``); not streamed, and always for Ollama
  (which refuses before a stream starts), the HTTP error each stands for (503 / 529 / 429).
- ``error_after_text``: streamed, some text and then an in-band server error (Ollama: an
  ``{"error": ...}`` line, a model-runner failure).
- ``error_then_done`` (OpenAI dialect): some text, vLLM's ``{"object": "error", ...}``
  chunk, then ``data: [DONE]`` as vLLM's stream generator sends it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llmx.sim.common import Answer, ChatCall, Meta, SimError, bad_request, dumps

_PATTERN = re.compile(r"\[\[sim:([a-z_]+)(?:\*(\d+))?\]\]")
SSE = b"text/event-stream; charset=utf-8"
NDJSON = b"application/x-ndjson"
JSON = b"application/json"
PARTIAL = 3  # pieces of text sent before a partial reply's end
TOOL_NAME = "get_weather"


@dataclass(frozen=True, slots=True)
class Directive:
    name: str
    times: int | None  # None: every time

    def applies(self, seen: int) -> bool:
        """Whether the ``seen``-th request (1-based) with this prompt gets the shape."""
        return self.times is None or seen <= self.times


def find(text: str) -> Directive | None:
    found = _PATTERN.search(text)
    if found is None:
        return None
    times = found.group(2)
    return Directive(found.group(1), None if times is None else int(times))


@dataclass(frozen=True, slots=True)
class Shaped:
    """A directed reply: sent whole (a stream's events all at once)."""

    status: int
    content_type: bytes
    body: bytes


Render = Callable[[ChatCall, Answer, Meta], Shaped]


def render(dialect: str, directive: Directive, call: ChatCall, answer: Answer,
           meta: Meta) -> Shaped:
    table = _OPENAI if dialect == "openai" else _ANTHROPIC if dialect == "anthropic" else _OLLAMA
    shape = table.get(directive.name)
    if shape is None:
        raise bad_request(f"sim directive {directive.name!r} has no {dialect} equivalent")
    return shape(call, answer, meta)


def supports(dialect: str, name: str) -> bool:
    """Whether ``dialect`` has a reply shape called ``name``."""
    table = _OPENAI if dialect == "openai" else _ANTHROPIC if dialect == "anthropic" else _OLLAMA
    return name in table


def _head(answer: Answer) -> list[str]:
    return list(answer.pieces[:PARTIAL])


# --- OpenAI Chat Completions ----------------------------------------------------------------

_OA_ERRORS: Mapping[str, tuple[int, dict[str, Any]]] = {
    "overloaded": (503, {"message": "Our servers are currently overloaded. Please try again "
                         "later.", "type": "service_unavailable_error", "param": None,
                         "code": "server_is_overloaded"}),
    "rate_limited": (429, {"message": "Rate limit reached (simulated).", "type": "requests",
                           "param": None, "code": "rate_limit_exceeded"}),
    "error_after_text": (500, {"message": "The server had an error while processing your "
                               "request (simulated).", "type": "server_error", "param": None,
                               "code": None}),
}
_TOOL_CALL = {"id": "call_sim0001", "type": "function",
              "function": {"name": TOOL_NAME, "arguments": '{"city":"Paris"}'}}
_REFUSAL = "I'm sorry, but I can't help with that."


def _oa_frame(call: ChatCall, meta: Meta, choices: list[dict[str, Any]]) -> bytes:
    obj = {"id": meta.id, "object": "chat.completion.chunk", "created": int(meta.created),
           "model": call.model, "system_fingerprint": None, "choices": choices}
    return b"data: " + dumps(obj) + b"\n\n"


def _oa_delta(call: ChatCall, meta: Meta, delta: dict[str, Any],
              finish: str | None = None) -> bytes:
    return _oa_frame(call, meta, [{"index": 0, "delta": delta, "logprobs": None,
                                   "finish_reason": finish}])


def _oa_stream(call: ChatCall, meta: Meta, *frames: bytes, done: bool = True) -> Shaped:
    role = _oa_delta(call, meta, {"role": "assistant", "content": "", "refusal": None})
    tail = b"data: [DONE]\n\n" if done else b""
    return Shaped(200, SSE, role + b"".join(frames) + tail)


def _oa_whole(call: ChatCall, meta: Meta, choice: dict[str, Any]) -> Shaped:
    body = {"id": meta.id, "object": "chat.completion", "created": int(meta.created),
            "model": call.model, "choices": [{"index": 0, "logprobs": None, **choice}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    return Shaped(200, JSON, dumps(body))


def _oa_message(**fields: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "refusal": None, "annotations": [], **fields}


def _oa_tool_calls(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
    if not call.stream:
        return _oa_whole(call, meta, {"message": _oa_message(tool_calls=[_TOOL_CALL]),
                                      "finish_reason": "tool_calls"})
    function = {"name": TOOL_NAME, "arguments": ""}
    first = {"index": 0, "id": _TOOL_CALL["id"], "type": "function", "function": function}
    args = {"index": 0, "function": {"arguments": '{"city":"Paris"}'}}
    return _oa_stream(call, meta, _oa_delta(call, meta, {"tool_calls": [first]}),
                      _oa_delta(call, meta, {"tool_calls": [args]}),
                      _oa_delta(call, meta, {}, "tool_calls"))


def _oa_refusal(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
    if not call.stream:
        return _oa_whole(call, meta, {"message": _oa_message(refusal=_REFUSAL),
                                      "finish_reason": "stop"})
    words = _REFUSAL.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    frames = [_oa_delta(call, meta, {"refusal": p}) for p in pieces]
    return _oa_stream(call, meta, *frames, _oa_delta(call, meta, {}, "stop"))


def _oa_content_filter(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
    text = "".join(_head(answer))
    if not call.stream:
        return _oa_whole(call, meta, {"message": _oa_message(content=text),
                                      "finish_reason": "content_filter"})
    frames = [_oa_delta(call, meta, {"content": p}) for p in _head(answer)]
    return _oa_stream(call, meta, *frames, _oa_delta(call, meta, {}, "content_filter"))


def _oa_no_message(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
    if not call.stream:
        return _oa_whole(call, meta, {"finish_reason": None})
    return Shaped(200, SSE, _oa_frame(call, meta, [{"index": 0}]) + b"data: [DONE]\n\n")


def _oa_error(name: str) -> Render:
    status, error = _OA_ERRORS[name]

    def shape(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
        if not call.stream:
            return Shaped(status, JSON, dumps({"error": error}))
        text = [] if name != "error_after_text" else _head(answer)
        frames = [_oa_delta(call, meta, {"content": p}) for p in text]
        return _oa_stream(call, meta, *frames, b"data: " + dumps({"error": error}) + b"\n\n",
                          done=False)

    return shape


def _oa_error_then_done(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
    if not call.stream:
        raise bad_request("sim directive 'error_then_done' needs a streamed request")
    error = {"object": "error", "message": "The model ran out of memory (simulated).",
             "type": "InternalServerError", "param": None, "code": 500}
    frames = [_oa_delta(call, meta, {"content": p}) for p in _head(answer)]
    return _oa_stream(call, meta, *frames, b"data: " + dumps(error) + b"\n\n")


_OPENAI: Mapping[str, Render] = {
    "tool_calls": _oa_tool_calls,
    "refusal": _oa_refusal,
    "content_filter": _oa_content_filter,
    "no_message": _oa_no_message,
    "overloaded": _oa_error("overloaded"),
    "rate_limited": _oa_error("rate_limited"),
    "error_after_text": _oa_error("error_after_text"),
    "error_then_done": _oa_error_then_done,
}


# --- Anthropic Messages ---------------------------------------------------------------------

_AN_ERRORS: Mapping[str, tuple[int, str, str]] = {
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "rate_limited": (429, "rate_limit_error", "Rate limit reached (simulated)."),
    "error_after_text": (500, "api_error", "Internal server error"),
}
_TOOL_USE = {"type": "tool_use", "id": "toolu_sim0001", "name": TOOL_NAME,
             "input": {"city": "Paris"}}


def _an_event(name: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dumps(payload) + b"\n\n"


def _an_start(call: ChatCall, meta: Meta) -> bytes:
    message: dict[str, Any] = {
        "id": meta.id, "type": "message", "role": "assistant", "model": call.model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    return _an_event("message_start", {"type": "message_start", "message": message})


def _an_block(index: int, block: dict[str, Any], deltas: list[dict[str, Any]]) -> bytes:
    out = [_an_event("content_block_start", {"type": "content_block_start", "index": index,
                                             "content_block": block})]
    out += [_an_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": d}) for d in deltas]
    out.append(_an_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    return b"".join(out)


def _an_text_block(pieces: list[str]) -> bytes:
    deltas = [{"type": "text_delta", "text": p} for p in pieces]
    return _an_block(0, {"type": "text", "text": ""}, deltas)


def _an_end(stop_reason: str) -> bytes:
    delta = {"stop_reason": stop_reason, "stop_sequence": None}
    return (_an_event("message_delta", {"type": "message_delta", "delta": delta,
                                        "usage": {"output_tokens": 1}})
            + _an_event("message_stop", {"type": "message_stop"}))


def _an_whole(call: ChatCall, meta: Meta, content: list[dict[str, Any]], stop: str) -> Shaped:
    body = {"id": meta.id, "type": "message", "role": "assistant", "model": call.model,
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1}}
    return Shaped(200, JSON, dumps(body))


def _an_tool_use(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
    if not call.stream:
        return _an_whole(call, meta, [_TOOL_USE], "tool_use")
    block = {**_TOOL_USE, "input": {}}
    deltas = [{"type": "input_json_delta", "partial_json": '{"city":"Paris"}'}]
    return Shaped(200, SSE, _an_start(call, meta) + _an_block(0, block, deltas)
                  + _an_end("tool_use"))


def _an_refusal(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
    if not call.stream:
        return _an_whole(call, meta, [{"type": "text", "text": "".join(_head(answer))}],
                         "refusal")
    return Shaped(200, SSE, _an_start(call, meta) + _an_text_block(_head(answer))
                  + _an_end("refusal"))


def _an_error(name: str) -> Render:
    status, kind, message = _AN_ERRORS[name]
    error = {"type": "error", "error": {"type": kind, "message": message}}

    def shape(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
        if not call.stream:
            return Shaped(status, JSON, dumps(error))
        text = _an_text_block(_head(answer)) if name == "error_after_text" else b""
        return Shaped(200, SSE, _an_start(call, meta) + text + _an_event("error", error))

    return shape


_ANTHROPIC: Mapping[str, Render] = {
    "tool_calls": _an_tool_use,
    "refusal": _an_refusal,
    "overloaded": _an_error("overloaded"),
    "rate_limited": _an_error("rate_limited"),
    "error_after_text": _an_error("error_after_text"),
}


# --- Ollama ---------------------------------------------------------------------------------

_OL_RUNNER_ERROR = "an error was encountered while running the model (simulated)"
_OL_HTTP: Mapping[str, tuple[int, str]] = {
    "overloaded": (503, "server busy, please try again.  maximum pending requests exceeded"),
    "rate_limited": (429, "too many requests (simulated)"),
    "error_after_text": (500, _OL_RUNNER_ERROR),
}


def _ol_line(call: ChatCall, meta: Meta, message: dict[str, Any], **fields: Any) -> bytes:
    from llmx.sim.dialect_ollama import created_at

    obj = {"model": call.model, "created_at": created_at(meta.created),
           "message": {"role": "assistant", **message}, **fields}
    return dumps(obj) + b"\n"


def _ol_done(call: ChatCall, meta: Meta, reason: str) -> bytes:
    return _ol_line(call, meta, {"content": ""}, done_reason=reason, done=True,
                    prompt_eval_count=1, eval_count=1)


def _ol_reply(call: ChatCall, *lines: bytes) -> Shaped:
    if call.stream:
        return Shaped(200, NDJSON, b"".join(lines))
    return Shaped(200, b"application/json; charset=utf-8", lines[-1].rstrip(b"\n"))


def _ol_tool_calls(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
    tool = {"function": {"name": TOOL_NAME, "arguments": {"city": "Paris"}}}
    if not call.stream:
        whole = _ol_line(call, meta, {"content": "", "tool_calls": [tool]}, done_reason="stop",
                         done=True, prompt_eval_count=1, eval_count=1)
        return _ol_reply(call, whole)
    first = _ol_line(call, meta, {"content": "", "tool_calls": [tool]}, done=False)
    return _ol_reply(call, first, _ol_done(call, meta, "stop"))


def _ol_load(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
    line = _ol_line(call, meta, {"content": ""}, done_reason="load", done=True)
    return _ol_reply(call, line)


def _ol_error(name: str) -> Render:
    """Ollama refuses overload and rate limits before a stream starts (HTTP 503 / 429);
    inside a stream its errors are model-runner failures."""
    status, message = _OL_HTTP[name]

    def shape(call: ChatCall, answer: Answer, meta: Meta) -> Shaped:
        if name != "error_after_text" or not call.stream:
            return Shaped(status, b"application/json; charset=utf-8", dumps({"error": message}))
        lines = [_ol_line(call, meta, {"content": p}, done=False) for p in _head(answer)]
        return _ol_reply(call, *lines, dumps({"error": _OL_RUNNER_ERROR}) + b"\n")

    return shape


_OLLAMA: Mapping[str, Render] = {
    "tool_calls": _ol_tool_calls,
    "load": _ol_load,
    "overloaded": _ol_error("overloaded"),
    "rate_limited": _ol_error("rate_limited"),
    "error_after_text": _ol_error("error_after_text"),
}


def echo_key_error(dialect: str, key: str) -> SimError:
    """A 401 whose message repeats the key it was given, as several providers do."""
    messages: dict[str, str] = {
        "openai": f"Incorrect API key provided: {key}. You can find your API key at "
                  "https://platform.openai.com/account/api-keys.",
        "anthropic": f"invalid x-api-key: {key}",
        "ollama": f"unauthorized: invalid key {key}",
    }
    return SimError(401, "auth", messages[dialect])
