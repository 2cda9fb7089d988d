"""Where the streamed answer goes: a pipe gets raw text, a terminal gets Markdown.

Standard library only: this module is on the CLI's fast path, so Rich is imported
(lazily, from ``llmx.ui.markdown``) only when the answer is rendered on a terminal.
It also holds ``BlockSplitter``, the pure part of terminal rendering: it cuts streamed
Markdown into complete top-level blocks (see ``llmx.ui.markdown`` for how they are drawn).

Selection (``make_sink``):

* stdout is not a terminal                  -> ``PipeSink`` (raw text, flushed per chunk)
* ``LLMX_RAW`` set (not "", "0", "false", "no", "off"), or ``TERM`` is "dumb"/"unknown"
                                             -> ``PipeSink`` even on a terminal
* otherwise                                 -> ``MarkdownSink``

``NO_COLOR`` (non-empty) switches off *colour*, not Markdown: on a terminal the answer
is still laid out as Markdown (headings, lists, tables, code blocks), just without colour.
Use ``LLMX_RAW=1`` for the text exactly as the model wrote it.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple, Protocol, TextIO

if TYPE_CHECKING:
    from llmx.errors import OutputError

_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})
_DUMB_TERMS = frozenset({"dumb", "unknown"})


class OutputClosed(Exception):
    """The reader of our output went away (e.g. ``llmx ask ... | head -1``).

    Not an error the user made: the CLI should stop quietly (no message, no traceback)
    after calling ``discard_output(sys.stdout)``.
    """


class Sink(Protocol):
    """Receives the answer as it streams in."""

    def write(self, text: str) -> None:
        """Take one streamed chunk (any size, may split lines or words)."""
        ...

    def close(self) -> None:
        """The answer is complete: finish rendering and end with a newline."""
        ...


@contextmanager
def closed_output_guard() -> Iterator[None]:
    """Turn a broken pipe into ``OutputClosed`` (a quiet exit) and any other failure to
    write (a full disk, a closed descriptor) into ``OutputError`` (one line, exit 8)."""
    try:
        yield
    except BrokenPipeError as exc:
        raise OutputClosed(str(exc)) from None
    except OSError as exc:
        raise output_error(exc) from None


def output_error(exc: OSError) -> OutputError:
    """The one-line error for stdout that cannot be written."""
    from llmx.errors import OutputError

    reason = "stdout is closed" if exc.errno == errno.EBADF else (exc.strerror or str(exc))
    return OutputError(f"cannot write the output: {reason}",
                       hint="fix the redirection or free some space, then run it again")


def discard_output(stream: TextIO) -> None:
    """Point a closed stream's descriptor at the null device.

    After a broken pipe, text may still sit in the stream's buffer; without this the
    interpreter's final flush prints "Exception ignored ... BrokenPipeError" at exit.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


class PipeSink:
    """Raw answer text, flushed per chunk; nothing else and no ANSI codes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._last = ""
        self._closed = False

    def write(self, text: str) -> None:
        if not text:
            return
        with closed_output_guard():
            self._stream.write(text)
            self._stream.flush()
        self._last = text[-1]

    def close(self) -> None:
        """End with exactly one newline if the answer did not end with one."""
        if self._closed:
            return
        self._closed = True
        if self._last and self._last != "\n":
            with closed_output_guard():
                self._stream.write("\n")
                self._stream.flush()


def raw_requested(env: Mapping[str, str]) -> bool:
    """True when the environment asks for raw text even on a terminal."""
    if env.get("LLMX_RAW", "").strip().lower() not in _FALSE_WORDS:
        return True
    return env.get("TERM", "").strip().lower() in _DUMB_TERMS


def make_sink(
    stream: TextIO, *, is_tty: bool, env: Mapping[str, str], width: int | None = None
) -> Sink:
    """The sink for ``stream``: Markdown on a capable terminal, raw text otherwise."""
    if not is_tty or raw_requested(env):
        return PipeSink(stream)
    from llmx.ui.markdown import MarkdownSink, terminal_console

    return MarkdownSink(terminal_console(stream, env=env, width=width))


# --- cutting streamed Markdown into top-level blocks (used by llmx.ui.markdown) ---

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


# Named tuples, not dataclasses: this module is imported by every command, a cache hit too.


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
