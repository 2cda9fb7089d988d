"""Tools and structured output on llmx's side of the wire: reading them, checking them,
turning calls into JSON. Standard library only; nothing here knows a provider.

A caller may rely on:

* ``canonical_tools(text)``: the ``Request.tools`` text for a JSON list of OpenAI-style
  function tools (``{"type": "function", "function": {"name", "description",
  "parameters"}}``), compact with sorted keys, so the same tools give the same cache key;
  ``UsageError`` (one line) for anything else.
* ``check_choice(choice, tools)``: ``"auto"``, ``"required"``, ``"none"`` or the name of
  one of ``tools``; ``UsageError`` otherwise (also for a choice without tools).
* ``canonical_schema(text)``: the ``Request.schema`` text of a JSON Schema whose root is an
  object schema (OpenAI's strict mode and Anthropic's forced tool both want one).
* ``calls_json(calls)``: tool calls as ``[{id, name, arguments}]`` with the arguments parsed
  (text that is not JSON is kept as a string); ``complete_calls(calls)``: every call has a
  name and arguments that are a whole JSON object.
* ``SCHEMA_TOOL``: the tool name structured output is forced through where a provider has no
  native field (Anthropic); codecs turn that tool's input into the answer's text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from llmx.errors import UsageError
from llmx.types import ToolCall

CHOICES = ("auto", "required", "none")
SCHEMA_TOOL = "llmx_structured_answer"
SCHEMA_TOOL_DESCRIPTION = "Give the answer as this tool's input; it must follow the schema."


def canonical(value: Any) -> str:
    """Compact, sorted-key JSON (the form keyed and sent)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _load(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}") from None


def canonical_tools(text: str, what: str = "--tools") -> str:
    """The canonical ``Request.tools`` text of a JSON list of function tools."""
    tools = _load(text, what)
    if not isinstance(tools, list) or not tools:
        raise UsageError(f"{what} must be a non-empty JSON list of function tools")
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        name = _tool_name(tool, f"{what} item {index}")
        if name in seen:
            raise UsageError(f"{what} names the tool {name!r} twice")
        seen.add(name)
    return canonical(tools)


def _tool_name(tool: Any, where: str) -> str:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        raise UsageError(f'{where} is not {{"type": "function", "function": {{...}}}}')
    function = tool.get("function")
    if not isinstance(function, dict):
        raise UsageError(f'{where} has no "function" object')
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError(f'{where} has no function "name"')
    parameters = function.get("parameters", {})
    if not isinstance(parameters, dict):
        raise UsageError(f'{where}: "parameters" must be a JSON Schema object')
    return name


def tool_list(tools: str | None) -> list[dict[str, Any]]:
    """The tools of a ``Request.tools`` text (``[]`` for None)."""
    return [] if tools is None else list(json.loads(tools))


def functions(tools: str | None) -> list[dict[str, Any]]:
    """Each tool's ``function`` object: name, description, parameters."""
    return [dict(tool["function"]) for tool in tool_list(tools)]


def check_choice(choice: str | None, tools: str | None) -> None:
    """Refuse a ``--tool-choice`` that names no known tool or comes without tools."""
    if choice is None:
        return
    if tools is None:
        raise UsageError("--tool-choice needs --tools")
    names = [function["name"] for function in functions(tools)]
    if choice not in CHOICES and choice not in names:
        raise UsageError(f"--tool-choice {choice!r} is none of auto, required, none "
                         f"or a tool's name ({', '.join(names)})")


def canonical_schema(text: str, what: str = "--schema") -> str:
    """The canonical ``Request.schema`` text of an object JSON Schema."""
    schema = _load(text, what)
    if not isinstance(schema, dict):
        raise UsageError(f"{what} must be a JSON Schema object")
    if schema.get("type") != "object":
        raise UsageError(f'{what} must describe an object (its "type" must be "object")')
    return canonical(schema)


def arguments_value(arguments: str) -> Any:
    """The parsed arguments of a call; the text itself when it is not JSON."""
    try:
        return json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return arguments


def calls_json(calls: Iterable[ToolCall]) -> list[dict[str, Any]]:
    """Calls as JSON values: ``[{"id", "name", "arguments": <parsed>}]``."""
    return [{"id": call.id, "name": call.name, "arguments": arguments_value(call.arguments)}
            for call in calls]


def complete_calls(calls: Sequence[ToolCall]) -> bool:
    """True when there are calls and each has a name and a whole JSON object as arguments."""
    if not calls:
        return False
    for call in calls:
        if not call.name:
            return False
        try:
            value = json.loads(call.arguments)
        except ValueError:
            return False
        if not isinstance(value, dict):
            return False
    return True


def schema_problem(text: str, schema: str) -> str | None:
    """None when ``text`` is JSON that follows ``schema`` (a ``Request.schema`` text); else
    one line saying why (not JSON, or where it breaks the schema: ``jsonshape``)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"the answer is not JSON ({exc})"
    from llmx.jsonshape import problem

    return problem(value, json.loads(schema))
