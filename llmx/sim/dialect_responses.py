"""OpenAI Responses API wire format, ``POST /v1/responses`` (pure).

Request: ``input`` (a string, or message items whose ``content`` is a string or
``input_text`` parts), ``instructions``, ``max_output_tokens``, ``stream``. Reply: a
``response`` object with one ``message`` output item holding one ``output_text`` part,
``usage`` with ``input_tokens`` / ``output_tokens`` and their details; ``status`` is
``incomplete`` with ``incomplete_details.reason = "max_output_tokens"`` when the limit cut
the answer. Streamed: named SSE events, each with its ``type`` and a ``sequence_number``
counted from 0 — ``response.created``, ``response.in_progress``,
``response.output_item.added``, ``response.content_part.added``, one
``response.output_text.delta`` per piece, ``response.output_text.done``,
``response.content_part.done``, ``response.output_item.done``, then
``response.completed`` (or ``response.incomplete``) with the whole response; no ``[DONE]``.
Errors have the Chat Completions shape (``dialect_openai.error_body``).

Reasoning models (``gpt-5*``, ``o1*``, ``o3*``, ``o4*``) put a ``reasoning`` item first and
count ``output_tokens_details.reasoning_tokens`` (included in ``output_tokens``; the limit
cuts only the visible answer). Its ``summary`` is empty unless the request asks for one
(``reasoning.summary``); then it holds one deterministic ``summary_text``, streamed as
``response.reasoning_summary_part.added``, ``response.reasoning_summary_text.delta``...,
``.done`` and ``response.reasoning_summary_part.done`` before the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmx.sim.common import (
    Answer,
    ChatCall,
    Durations,
    Meta,
    StreamBody,
    bad_request,
    content_text,
    dumps,
    jstr,
    optional_int,
    require_model,
)
from llmx.sim.images import responses_part
from llmx.sim.structured import responses_tools
from llmx.sim.text import answer_pieces, seed_of

REASONING_FAMILIES = ("gpt-5", "o1", "o3", "o4")
SUMMARY_LENGTH = 12  # pieces of a reasoning summary


@dataclass(frozen=True, slots=True)
class ResponsesCall(ChatCall):
    """A Responses request: a chat call, and whether it asks for a reasoning summary."""

    summary: bool = False

    @property
    def reasoning_model(self) -> bool:
        name = self.model.rpartition("/")[2].lower()
        return any(name == f or name.startswith((f + "-", f + ".")) for f in REASONING_FAMILIES)

    def summary_pieces(self) -> list[str]:
        return answer_pieces(seed_of("reasoning", self.model, *self.texts), SUMMARY_LENGTH)


def parse_chat(obj: dict[str, Any]) -> ChatCall:
    model = require_model(obj, "Missing required parameter: 'model'.")
    if "input" not in obj:
        raise bad_request("Missing required parameter: 'input'.")
    texts, last_user = _input_texts(obj["input"])
    instructions = obj.get("instructions")
    if isinstance(instructions, str) and instructions:
        texts = (instructions, *texts)
    reasoning = obj.get("reasoning")
    summary = isinstance(reasoning, dict) and reasoning.get("summary") is not None
    tools, choice, schema = responses_tools(obj)
    return ResponsesCall(model=model, texts=texts, last_user=last_user,
                         max_tokens=optional_int(obj, "max_output_tokens"),
                         stream=obj.get("stream") is True, tools=tools, tool_choice=choice,
                         schema=schema, summary=summary)


def _input_texts(value: Any) -> tuple[tuple[str, ...], str]:
    if isinstance(value, str):
        return (value,), value
    if not isinstance(value, list):
        raise bad_request("Invalid type for 'input': expected a string or an array of items.")
    texts: list[str] = []
    last_user = ""
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("Invalid type for 'input' item: expected an object.")
        if "content" not in item:
            continue  # function_call_output and other non-message items carry no prompt
        text = content_text(item.get("content"), responses_part)
        texts.append(text)
        if item.get("role") == "user":
            last_user = text
    return tuple(texts), last_user


def _reasoning_tokens(call: ChatCall) -> int:
    """Hidden reasoning tokens: some for a reasoning model, none for any other."""
    if not (isinstance(call, ResponsesCall) and call.reasoning_model):
        return 0
    return 2 * SUMMARY_LENGTH + len(call.texts)


def _usage(call: ChatCall, answer: Answer) -> dict[str, Any]:
    hidden = _reasoning_tokens(call)
    output = answer.output_tokens + hidden
    return {"input_tokens": answer.input_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output, "output_tokens_details": {"reasoning_tokens": hidden},
            "total_tokens": answer.input_tokens + output}


def _reasoning_item(call: ChatCall, meta: Meta, *, done: bool) -> list[dict[str, Any]]:
    """The leading reasoning item of a reasoning model's output (none for other models)."""
    if not (isinstance(call, ResponsesCall) and call.reasoning_model):
        return []
    summary = ([{"type": "summary_text", "text": "".join(call.summary_pieces())}]
               if done and call.summary else [])
    return [{"id": "rs" + meta.id.removeprefix("resp"), "type": "reasoning",
             "summary": summary}]


