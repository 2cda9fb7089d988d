"""Deterministic JSON values that follow a JSON Schema, for the simulator's tool arguments and
structured answers (pure).

``example(schema, seed)`` gives the same value for the same schema and seed, and the value
follows the schema for the subset ``llmx.jsonshape`` checks, except ``pattern`` (no general
way to produce a match; a string is produced as if there were none) and ``not``. How:
``const`` and ``enum`` pick a listed value; ``anyOf``/``oneOf`` the first option; ``allOf``
merges its object schemas; an object gets every property it lists (strict structured
outputs require them all); an array ``minItems`` items (at least one when ``maxItems``
allows); strings are words within ``minLength``/``maxLength``; numbers sit inside their
bounds, on ``multipleOf`` when there is one. Local ``$ref`` is followed.
"""

from __future__ import annotations

import math
from typing import Any

_WORDS = ("Paris", "river", "stone", "green", "north", "paper", "window", "signal", "garden",
          "cloud", "harbor", "bridge", "tower", "engine", "forest", "record")
_MAX_DEPTH = 16


def example(schema: Any, seed: int) -> Any:
    """A value that follows ``schema`` (see the module docstring), the same for one seed."""
    return _Maker(schema, seed).make(schema, 0)


class _Maker:
    __slots__ = ("root", "seed")

    def __init__(self, root: Any, seed: int) -> None:
        self.root, self.seed = root, seed

    def make(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return None if depth > _MAX_DEPTH else {}
        if "$ref" in schema:
            return self.make(self._ref(schema["$ref"]), depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            options = schema["enum"]
            return options[(self.seed + depth) % len(options)]
        for word in ("anyOf", "oneOf"):
            if isinstance(schema.get(word), list) and schema[word]:
                return self.make(schema[word][0], depth + 1)
        if isinstance(schema.get("allOf"), list):
            return self.make(_merged(schema), depth + 1)
        kind = _kind(schema)
        maker = getattr(self, f"_{kind}", None)
        return maker(schema, depth) if maker else None

    def _ref(self, ref: Any) -> Any:
        node = self.root
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        for part in [p for p in ref[1:].split("/") if p]:
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) \
                if isinstance(node, dict) else {}
        return node

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        names = list(properties) + [n for n in schema.get("required", []) if n not in properties]
        return {name: self.make(properties.get(name, {"type": "string"}), depth + 1)
                for name in names}

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        count = max(int(schema.get("minItems", 1)), 0)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        return [self.make(schema.get("items", {"type": "string"}), depth + 1)
                for _ in range(count)]

    def _string(self, schema: dict[str, Any], depth: int) -> str:
        text = _WORDS[(self.seed >> 3) % len(_WORDS)] if depth else "answer"
        low = int(schema.get("minLength", 0))
        while len(text) < low:
            text += " " + _WORDS[(self.seed + len(text)) % len(_WORDS)]
        if "maxLength" in schema:
            text = text[: int(schema["maxLength"])]
        return text

    def _integer(self, schema: dict[str, Any], depth: int) -> int:
        return int(self._number(schema, depth, integral=True))

    def _number(self, schema: dict[str, Any], depth: int, integral: bool = False) -> float:
        low, high = _bounds(schema, integral)
        step = schema.get("multipleOf")
        value: float = 1 + (self.seed + depth) % 40
        if low is not None or high is not None:
            value = max(value, low) if low is not None else value
            value = min(value, high) if high is not None else value
        if isinstance(step, int | float) and step > 0:
            value = math.ceil(value / step) * step
            if high is not None and value > high:
                value = math.floor(high / step) * step
        return value

    def _boolean(self, schema: dict[str, Any], depth: int) -> bool:
        return (self.seed + depth) % 2 == 0

    def _null(self, schema: dict[str, Any], depth: int) -> None:
        return None


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else "string")
    if kind is None:
        return "object" if "properties" in schema else "array" if "items" in schema else "string"
    return str(kind)


def _bounds(schema: dict[str, Any], integral: bool) -> tuple[Any, Any]:
    nudge = 1 if integral else 1e-6
    low = schema.get("minimum")
    if "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + nudge
    high = schema.get("maximum")
    if "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - nudge
    if integral:
        low = None if low is None else math.ceil(low)
        high = None if high is None else math.floor(high)
    return low, high


def _merged(schema: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for sub in schema["allOf"]:
        if isinstance(sub, dict):
            for key, value in sub.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
    return merged
