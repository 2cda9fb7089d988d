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
- In both, a ``[same N lines as above ...]`` line (``SharedFrames``: frames written once) is a
  frame, so a trace that was folded before is still one record (compression is idempotent).

Both shapes are the languages' own traceback formats, not any product's.

``unprefixed`` writes the prefix of a trace whose lines all carry the header's (same time,
process, logger: one event logged line by line) on the header only; the other lines keep
their rest, indented by two spaces. Why it is general: a logger repeats its columns on every
line of a multi-line message, and they say nothing the header does not.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence

_PYTHON_HEADER = "Traceback (most recent call last):"
_JAVA_FRAME = re.compile(r"[ \t]*at [\w$.<>/\x00]+\(")  # matched on keys: \x00 is a variable
_JAVA_FRAME_ANYWHERE = re.compile(r"at [\w$.<>/\x00]+\(")
_SAME = r"\[same (?:\d+|\x00) lines as above"  # a run of frames written once (SharedFrames)
_JAVA_MORE = re.compile(
    r"[ \t]*(?:\.\.\. (?:\d+|\x00) more|Caused by: |Suppressed: |[ \t]*at [\w$.<>/\x00]+\("
    rf"|{_SAME})")
_SAME_RUN = re.compile(_SAME)
_SAME_FRAME = re.compile(rf"[ \t]+{_SAME}")
KEY = "\x00"  # a variable, in a key (shapes.KEY)
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


CONTINUED = "  "  # stands for the header's prefix on a trace's later lines


def unprefixed(lines: Sequence[str], keys: Sequence[str], units: dict[int, int],
               values_of: Callable[[int], Sequence[str]]) -> list[str] | None:
    """``lines`` with each trace's repeated prefix left out after its header (see the module
    docstring); None when no trace has one."""
    out: list[str] | None = None
    for start, end in units.items():
        if end - start < 2 or (prefix := _prefix(keys, start)) is None or not prefix.strip():
            continue
        literal = prefix.split(KEY)
        values = values_of(start)[: len(literal) - 1]
        text = "".join(piece for pair in zip(literal, values, strict=False) for piece in pair)
        text += literal[-1]
        if len(values) < len(literal) - 1 or not all(
                line.startswith(text) for line in lines[start + 1 : end]):
            continue
        if out is None:
            out = list(lines)
        for index in range(start + 1, end):
            out[index] = CONTINUED + lines[index][len(text) :].lstrip(" ")
    return out


def _may_head(line: str, following: str) -> bool:
    return (_PYTHON_HEADER in line or " at " in following or "\tat " in following
            or "[same " in following)


def _prefix(keys: Sequence[str], start: int) -> str | None:
    """The key text a trace's lines share (None: ``start`` is no trace header)."""
    header, following = keys[start], keys[start + 1]
    if (position := header.find(_PYTHON_HEADER)) >= 0:
        prefix = header[:position]
        return prefix if following.startswith(prefix) else None
    if _JAVA_FRAME_ANYWHERE.search(following) is None and "[same " not in following:
        return None  # cheap: most lines hold no frame
    size = 0
    limit = min(len(header), len(following))
    while size < limit and header[size] == following[size]:
        size += 1
    prefix = following[:size]
    if size and not prefix[-1].isspace():  # cut at the last column boundary
        prefix = prefix[: prefix.rfind(" ") + 1]
    rest = following[len(prefix) :]
    indented = bool(prefix) or rest[:1] in (" ", "\t")
    frame = _JAVA_FRAME.match(rest) or _SAME_FRAME.match(rest)
    return prefix if indented and frame else None


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
        if body.startswith(('File "', "File \x00")) or _SAME_RUN.match(body):
            after_frame = True  # (a quoted path with a digit is a variable)
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
    there; when the run stands at the same place in the trace just before this one, the
    reference is ``[same N lines as above]`` (those lines of the trace above, which may
    themselves point further up). The longest run is taken (a line seen in several places,
    such as a blank line or a frame that recurs, is tried at each, the latest first); a run
    never starts at a blank line.
    Order is kept; a trace's header line is never replaced, so each trace still says what
    failed.
    """

    def __init__(self) -> None:
        self._traces: list[Sequence[str]] = []
        self._where: dict[str, list[tuple[int, int]]] = {}  # line -> (trace, position)s

    def shorten(self, lines: Sequence[str]) -> list[tuple[str, int]]:
        """The trace's output lines, each with the offset of the first line it stands for."""
        out = [(lines[0], 0)]
        index = 1
        while index < len(lines):
            run, above = self._run(lines, index) if lines[index].strip() else (0, False)
            if run >= MIN_SHARED:
                first = lines[index]
                indent = first[: len(first) - len(first.lstrip())]
                where = "" if above else f" from: {first.strip()}"
                out.append((f"{indent}[same {run} lines as above{where}]", index))
                index += run
            else:
                out.append((lines[index], index))
                index += 1
        trace = len(self._traces)
        self._traces.append(lines)
        for position, line in enumerate(lines):
            self._where.setdefault(line, []).append((trace, position))
        return out

    def _run(self, lines: Sequence[str], index: int) -> tuple[int, bool]:
        """The longest earlier run starting with ``lines[index]``; whether it stands at the
        same place in the trace just before."""
        best, above = 0, False
        latest = len(self._traces) - 1
        for trace, position in reversed(self._where.get(lines[index], [])[-MAX_TRIED:]):
            earlier = self._traces[trace]
            size = 1
            while index + size < len(lines) and position + size < len(earlier) and \
                    earlier[position + size] == lines[index + size]:
                size += 1
            if size > best:
                best, above = size, trace == latest and position == index
        return best, above


MAX_TRIED = 16  # earlier places of one line tried for a run (bounds the work per line)
