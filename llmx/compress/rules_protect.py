"""Protected spans: the parts of a text that no compression rule may rewrite.

Two layers:

- ``split_fenced`` cuts a text into fenced code blocks (``````` or ``~~~``, CommonMark-style: up
  to three spaces of indentation, closed by a fence of the same character at least as long;
  an unclosed fence runs to the end) and prose. Code pieces are passed through byte for byte.
- ``mask`` replaces every protected span of a prose piece by one private-use character (a
  character that does not occur in the piece) so that the regex rules can run on the rest;
  ``Masked.restore`` puts the spans back in order. Masked: JSON blocks (lines holding one
  whole JSON object/array; minified when asked, their strings untouched), inline code,
  quoted strings within a line ("...", “...”, ‘...’, and '...' where the quote is not an
  apostrophe as in don't/it's/users'), and indented code lines (four spaces or a tab, not a
  list item).

URLs, paths and numbers hold no blank, and no prose rule rewrites the inside of a
blank-delimited token: the whitespace rules change only runs of blanks, the table rule only
the blanks around ``|`` and the dashes of a delimiter row, and a filler rule removes a whole
token only when the token is the filler word itself (bounded by blanks, an optional comma,
or a sentence end). So they come through by construction, without the cost of masking them
(the tests check it with URLs, paths and numbers next to filler words).
"""  # noqa: RUF002 - the multiplication sign and curly quotes are meant

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$", re.MULTILINE)

# One pattern per kind of span, each starting with a literal (a regex that starts with a set
# of characters tests each character against it, several times slower than a literal), tried
# only when its probe occurs; ``_protected_spans`` merges them as one alternation would: the
# leftmost span, and on a tie the kind listed first. Indented lines are found after their
# line's "\n", which is not part of the span.
_NOT_A_LIST_ITEM = r"(?![ \t]*(?:[-*+]|\d{1,9}[.)])[ \t])"
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("```", re.compile(r"```[^\n]*?```")),  # inline code, three backticks
    ("``", re.compile(r"``[^\n]*?``")),  # inline code, two backticks
    ("`", re.compile(r"`[^`\n]+`")),  # inline code
    ("\n    ", re.compile(rf"\n( {{4}}{_NOT_A_LIST_ITEM}[^\n]*)")),  # indented code line
    ("\n\t", re.compile(rf"\n(\t{_NOT_A_LIST_ITEM}[^\n]*)")),  # (tab-indented)
    ('"', re.compile(r'"(?<![\w"]")[^"\n]*"')),  # "double quoted"
    ("\u201c", re.compile("\u201c[^\u201d\n]*\u201d")),  # curly double quoted
    ("\u2018", re.compile("\u2018[^\u2019\n]*\u2019")),  # curly single quoted
    ("'", re.compile(r"'(?<![\w']')(?=[^\s'])[^'\n]*?(?<=[^\s'])'(?![\w'])")),  # not don't
)


