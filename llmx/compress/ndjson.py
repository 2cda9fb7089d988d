"""JSON log lines (NDJSON) folded by their key set: the keys once, each line as its values.

``tabulate(text)`` finds the lines that are one JSON object each. Objects with the same keys
in the same order (a *shape*) that occur at least ``MIN_ROWS`` times get a tag (``A``,
``B``, ...; letters only, so a tag is never mistaken for a variable); where the shape first
occurs a line ``[A = JSON lines {"k1","k2",...}, each written A[v1,v2,...]]`` defines it, and
every line of that shape becomes ``A[...]``: a JSON array of its values in key order, each
value exactly as it was written (escapes, number formats and inner blanks kept).
Lines stay where they were; no other line is touched. The log templates then fold rows
that differ only in variables (times, ids, counts) like any other lines.

Why it is general: NDJSON repeats every key on every line; the keys are the schema, not the
data, so writing them once per shape loses nothing whatever produced the log.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator

MIN_ROWS = 3
_DECODER = json.JSONDecoder()
_TAGS = string.ascii_uppercase


def tabulate(text: str) -> str:
    """``text`` with its repeated NDJSON shapes written once (see the module docstring)."""
    if '{"' not in text:
        return text
    lines = text.split("\n")
    parsed: dict[int, list[tuple[str, str]]] = {}
    counts: dict[tuple[str, ...], int] = {}
    for index, line in enumerate(lines):
        value = _object(line)
        if value is not None and len(value) > 1:
            parsed[index] = value
            shape = tuple(key for key, _ in value)
            counts[shape] = counts.get(shape, 0) + 1
    tags: dict[tuple[str, ...], str] = {}
    names = _tag_names()
    out: list[str] = []
    for index, line in enumerate(lines):
        value = parsed.get(index)
        shape = tuple(key for key, _ in value) if value is not None else ()
        if value is None or counts[shape] < MIN_ROWS:
            out.append(line)
            continue
        if shape not in tags:
            tags[shape] = next(names)
            keys = ",".join(json.dumps(key, ensure_ascii=False) for key in shape)
            out.append(f"[{tags[shape]} = JSON lines {{{keys}}}, each written "
                       f"{tags[shape]}[v1,v2,...]]")
        out.append(tags[shape] + "[" + ",".join(raw for _, raw in value) + "]")
    return "\n".join(out) if tags else text


def _object(line: str) -> list[tuple[str, str]] | None:
    """The (key, value as written) pairs of a line that is exactly one JSON object."""
    if not (line.startswith('{"') and line.endswith("}")):
        return None
    try:
        return _members(line)
    except (ValueError, RecursionError, IndexError):
        return None


def _members(line: str) -> list[tuple[str, str]] | None:
    members: list[tuple[str, str]] = []
    seen: set[str] = set()
    position = 1
    while True:
        position = _skip_blanks(line, position)
        key, position = _DECODER.raw_decode(line, position)
        position = _skip_blanks(line, position)
        if not isinstance(key, str) or key in seen or line[position] != ":":
            return None
        start = _skip_blanks(line, position + 1)
        _, position = _DECODER.raw_decode(line, start)
        seen.add(key)
        members.append((key, line[start:position]))
        position = _skip_blanks(line, position)
        if line[position] == "}":
            return members if position == len(line) - 1 else None
        if line[position] != ",":
            return None
        position += 1


def _skip_blanks(line: str, position: int) -> int:
    while line[position] in " \t\r":
        position += 1
    return position


def _tag_names() -> Iterator[str]:
    size = 1
    while True:
        yield from _product(size)
        size += 1


def _product(size: int) -> Iterator[str]:
    if size == 1:
        yield from _TAGS
        return
    for head in _TAGS:
        for rest in _product(size - 1):
            yield head + rest
