"""Tools and structured output on the proxy's side: the request fields of both dialects read
into the call's canonical ``tools`` / ``tool_choice`` / ``schema`` texts (``llmx.tooling``),
and tool calls written back in each dialect's shape. Pure: no IO.

OpenAI: ``tools`` (function tools), ``tool_choice`` (``auto`` | ``required`` | ``none`` |
``{"type": "function", "function": {"name": N}}``), ``response_format`` of type
``json_schema`` (its ``schema``) or ``text``. Anthropic: ``tools`` (``name``,
``description``, ``input_schema``), ``tool_choice`` (``{"type": "auto" | "any" | "none" |
"tool", "name": N}``). Anything else in these fields is a ``BadRequest`` naming it.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from llmx.errors import UsageError
from llmx.serve.wire import BadRequest
from llmx.tooling import CHOICES, arguments_value, canonical_schema, canonical_tools
from llmx.types import ToolCall


class Tooling(NamedTuple):
    tools: str | None = None
    tool_choice: str | None = None
    schema: str | None = None


def openai_tooling(body: dict[str, Any]) -> Tooling:
    tools = _tools(body.get("tools"))
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        function = choice.get("function")
        choice = function.get("name") if isinstance(function, dict) else None
        if not isinstance(choice, str):
            raise BadRequest("`tool_choice` must name a function: "
                             '{"type": "function", "function": {"name": ...}}')
    return Tooling(tools, _choice(choice, tools), _schema(body.get("response_format")))


def anthropic_tooling(body: dict[str, Any]) -> Tooling:
    raw = body.get("tools")
    if raw is None or raw == []:
        tools = None
    elif not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise BadRequest("`tools` must be a list of tool objects")
    else:
        tools = _tools([{"type": "function", "function": {
            "name": tool.get("name"), "description": tool.get("description", ""),
            "parameters": tool.get("input_schema", {})}} for tool in raw])
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict):
            raise BadRequest("`tool_choice` must be an object with a `type`")
        kind = choice.get("type")
        named = {"auto": "auto", "any": "required", "none": "none"}
        choice = choice.get("name") if kind == "tool" else named.get(str(kind), kind)
    return Tooling(tools, _choice(choice, tools))


def _tools(raw: Any) -> str | None:
    if raw is None or raw == []:
        return None
    try:
        return canonical_tools(json.dumps(raw), "`tools`")
    except UsageError as exc:
        raise BadRequest(exc.message) from None


def _choice(choice: Any, tools: str | None) -> str | None:
    if choice is None:
        return None
    if not isinstance(choice, str):
        raise BadRequest("`tool_choice` is not one llmx understands")
    if tools is None:
        if choice == "none":
            return None
        raise BadRequest("`tool_choice` needs `tools`")
    names = [tool["function"]["name"] for tool in json.loads(tools)]
    if choice not in CHOICES and choice not in names:
        raise BadRequest(f"`tool_choice` {choice!r} is none of auto, required, none or a "
                         "tool's name")
    return choice


def _schema(response_format: Any) -> str | None:
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind != "json_schema":
        raise BadRequest(f"`response_format` of type {kind!r} is not supported "
                         "(json_schema or text)")
    inner = response_format.get("json_schema")
    schema = inner.get("schema") if isinstance(inner, dict) else None
    try:
        return canonical_schema(json.dumps(schema), "`response_format.json_schema.schema`")
    except UsageError as exc:
        raise BadRequest(exc.message) from None


def openai_calls(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    """``message.tool_calls`` (arguments as JSON text, as OpenAI sends them)."""
    return [{"id": call.id, "type": "function",
             "function": {"name": call.name, "arguments": call.arguments}} for call in calls]


def openai_call_deltas(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    """The streamed ``delta.tool_calls``: each call whole, at its index."""
    return [{"index": i, **call} for i, call in enumerate(openai_calls(calls))]


def anthropic_blocks(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    """``tool_use`` content blocks (the input parsed, as the Messages API sends it)."""
    return [{"type": "tool_use", "id": call.id, "name": call.name,
             "input": arguments_value(call.arguments)} for call in calls]