def _part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _message(meta: Meta, text: str | None) -> dict[str, Any]:
    """The output message item: in progress and empty (``text`` None) or complete."""
    done = text is not None
    return {"id": "msg" + meta.id.removeprefix("resp"), "type": "message",
            "status": "completed" if done else "in_progress", "role": "assistant",
            "content": [_part(text)] if text is not None else []}


def _call_item(meta: Meta, answer: Answer, arguments: str | None) -> dict[str, Any]:
    """The function_call output item of a tool-call answer (``arguments`` None: in
    progress, empty)."""
    assert answer.tool_call is not None
    suffix, name = answer.tool_call
    return {"id": "fc" + meta.id.removeprefix("resp"), "type": "function_call",
            "status": "completed" if arguments is not None else "in_progress",
            "call_id": "call_" + suffix, "name": name, "arguments": arguments or ""}


def _output_item(meta: Meta, answer: Answer, done: bool) -> dict[str, Any]:
    if answer.tool_call is not None:
        return _call_item(meta, answer, answer.text if done else None)
    return _message(meta, answer.text if done else None)


def _response(call: ChatCall, answer: Answer, meta: Meta, *, done: bool) -> dict[str, Any]:
    status = ("incomplete" if answer.truncated else "completed") if done else "in_progress"
    return {
        "id": meta.id, "object": "response", "created_at": int(meta.created),
        "status": status, "background": False, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if done and answer.truncated
        else None,
        "instructions": None, "max_output_tokens": call.max_tokens, "model": call.model,
        "output": [*_reasoning_item(call, meta, done=True), _output_item(meta, answer, True)]
        if done else [],
        "parallel_tool_calls": True, "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None}, "store": False,
        "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto",
        "tools": [], "top_p": 1.0, "truncation": "disabled",
        "usage": _usage(call, answer) if done else None, "user": None, "metadata": {},
    }


def render_chat(call: ChatCall, answer: Answer, meta: Meta) -> bytes:
    return dumps(_response(call, answer, meta, done=True))


