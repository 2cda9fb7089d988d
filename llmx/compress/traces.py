"""Stack traces as records: a trace's lines are one unit, so folding never splits one.

``trace_units(lines, keys)`` answers ``{start: end}`` for every record of a text, in order,
covering every line: a trace is several lines, every other line is a record of its own.

A trace starts at a header and takes the following lines that carry the header's prefix
(the key text shared by the header and its next line: a log's timestamp/PID/logger columns,
or nothing) and whose rest is a frame:

- Python: the header holds ``Traceback (most recent call last):``; frames are indented
  (``File "...", line N, in f`` and the source line under it); the first unindented line
  after a frame (the exception, ``ValueError: ...``) ends the trace. A blank line between
  frames is kept inside the trace when the line after it is still indented.
- Java and other JVM languages: the header is any line followed by an ``at name(...)`` frame;
  frames are indented ``at ...`` lines, ``... N more``, and ``Caused by: ...`` /
  ``Suppressed: ...`` lines, which start a nested cause.

Both shapes are the languages' own traceback formats, not any product's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence

_PYTHON_HEADER = "Traceback (most recent call last):"
_JAVA_FRAME = re.compile(r"[ \t]*at [\w$.<>/\x00]+\(")  # matched on keys: \x00 is a variable
_JAVA_MORE = re.compile(
    r"[ \t]*(?:\.\.\. (?:\d+|\x00) more|Caused by: |Suppressed: |[ \t]*at [\w$.<>/\x00]+\()")
_EXCEPTION = re.compile(r"[A-Za-z_][\w.$]*(?::|$)")


def trace_units(lines: Sequence[str], keys: Sequence[str]) -> dict[int, int]:
    """``{start: end}`` of each record (a trace, or one line), in order, covering all lines."""
    total = len(lines)
    joined = "\n".join(lines)
    if _PYTHON_HEADER not in joined and " at " not in joined and "\tat " not in joined:
        return dict(zip(range(total), range(1, total + 1), strict=True))  # no trace: fast
    units: dict[int, int] = {}
    index = 0
    while index < total:
        end = index + 1
        if end < total and _may_head(lines[index], lines[end]):
            end = _trace_end(lines, keys, index)
        units[index] = end
        index = end
    return units


def _may_head(line: str, following: str) -> bool:
    return _PYTHON_HEADER in line or " at " in following or "\tat " in following


def _prefix(keys: Sequence[str], start: int) -> str | None:
    """The key text a trace's lines share (None: ``start`` is no trace header)."""
    header, following = keys[start], keys[start + 1]
    if (position := header.find(_PYTHON_HEADER)) >= 0:
        prefix = header[:position]
        return prefix if following.startswith(prefix) else None
    size = 0
    limit = min(len(header), len(following))
    while size < limit and header[size] == following[size]:
        size += 1
    prefix = following[:size]
    if size and not prefix[-1].isspace():  # cut at the last column boundary
        prefix = prefix[: prefix.rfind(" ") + 1]
    rest = following[len(prefix) :]
    indented = bool(prefix) or rest[:1] in (" ", "\t")
    return prefix if indented and _JAVA_FRAME.match(rest) else None


def _trace_end(lines: Sequence[str], keys: Sequence[str], start: int) -> int:
    prefix = _prefix(keys, start)
    if prefix is None:
        return start + 1
    rests = (key[len(prefix) :] if key.startswith(prefix) else None for key in keys[start + 1 :])
    if _PYTHON_HEADER in keys[start]:
        return start + 1 + _python_frames(rests)
    return start + 1 + sum(1 for _ in itertools.takewhile(
        lambda rest: rest is not None and _JAVA_MORE.match(rest) is not None, rests))


def _python_frames(rests: Iterator[str | None]) -> int:
    """How many lines after a Python header belong to its trace.

    A ``File "..."`` line is a frame; the line after a frame is its source line unless it is
    a frame itself or the exception; the exception ends the trace. Indentation is not relied
    on: the whitespace rule may have narrowed it after a log prefix.
    """
    kept = 0
    after_frame = False
    for taken, rest in enumerate(rests, start=1):
        if rest is None:
            break
        body = rest.strip(" \t")
        if body.startswith(('File "', "File \x00")):  # a quoted path with a digit is a variable
            after_frame = True
        elif _EXCEPTION.match(body):
            return taken if kept else 0
        elif after_frame and body:
            after_frame = False
        elif body:
            break
        if body:  # a blank line counts only when a frame follows it
            kept = taken
    return kept


MIN_SHARED = 3  # a shorter run of repeated lines is cheaper written out


class SharedFrames:
    """Runs of trace lines already written in an earlier trace, replaced by one reference.

    ``shorten(lines)`` answers ``lines`` (each with its offset) with every run of
    ``MIN_SHARED`` or more consecutive lines that stood, consecutively and in the same
    order, in a trace given to it before replaced by ``[same N lines as above from:
    FIRST]`` (indented like the run): the reader finds FIRST above and reads N lines from
    there. Order is kept; a trace's header line is never replaced, so each trace still says
    what failed.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int]] = {}  # line -> (trace, position) where first seen
        self._traces = 0

    def shorten(self, lines: Sequence[str]) -> list[tuple[str, int]]:
        """The trace's output lines, each with the offset of the first line it stands for."""
        trace = self._traces
        self._traces += 1
        for position, line in enumerate(lines):
            self._seen.setdefault(line, (trace, position))
        out = [(lines[0], 0)]
        index = 1
        while index < len(lines):
            run = self._run(lines, index, trace)
            if run >= MIN_SHARED:
                first = lines[index]
                indent = first[: len(first) - len(first.lstrip())]
                out.append((f"{indent}[same {run} lines as above from: {first.strip()}]", index))
                index += run
            else:
                out.append((lines[index], index))
                index += 1
        return out

    def _run(self, lines: Sequence[str], index: int, trace: int) -> int:
        where = self._seen.get(lines[index])
        if where is None or where[0] == trace:
            return 0
        size = 1
        while index + size < len(lines) and \
                self._seen.get(lines[index + size]) == (where[0], where[1] + size):
            size += 1
        return size
