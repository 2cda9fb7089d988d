"""``llmx.jsonshape`` (the validator of the structured-output subset) and
``llmx.sim.examples`` (the simulator's values): every example validates, and the validator
says where and why a value breaks a schema."""

from __future__ import annotations

from typing import Any

import pytest

from llmx.jsonshape import problem
from llmx.sim.examples import example

OBJECT = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
          "additionalProperties": False}

BROKEN = [
    ({"a": "x"}, OBJECT, "$.a: expected integer, got string"),
    ({}, OBJECT, "$: missing required property 'a'"),
    ({"a": 1, "b": 2}, OBJECT, "$: property 'b' is not allowed"),
    (True, {"type": "number"}, "expected number, got boolean"),
    (3, {"type": "integer", "minimum": 4}, "breaks minimum 4"),
    (4, {"type": "integer", "exclusiveMaximum": 4}, "breaks exclusiveMaximum 4"),
    (5, {"type": "integer", "multipleOf": 2}, "not a multiple of 2"),
    ("ab", {"type": "string", "minLength": 3}, "shorter than minLength 3"),
    ("abcd", {"type": "string", "maxLength": 3}, "longer than maxLength 3"),
    ("x1", {"type": "string", "pattern": "^[0-9]+$"}, "does not match the pattern"),
    ("c", {"enum": ["a", "b"]}, "is not one of"),
    (1, {"const": True}, "expected True"),
    ([1], {"type": "array", "items": {"type": "string"}}, "$[0]: expected string"),
    ([], {"type": "array", "minItems": 1}, "fewer than minItems 1"),
    ([1, 2], {"type": "array", "maxItems": 1}, "more than maxItems 1"),
    (None, {"anyOf": [{"type": "string"}, {"type": "integer"}]}, "matches 0 of the anyOf"),
    (1, {"oneOf": [{"type": "integer"}, {"type": "number"}]}, "matches 2 of the oneOf"),
    ({"x": {"y": 1}}, {"$defs": {"s": {"type": "string"}}, "type": "object",
                       "properties": {"x": {"type": "object", "properties": {
                           "y": {"$ref": "#/$defs/s"}}}}}, "$.x.y: expected string"),
    (1, {"not": {"type": "integer"}}, "matches a schema it must not"),
    (1, False, "no value is allowed"),
]


@pytest.mark.parametrize(("value", "schema", "needle"), BROKEN,
                         ids=[needle for _, _, needle in BROKEN])
def test_a_broken_value_is_named_with_where_and_why(value: Any, schema: Any,
                                                    needle: str) -> None:
    found = problem(value, schema)
    assert found is not None and needle in found


@pytest.mark.parametrize(("value", "schema"), [
    ({"a": 1}, OBJECT), (2.0, {"type": "integer"}), (None, {"type": ["string", "null"]}),
    ("x", {"type": "string", "format": "email"}), ({"z": 1}, {"type": "object"}),
    ([1, "a"], {"type": "array"}), (1, True), ("b", {"enum": ["a", "b"]}),
])
def test_a_fitting_value_passes(value: Any, schema: Any) -> None:
    assert problem(value, schema) is None


SCHEMAS: list[Any] = [
    OBJECT,
    {"type": "object", "properties": {
        "name": {"type": "string", "minLength": 12, "maxLength": 14},
        "unit": {"enum": ["c", "f"]}, "score": {"type": "number", "exclusiveMinimum": 0.5,
                                                "maximum": 0.75},
        "n": {"type": "integer", "minimum": 50, "maximum": 60, "multipleOf": 7},
        "flag": {"type": "boolean"}, "none": {"type": "null"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 3},
        "either": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "both": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}},
                           {"required": ["b"], "properties": {"b": {"type": "integer"}}}]},
        "ref": {"$ref": "#/$defs/point"}, "maybe": {"type": ["null", "integer"]},
        "const": {"const": "fixed"}},
     "required": ["name", "unit", "score", "n"], "additionalProperties": False,
     "$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}},
                         "required": ["x"]}}},
    {"type": "object", "properties": {"rows": {"type": "array", "items": OBJECT}}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("seed", [0, 1, 7, 12345, 2**63 + 5])
def test_every_example_follows_its_schema(schema: Any, seed: int) -> None:
    value = example(schema, seed)
    assert problem(value, schema) is None, value
    assert example(schema, seed) == value  # deterministic
