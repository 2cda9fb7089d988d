"""Cutting streamed Markdown into complete top-level blocks: the pure part of terminal
rendering (``llmx.ui.markdown`` draws the blocks). Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

# Patterns as strings: compiled on first use (and cached by ``re``), not at import.
_FENCE_OPEN = r"( {0,3})(`{3,}|~{3,})(.*)"
_FENCE_CLOSE = r" {0,3}(`{3,}|~{3,})[ \t]*"
_LIST_ITEM = r" {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)"
_ATX_HEADING = r"#{1,6}(?:[ \t]|$)"
_HTML_START = r" {0,3}<"
_RAW_HTML = (  # CommonMark HTML blocks 1-5: they end at a marker, not at a blank line
    (r"(?i)<(?:script|pre|style|textarea)(?:[ \t>]|$)",
     ("</script>", "</pre>", "</style>", "</textarea>")),
    (r"<!--", ("-->",)),
    (r"<\?", ("?>",)),
    (r"<![A-Za-z]", (">",)),
    (r"<!\[CDATA\[", ("]]>",)),
)


class Block(NamedTuple):
    """One complete top-level Markdown block, as source lines (without newlines)."""

    lines: tuple[str, ...]
    fenced: bool = False  # the whole block is one fenced code block opened at column 0
    closed: bool = True  # False when the answer ended inside that fence

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


class _Region(NamedTuple):
    """An open fenced code block or raw HTML block: blank lines do not end it."""

    opener: str
    fence: str = ""  # the opening fence's marker run; "" for HTML
    terminators: tuple[str, ...] = ()

    def closes(self, line: str) -> bool:
        if self.fence:
            m = re.fullmatch(_FENCE_CLOSE, line)
            closer = m.group(1) if m else ""
            return closer[:1] == self.fence[0] and len(closer) >= len(self.fence)
        lowered = line.lower()
        return any(marker in lowered for marker in self.terminators)


def _fence_region(line: str) -> _Region | None:
    m = re.fullmatch(_FENCE_OPEN, line)
    if m is None or (m.group(2)[0] == "`" and "`" in m.group(3)):
        return None
    return _Region(opener=line, fence=m.group(2))


def _html_region(line: str) -> _Region | None:
    body = line.lstrip(" ")
    if len(line) - len(body) > 3:
        return None
    for pattern, ends in _RAW_HTML:
        m = re.match(pattern, body)
        if m is not None:
            rest = body[m.end():].lower()
            return None if any(end in rest for end in ends) else _Region(line, "", ends)
    return None


class BlockSplitter:
    """Cuts streamed Markdown into complete top-level blocks; pure, linear in the input.

    Works on complete lines only. A block ends before a line that must start a new one:

    * a non-blank line after a blank line, unless it is indented (it may continue a
      list item or be indented code) or is a list item while the block holds a list
      (a loose list must stay one list for its numbering);
    * a fenced code block or ATX heading at column 0, which also stand alone: a heading
      ends its block at once, a column-0 fence at its closing fence.

    Blank lines inside fenced code (``` / ~~~) and raw HTML blocks (<!-- -->, <pre>,
    <script>, ...) never end a block, and a table has no blank line inside, so neither is
    ever cut. Where unsure the splitter keeps lines together: a bigger block costs one
    bigger render, never a wrong one.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []  # complete lines of the open block
        self._parts: list[str] = []  # pieces of the line still arriving
        self._region: _Region | None = None
        self._region_at = 0
        self._top_fence = False
        self._after_blank = False
        self._html = False  # inside an HTML block that only a blank line ends
        self._has_list = False
        self._last_solid = -1  # index of the open block's last non-blank line

    @property
    def lines(self) -> Sequence[str]:
        """Complete lines of the open block (read-only view)."""
        return self._lines

    @property
    def last_solid(self) -> int:
        return self._last_solid

    @property
    def in_top_fence(self) -> bool:
        """The open block is a column-0 fenced code block whose closing fence is pending."""
        return self._top_fence and self._region is not None

    @property
    def region(self) -> tuple[int, str] | None:
        """Line index and text of the open fence / raw HTML opener, if one is open."""
        return None if self._region is None else (self._region_at, self._region.opener)

    def partial(self, limit: int) -> str:
        """At most the last ``limit`` characters of the line still arriving."""
        taken: list[str] = []
        size = 0
        for part in reversed(self._parts):
            taken.append(part)
            size += len(part)
            if size >= limit:
                break
        return "".join(reversed(taken))[-limit:] if limit > 0 else ""

    def feed(self, text: str) -> list[Block]:
        """Take a chunk; return the blocks it completed."""
        done: list[Block] = []
        first, *rest = text.split("\n")
        if first:
            self._parts.append(first)
        for piece in rest:
            line = "".join(self._parts)
            self._parts = [piece] if piece else []
            self._take_line(line, done)
        return done

    def finish(self) -> list[Block]:
        """The answer ended: return every block still open."""
        done: list[Block] = []
        if self._parts:
            line = "".join(self._parts)
            self._parts = []
            self._take_line(line, done)
        if self._last_solid >= 0:
            self._emit(done)
        return done

    def _take_line(self, line: str, done: list[Block]) -> None:
        line = line.removesuffix("\r")
        if self._region is not None:
            self._append(line)
            if self._region.closes(line):
                self._region = None
                if self._top_fence:
                    self._emit(done)
            return
        if not line.strip():
            if self._lines:
                self._lines.append(line)
            self._after_blank, self._html = True, False
            return
        if self._lines and self._starts_block(line):
            self._emit(done)
        self._after_blank = False
        self._append(line)
        self._classify(line, done)

    def _starts_block(self, line: str) -> bool:
        if self._after_blank:
            indented = line[0] in " \t"
            return not indented and not (self._has_list and re.match(_LIST_ITEM, line))
        if self._html:
            return False
        if re.match(_ATX_HEADING, line):
            return True
        region = _fence_region(line)
        return region is not None and not line.startswith(" ")

    def _classify(self, line: str, done: list[Block]) -> None:
        if self._html:
            return
        region = _fence_region(line) or _html_region(line)
        if region is not None:
            self._region, self._region_at = region, len(self._lines) - 1
            self._top_fence = bool(region.fence) and len(self._lines) == 1 and line[0] != " "
        elif re.match(_HTML_START, line):
            self._html = True
        elif re.match(_LIST_ITEM, line):
            self._has_list = True
        elif re.match(_ATX_HEADING, line):
            self._emit(done)

    def _append(self, line: str) -> None:
        self._lines.append(line)
        if line.strip():
            self._last_solid = len(self._lines) - 1

    def _emit(self, done: list[Block]) -> None:
        closed = self._region is None
        done.append(Block(tuple(self._lines), fenced=self._top_fence, closed=closed))
        self._lines = []
        self._region = None
        self._top_fence = self._after_blank = self._html = self._has_list = False
        self._last_solid = -1
