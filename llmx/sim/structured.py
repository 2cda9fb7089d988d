"""The simulator's tool calls and structured answers (pure).

Each dialect reads what a request asks for into ``ChatCall.tools`` / ``tool_choice`` /
``schema`` with ``openai_tools``, ``anthropic_tools`` or ``ollama_tools`` (a malformed
field answers 400, as the real APIs do). ``structured_answer`` then decides, the same way
for the same request:

* tools and a choice other than ``none``: one call of the named tool (``tool_choice`` NAME,
  Anthropic ``{"type": "tool"}``) or else of the first tool, whose arguments follow its
  parameters schema (``llmx.sim.examples``). The answer's pieces are the fragments of the
  arguments' JSON text, which each dialect streams as its provider does (OpenAI
  ``function.arguments`` deltas, Anthropic ``input_json_delta``; Ollama sends the call
  whole once all pieces are out).
* a schema (OpenAI ``response_format`` ``json_schema``, Ollama ``format``): the answer text
  is JSON that follows it, in small pieces. (``json_object`` / ``format: "json"`` ask for
  any object.)
"""

from __future__ import annotations

import json
from typing import Any

from llmx.sim.common import Answer, ChatCall, bad_request, dumps
from llmx.sim.examples import example
from llmx.sim.text import count_all, seed_of

Tools = tuple[tuple[str, str], ...]
Found = tuple[Tools, str | None, str | None]
PIECE = 7  # characters per fragment of streamed JSON
ANY_OBJECT = '{"type":"object"}'


def _schema_text(value: Any, what: str) -> str:
    if not isinstance(value, dict):
        raise bad_request(f"{what} must be a JSON Schema object")
    return dumps(value).decode()


def _tool(name: Any, parameters: Any, where: str) -> tuple[str, str]:
    if not isinstance(name, str) or not name:
        raise bad_request(f"{where}: a tool needs a name")
    return name, _schema_text(parameters if parameters is not None else {}, f"{where}.parameters")


def _openai_list(value: Any) -> Tools:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise bad_request("tools must be an array")
    tools = []
    for i, item in enumerate(value):
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or item.get("type") != "function":
            raise bad_request(f"tools[{i}] must be a function tool")
        tools.append(_tool(function.get("name"), function.get("parameters"), f"tools[{i}]"))
    return tuple(tools)


def openai_tools(obj: dict[str, Any]) -> Found:
    """Tools, tool_choice and response_format of a Chat Completions request."""
    tools = _openai_list(obj.get("tools"))
    choice = obj.get("tool_choice")
    if isinstance(choice, dict):
        choice = (choice.get("function") or {}).get("name")
    if choice is not None and not isinstance(choice, str):
        raise bad_request("tool_choice must be a string or a named function")
    schema = None
    fmt = obj.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise bad_request("response_format.json_schema needs a name and a schema")
        schema = _schema_text(spec.get("schema", {}), "response_format.json_schema.schema")
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        schema = ANY_OBJECT
    return tools, _checked(choice, tools), schema


def responses_tools(obj: dict[str, Any]) -> Found:
    """Tools (flat function tools), tool_choice and ``text.format`` of a Responses request."""
    value = obj.get("tools")
    if value is not None and not isinstance(value, list):
        raise bad_request("Invalid type for 'tools': expected an array.")
    tools = []
    for i, item in enumerate(value or []):
        if not isinstance(item, dict) or item.get("type") != "function":
            raise bad_request(f"tools[{i}] must be a function tool")
        tools.append(_tool(item.get("name"), item.get("parameters"), f"tools[{i}]"))
    choice = obj.get("tool_choice")
    if isinstance(choice, dict):
        choice = choice.get("name")
    if choice is not None and not isinstance(choice, str):
        raise bad_request("tool_choice must be a string or a named function")
    fmt = (obj.get("text") or {}).get("format") if isinstance(obj.get("text"), dict) else None
    schema = None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = _schema_text(fmt.get("schema", {}), "text.format.schema")
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        schema = ANY_OBJECT
    return tuple(tools), _checked(choice, tuple(tools)), schema


def anthropic_tools(obj: dict[str, Any]) -> Found:
    """Tools and tool_choice of a Messages request (``any`` is ``required``)."""
    value = obj.get("tools")
    if value is not None and not isinstance(value, list):
        raise bad_request("tools: Input should be a valid list")
    tools = tuple(_tool(t.get("name") if isinstance(t, dict) else None,
                        t.get("input_schema") if isinstance(t, dict) else None, f"tools.{i}")
                  for i, t in enumerate(value or []))
    choice = obj.get("tool_choice")
    if choice is None:
        return tools, None, None
    if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
        raise bad_request("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    kind = choice["type"]
    named = choice.get("name") if kind == "tool" else {"any": "required"}.get(kind, kind)
    return tools, _checked(named, tools), None


def ollama_tools(obj: dict[str, Any]) -> Found:
    """Tools and ``format`` (a schema, or ``"json"``) of an ``/api/chat`` request."""
    tools = _openai_list(obj.get("tools"))
    fmt = obj.get("format")
    schema = None
    if fmt == "json":
        schema = ANY_OBJECT
    elif fmt is not None and fmt != "":
        schema = _schema_text(fmt, "format")
    return tools, None, schema


def _checked(choice: Any, tools: Tools) -> str | None:
    if choice in (None, "auto", "required", "none"):
        return choice  # type: ignore[no-any-return]
    if not tools:
        raise bad_request("tool_choice is only allowed when tools are specified")
    if choice not in {name for name, _ in tools}:
        raise bad_request(f"tool_choice names an unknown tool: {choice}")
    return str(choice)


def structured_answer(call: ChatCall) -> Answer:
    """A tool call or a structured answer for ``call`` (see the module docstring)."""
    seed = seed_of(call.model, *call.texts)
    if call.tools and call.tool_choice != "none":
        named = {name: parameters for name, parameters in call.tools}
        name = call.tool_choice if call.tool_choice in named else call.tools[0][0]
        arguments = example(json.loads(named[name]), seed)
        return Answer(_fragments(dumps(arguments).decode()), False, count_all(call.texts),
                      (f"sim{seed & 0xFFFFFFFFFFFF:012x}", name))
    value = example(json.loads(call.schema or ANY_OBJECT), seed)
    return Answer(_fragments(dumps(value).decode()), False, count_all(call.texts))


def _fragments(text: str) -> tuple[str, ...]:
    return tuple(text[i:i + PIECE] for i in range(0, len(text), PIECE)) or ("",)