def _protected_spans(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each protected span of ``text``, in order, none overlapping."""
    kinds = [pattern for probe, pattern in _KINDS if probe in text]
    found = [pattern.search(text) for pattern in kinds]
    position = 0
    while True:
        best: tuple[int, int] | None = None
        for index, match in enumerate(found):
            if match is not None and match.start(match.lastindex or 0) < position:
                found[index] = match = kinds[index].search(text, position)
            if match is not None:
                span = match.span(match.lastindex or 0)
                if best is None or span[0] < best[0]:
                    best = span
        if best is None:
            return
        yield best
        position = best[1]


# A line that may open a JSON object or array: the bracket, then what a JSON value can hold.
_JSON_START = re.compile(r"^[ \t]*([\[{])[ \t\r]*(?:[\"{\[\]}\d\-tfn]|$)", re.MULTILINE)
_CLOSER_LINE = re.compile(r"^([ \t]*)([}\]])[ \t\r]*$", re.MULTILINE)
_CLOSERS = {"{": "}", "[": "]"}
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[^ \t\r\n"]+')  # all but the blanks between


def split_fenced(text: str) -> list[tuple[bool, str]]:
    """``(is_code, piece)`` pairs in order; the pieces concatenate back to ``text``."""
    pieces: list[tuple[bool, str]] = []
    start = pos = 0
    while (opening := _FENCE_OPEN.search(text, pos)) is not None:
        fence, info = opening.group(1), opening.group(2)
        if fence[0] == "`" and "`" in info:  # not a fence: an info string never holds a backtick
            pos = opening.end() + 1
            continue
        closing = re.compile(
            rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*\r?$", re.MULTILINE
        ).search(text, opening.end())
        end = len(text) if closing is None else closing.end()
        if text.startswith("\n", end):
            end += 1
        if opening.start() > start:
            pieces.append((False, text[start : opening.start()]))
        pieces.append((True, text[opening.start() : end]))
        start = pos = end
    if start < len(text):
        pieces.append((False, text[start:]))
    return pieces


def minify_json(block: str) -> str:
    """Drop the blanks between JSON tokens; strings (and everything else) stay as written."""
    return "".join(_JSON_TOKENS.findall(block))


def json_blocks(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each JSON object/array that fills its lines (indentation aside).

    A block is one line, or runs from a line opening with ``{``/``[`` to the first later line
    holding only the matching closer at the same indentation (how pretty-printers write it);
    the whole text may also be one JSON value, however laid out. Each attempt decodes only
    its own slice, so the work stays linear-ish on any input.
    """
    decoder = json.JSONDecoder()
    whole = text.strip()
    if whole[:1] in ("{", "[") and _parses(decoder, whole):
        start = text.index(whole[0])
        yield start, start + len(whole)
        return
    closer_lines: dict[tuple[str, str], list[int]] = {}  # (indent, closer) -> line ends
    for line in _CLOSER_LINE.finditer(text):
        closer_lines.setdefault((line.group(1), line.group(2)), []).append(line.end())
    pos = 0
    while (candidate := _JSON_START.search(text, pos)) is not None:
        start = candidate.start(1)
        line_end = text.find("\n", start) % (len(text) + 1)  # -1 -> len(text)
        end = _block_end(text, candidate, line_end, decoder, closer_lines)
        if end is None:
            pos = line_end
            continue
        yield start, end
        pos = end


def _block_end(
    text: str,
    candidate: re.Match[str],
    line_end: int,
    decoder: json.JSONDecoder,
    closer_lines: dict[tuple[str, str], list[int]],
) -> int | None:
    start = candidate.start(1)
    closer = _CLOSERS[candidate.group(1)]
    if text[start:line_end].rstrip().endswith(closer) and _parses(decoder, text[start:line_end]):
        return start + len(text[start:line_end].rstrip())
    ends = closer_lines.get((text[candidate.start() : start], closer), [])
    following = bisect.bisect_right(ends, line_end)
    if following < len(ends) and _parses(decoder, text[start : ends[following]]):
        return start + len(text[start : ends[following]].rstrip())
    return None


def _parses(decoder: json.JSONDecoder, block: str) -> bool:
    """Whether ``block`` is exactly one JSON value (blanks around it aside)."""
    try:
        _, end = decoder.raw_decode(block)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return False
    return not block[end:].strip()


def _free_mark(text: str) -> str:
    for codepoint in range(0xE000, 0xF900):
        if chr(codepoint) not in text:
            return chr(codepoint)
    raise ValueError("text uses every private-use character; cannot mask it")


@dataclass(frozen=True, slots=True)
class Masked:
    """A prose piece with each protected span replaced by ``mark``."""

    text: str
    spans: tuple[str, ...]
    mark: str

    def restore(self, rewritten: str) -> str:
        """Put the spans back into ``rewritten`` (``self.text`` after rules that keep marks)."""
        parts = rewritten.split(self.mark)
        if len(parts) != len(self.spans) + 1:
            raise AssertionError("a compression rule removed a protected span")
        out = [parts[0]]
        for span, part in zip(self.spans, parts[1:], strict=True):
            out.append(span)
            out.append(part)
        return "".join(out)


def mask(text: str, *, minify: bool) -> Masked:
    """Mask the protected spans of a prose piece; JSON blocks are minified when ``minify``."""
    mark = _free_mark(text)
    spans: list[str] = []
    out: list[str] = []
    pos = 0
    for start, end in json_blocks(text) if "{" in text or "[" in text else ():
        _mask_inline(text[pos:start], mark, spans, out)
        block = text[start:end]
        spans.append(minify_json(block) if minify else block)
        out.append(mark)
        pos = end
    _mask_inline(text[pos:], mark, spans, out)
    return Masked("".join(out), tuple(spans), mark)


def _mask_inline(chunk: str, mark: str, spans: list[str], out: list[str]) -> None:
    text = "\n" + chunk  # "\n": an indented line at the start is at a line start
    pieces: list[str] = []
    position = 0
    for start, end in _protected_spans(text):
        pieces.append(text[position:start])
        spans.append(text[start:end])
        position = end
    pieces.append(text[position:])
    out.append(mark.join(pieces)[1:])
