"""A small JSON Schema validator: the subset structured output uses. Standard library only.

``problem(value, schema)`` is None when ``value`` follows ``schema``, else one line saying
where and why (``$.items[2].price: expected number, got string``). The subset is the one
OpenAI's strict structured outputs accept, which the other providers' schemas also use:
``type`` (one or a list), ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties`` (a boolean or a schema), ``items``, ``minItems``/``maxItems``,
``minLength``/``maxLength``, ``pattern``, ``minimum``/``maximum``,
``exclusiveMinimum``/``exclusiveMaximum``, ``multipleOf``, ``anyOf``/``oneOf``/``allOf``,
``not`` and local ``$ref`` (``#``, ``#/$defs/...``, ``#/definitions/...``). Other keywords
(``format``, annotations) are accepted and not checked. Booleans are not numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_TYPES: Mapping[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}
_MAX_DEPTH = 64  # a $ref cycle ends here


def problem(value: Any, schema: Any) -> str | None:
    """None when ``value`` follows ``schema``; else one line: where and why."""
    return _Check(schema).run(value, schema, "$", 0)


def type_name(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](value):
            return name
    return type(value).__name__


class _Check:
    __slots__ = ("root",)

    def __init__(self, root: Any) -> None:
        self.root = root

    def run(self, value: Any, schema: Any, where: str, depth: int) -> str | None:
        if schema is True or schema == {}:
            return None
        if schema is False:
            return f"{where}: no value is allowed here"
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return None
        if "$ref" in schema:
            found = self.run(value, self._ref(schema["$ref"]), where, depth + 1)
            if found:
                return found
        for check in (_type, _enum, _number, _string):
            found = check(value, schema, where)
            if found:
                return found
        return (self._combined(value, schema, where, depth)
                or self._array(value, schema, where, depth)
                or self._object(value, schema, where, depth))

    def _ref(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        node = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node

    def _combined(self, value: Any, schema: dict[str, Any], where: str, depth: int
                  ) -> str | None:
        for sub in schema.get("allOf", []):
            found = self.run(value, sub, where, depth + 1)
            if found:
                return found
        for word in ("anyOf", "oneOf"):
            options = schema.get(word)
            if isinstance(options, list):
                fits = sum(self.run(value, sub, where, depth + 1) is None for sub in options)
                if fits == 0 or (word == "oneOf" and fits > 1):
                    return f"{where}: matches {fits} of the {word} schemas"
        if "not" in schema and self.run(value, schema["not"], where, depth + 1) is None:
            return f"{where}: matches a schema it must not"
        return None

    def _array(self, value: Any, schema: dict[str, Any], where: str, depth: int
               ) -> str | None:
        if not isinstance(value, list):
            return None
        if len(value) < schema.get("minItems", 0):
            return f"{where}: {len(value)} items, fewer than minItems {schema['minItems']}"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{where}: {len(value)} items, more than maxItems {schema['maxItems']}"
        items = schema.get("items")
        if items is None:
            return None
        for index, item in enumerate(value):
            found = self.run(item, items, f"{where}[{index}]", depth + 1)
            if found:
                return found
        return None

    def _object(self, value: Any, schema: dict[str, Any], where: str, depth: int
                ) -> str | None:
        if not isinstance(value, dict):
            return None
        for name in schema.get("required", []):
            if name not in value:
                return f"{where}: missing required property {name!r}"
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                found = self.run(item, properties[name], f"{where}.{name}", depth + 1)
            elif extra is False:
                found = f"{where}: property {name!r} is not allowed"
            else:
                found = self.run(item, extra, f"{where}.{name}", depth + 1)
            if found:
                return found
        return None


def _type(value: Any, schema: dict[str, Any], where: str) -> str | None:
    wanted = schema.get("type")
    if wanted is None:
        return None
    names = wanted if isinstance(wanted, list) else [wanted]
    if any(_TYPES.get(name, lambda v: True)(value) for name in names):
        return None
    return f"{where}: expected {' or '.join(map(str, names))}, got {type_name(value)}"


def _enum(value: Any, schema: dict[str, Any], where: str) -> str | None:
    if "const" in schema and not _same(value, schema["const"]):
        return f"{where}: expected {schema['const']!r}"
    options = schema.get("enum")
    if isinstance(options, list) and not any(_same(value, o) for o in options):
        return f"{where}: {value!r} is not one of {options!r}"
    return None


def _same(a: Any, b: Any) -> bool:
    return type_name(a) == type_name(b) and a == b


def _number(value: Any, schema: dict[str, Any], where: str) -> str | None:
    if not _TYPES["number"](value):
        return None
    for word in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = schema.get(word)
        if isinstance(bound, int | float) and not isinstance(bound, bool) \
                and not _within(word, value, bound):
            return f"{where}: {value} breaks {word} {bound}"
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and not isinstance(step, bool) and step > 0 \
            and not float(value / step).is_integer():
        return f"{where}: {value} is not a multiple of {step}"
    return None


def _within(word: str, value: float, bound: float) -> bool:
    if word == "minimum":
        return value >= bound
    if word == "maximum":
        return value <= bound
    if word == "exclusiveMinimum":
        return value > bound
    return value < bound


def _string(value: Any, schema: dict[str, Any], where: str) -> str | None:
    if not isinstance(value, str):
        return None
    if len(value) < schema.get("minLength", 0):
        return f"{where}: shorter than minLength {schema['minLength']}"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"{where}: longer than maxLength {schema['maxLength']}"
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and re.search(pattern, value) is None:
        return f"{where}: does not match the pattern {pattern!r}"
    return None