class _Events:
    """SSE events with their running ``sequence_number``."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 0

    def take(self) -> int:
        """The next sequence number."""
        number, self._next = self._next, self._next + 1
        return number

    def event(self, kind: str, **fields: Any) -> str:
        number = self.take()
        data = dumps({"type": kind, "sequence_number": number, **fields}).decode()
        return f"event: {kind}\ndata: {data}\n\n"


def stream_chat(call: ChatCall, answer: Answer, meta: Meta) -> StreamBody:
    if answer.tool_call is not None:
        return _stream_call(call, answer, meta)
    events = _Events()
    item_id = _message(meta, None)["id"]
    index = len(_reasoning_item(call, meta, done=False))  # the message's output_index
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    head = (events.event("response.created", response=_response(call, answer, meta, done=False))
            + events.event("response.in_progress",
                           response=_response(call, answer, meta, done=False))
            + _reasoning_events(events, call, meta)
            + events.event("response.output_item.added", output_index=index,
                           item=_message(meta, None))
            + events.event("response.content_part.added", part=_part(""), **where))

    def frames(pieces: Sequence[str], now: float) -> bytes:
        out = []
        for piece in pieces:
            out.append('event: response.output_text.delta\ndata: {"type":'
                       '"response.output_text.delta","sequence_number":' + str(events.take())
                       + ',"item_id":' + jstr(item_id) + ',"output_index":' + str(index)
                       + ',"content_index":0,"delta":' + jstr(piece) + ',"logprobs":[]}\n\n')
        return "".join(out).encode()

    def tail(durations: Durations, now: float) -> bytes:
        whole = _response(call, answer, meta, done=True)
        end = "response.incomplete" if answer.truncated else "response.completed"
        return (events.event("response.output_text.done", text=answer.text, logprobs=[],
                             **where)
                + events.event("response.content_part.done", part=_part(answer.text), **where)
                + events.event("response.output_item.done", output_index=index,
                               item=_message(meta, answer.text))
                + events.event(end, response=whole)).encode()

    return StreamBody(b"text/event-stream; charset=utf-8", head.encode(), frames, tail)


def _reasoning_events(events: _Events, call: ChatCall, meta: Meta) -> str:
    """The reasoning item's events: added, its summary (when asked for), done."""
    items = _reasoning_item(call, meta, done=False)
    if not items or not isinstance(call, ResponsesCall):
        return ""
    item = items[0]
    out = events.event("response.output_item.added", output_index=0, item=item)
    if call.summary:
        where = {"item_id": item["id"], "output_index": 0, "summary_index": 0}
        pieces = call.summary_pieces()
        text = "".join(pieces)
        out += events.event("response.reasoning_summary_part.added",
                            part={"type": "summary_text", "text": ""}, **where)
        out += "".join(events.event("response.reasoning_summary_text.delta", delta=piece,
                                    **where) for piece in pieces)
        out += events.event("response.reasoning_summary_text.done", text=text, **where)
        out += events.event("response.reasoning_summary_part.done",
                            part={"type": "summary_text", "text": text}, **where)
    done = _reasoning_item(call, meta, done=True)[0]
    return out + events.event("response.output_item.done", output_index=0, item=done)


def _stream_call(call: ChatCall, answer: Answer, meta: Meta) -> StreamBody:
    """A tool-call answer streamed: the function_call item, its arguments' deltas, done."""
    events = _Events()
    index = len(_reasoning_item(call, meta, done=False))
    item = _call_item(meta, answer, None)
    where = {"item_id": item["id"], "output_index": index}
    head = (events.event("response.created", response=_response(call, answer, meta, done=False))
            + events.event("response.in_progress",
                           response=_response(call, answer, meta, done=False))
            + _reasoning_events(events, call, meta)
            + events.event("response.output_item.added", output_index=index, item=item))

    def frames(pieces: Sequence[str], now: float) -> bytes:
        return "".join(events.event("response.function_call_arguments.delta", delta=piece,
                                    **where) for piece in pieces).encode()

    def tail(durations: Durations, now: float) -> bytes:
        return (events.event("response.function_call_arguments.done", arguments=answer.text,
                             **where)
                + events.event("response.output_item.done", output_index=index,
                               item=_call_item(meta, answer, answer.text))
                + events.event("response.completed",
                               response=_response(call, answer, meta, done=True))).encode()

    return StreamBody(b"text/event-stream; charset=utf-8", head.encode(), frames, tail)
