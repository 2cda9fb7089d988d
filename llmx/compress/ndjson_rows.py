"""Keys of NDJSON rows by their values' shapes, not their text (aggressive ``log_fold``).

``ndjson.tabulate`` writes each repeated key set once and every line of it as a row
``A[v1,v2,...]``. ``row_keys(lines)`` gives such rows a key for the log templates: the row
with each *data* leaf (a scalar of the JSON, at any depth) replaced by ``KEY``, and those
leaves as its values, in order. A leaf is data when it is a number, a string holding a
digit, or a string of a *column* (the leaf's place: the row's tag, the top-level position,
then the keys of the nested objects) whose values mostly differ: more than
``MAX_LISTED`` and more than one in ``DATA_SHARE`` of the column's rows. Other strings
(``"info"``, ``"output"``, a package name) and ``true``/``false``/``null`` are the row's
kind and stay in the key; so rows of one kind fold into one template whatever their ids,
times, names and messages, and every word of a folded value is still listed in its slot.

Why it is general: in a log of JSON events the keys are the schema and a column that
repeats a few values names the kind of event; a column that changes on most rows carries
per-event data, whatever program wrote it.

A data string holding a blank is a *message*: its text is templated like a log line (its
tokens with digits are variables), and where it repeats one of the row's other data strings
(``"=== RUN TestX"`` in the row of test ``TestX``) that part is a variable too; so messages
alike but for their event's own fields fold, and a message seen once stays whole. Why it
is general: a message that names its event's fields varies with them, not with its text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from llmx.compress.shapes import KEY, MAX_LISTED, split_line_parts

DATA_SHARE = 4  # a string column with more distinct values than rows / DATA_SHARE is data
_DEFINITION = re.compile(r"\[([A-Z]+) = JSON lines \{")
_ROW = re.compile(r"([A-Z]+)\[")
_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|[\[\]{}:,]|[ \t]+')
_DIGIT = re.compile(r"\d")
_BLANK = re.compile(r" |\\[nt]")  # in a JSON string: a space, or a newline or tab escaped
_ESCAPED_BLANK = re.compile(r"(\\[nrt])")

Leaf = tuple[tuple[str | int, ...], int, int]  # column, start, end


def row_keys(lines: Sequence[str]) -> dict[int, tuple[str, list[str]]]:
    """``{line index: (key, values)}`` for every row of a tabulated shape (see above)."""
    tags: set[str] = set()
    rows: dict[int, list[Leaf]] = {}
    for index, line in enumerate(lines):
        if line.startswith("[") and (definition := _DEFINITION.match(line)) is not None:
            tags.add(definition.group(1))
        elif tags and (row := _ROW.match(line)) is not None and row.group(1) in tags:
            leaves = _flat_leaves(line, row.end() - 1, row.group(1))
            if leaves is None:
                leaves = _leaves(line, row.end() - 1, row.group(1))
            if leaves is not None:
                rows[index] = leaves
    data = _data_columns(lines, rows)
    return {index: _row_key(lines[index], leaves, data) for index, leaves in rows.items()}


def _row_key(line: str, leaves: list[Leaf], data: set[tuple[str | int, ...]]
             ) -> tuple[str, list[str]]:
    """A row's key and values: a data leaf is one value, or, when it is a message (a string
    holding a blank), its text is templated like a log line (``_message_parts``)."""
    slots = [(start, end) for column, start, end in leaves
             if column in data or _DIGIT.search(line, start, end)]
    messages = {start for start, end in slots if line[start] == '"' and _BLANK.search(
        line, start, end)}
    names = [line[start + 1 : end - 1] for start, end in slots
             if start not in messages and end - start > 5 and line[start] == '"'
             and not _DIGIT.search(line, start, end)]
    literal: list[str] = []
    values: list[str] = []
    buffer: list[str] = []
    position = 0
    for start, end in slots:
        buffer.append(line[position:start])
        position = end
        if start not in messages:
            literal.append("".join(buffer))
            buffer = []
            values.append(line[start:end])
            continue
        parts = _message_parts(line[start + 1 : end - 1], names)
        buffer.append('"' + parts[0])
        for variable, after in zip(parts[1::2], parts[2::2], strict=True):
            literal.append("".join(buffer))
            buffer = [after]
            values.append(variable)
        buffer.append('"')
    buffer.append(line[position:])
    literal.append("".join(buffer))
    return KEY.join(literal), values


def _message_parts(text: str, names: Sequence[str]) -> list[str]:
    """``text`` (a JSON string's inside) as literal and variables, alternating: the row's
    names (its other data strings) where they recur, then variables as in a log line."""
    pieces = [text]
    for name in sorted((name for name in names if name in text), key=len, reverse=True):
        split: list[str] = []
        for index, piece in enumerate(pieces):
            if index % 2:
                split.append(piece)
                continue
            for part_index, part in enumerate(piece.split(name)):
                if part_index:
                    split.append(name)
                split.append(part)
        pieces = split
    out = [""]
    for index, piece in enumerate(pieces):
        if index % 2:
            out.extend((piece, ""))
            continue
        for run_index, run in enumerate(_ESCAPED_BLANK.split(piece)):
            if run_index % 2:  # an escaped newline or tab separates tokens, as a blank does
                out[-1] += run
                continue
            parts = split_line_parts(run)
            out[-1] += parts[0]
            out.extend(parts[1:])
    return out


def _data_columns(lines: Sequence[str], rows: dict[int, list[Leaf]]
                  ) -> set[tuple[str | int, ...]]:
    seen: dict[tuple[str | int, ...], set[str]] = {}
    counts: dict[tuple[str | int, ...], int] = {}
    for index, leaves in rows.items():
        line = lines[index]
        for column, start, end in leaves:
            if line[start] == '"':
                seen.setdefault(column, set()).add(line[start:end])
                counts[column] = counts.get(column, 0) + 1
    return {column for column, values in seen.items()
            if len(values) > MAX_LISTED and len(values) * DATA_SHARE > counts[column]}


_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_SCALAR = re.compile(r'"(?:[^"\\\n]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null')
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_FLAT = re.compile(r'\[(?:""|0|true|false|null)(?:,(?:""|0|true|false|null))*\]')


def _flat_leaves(line: str, start: int, tag: str) -> list[Leaf] | None:
    """``_leaves`` of a row whose values are all scalars (most NDJSON), found with a few
    regex passes instead of token by token; None when the row is not exactly that."""
    skeleton = _NUMBER.sub("0", _STRING.sub('""', line[start:]))
    if _FLAT.fullmatch(skeleton) is None:
        return None
    return [((tag, index), match.start(), match.end())
            for index, match in enumerate(_SCALAR.finditer(line, start))]


def _leaves(line: str, start: int, tag: str) -> list[Leaf] | None:
    """The scalar leaves of the JSON array at ``start`` (which must end the line), each with
    its column; None when the line is not exactly that."""
    leaves: list[Leaf] = []
    stack: list[list[str | int]] = []  # per open container: [kind, key or index, wants key]
    position = start
    for token in _TOKEN.finditer(line, start):
        if token.start() != position:
            return None
        position = token.end()
        text = token.group()
        head = text[0]
        if head in " \t":
            continue
        if head in "[{":
            stack.append([head, 0 if head == "[" else "", 1 if head == "{" else 0])
        elif head in "]}":
            if not stack or stack.pop()[0] != ("[" if head == "]" else "{"):
                return None
            if not stack:
                return leaves if position == len(line) else None
        elif not stack:
            return None
        elif head == ":":
            stack[-1][2] = 0
        elif head == ",":
            _next_member(stack[-1], top_level=len(stack) == 1)
        elif stack[-1][0] == "{" and stack[-1][2]:
            stack[-1][1] = text  # a member's name
        else:
            column = (tag, *(entry[1] for entry in stack))
            leaves.append((column, token.start(), token.end()))
    return None


def _next_member(container: list[str | int], *, top_level: bool) -> None:
    if container[0] == "{":
        container[2] = 1
    elif top_level:  # the row's own columns are positional; a nested list's items are one
        container[1] = int(container[1]) + 1
