"""Streaming Markdown on a terminal, at a cost linear in the answer's length.

Re-rendering the whole growing document on every token (what makes ``llm``-style
tools quadratic) is avoided like this:

* ``llmx.ui.blocks.BlockSplitter`` (pure, standard library) cuts the incoming text,
  line by line, into top-level Markdown blocks. A block is complete when a following
  line starts a new block: a non-blank, non-indented line after a blank line (a list
  item after a blank line only when the block holds no list yet, so loose lists keep
  their numbering), or a fenced code block or ATX heading at column 0 (each is a block
  of its own). Blank lines inside fenced code (``` or ~~~) and raw HTML blocks never
  end a block; tables have no blank lines inside.
* Each complete block is rendered once with ``rich.markdown.Markdown`` and printed, so it
  scrolls into the terminal's history. Rich puts a blank line between top-level elements
  depending on what came before; to reproduce that exactly, a block that follows one
  ending in anything but a rule is rendered behind a one-line paragraph whose lines are
  then dropped.
* Only the unfinished block is shown live (``rich.live.Live``, transient, no refresh
  thread, at most ``max_refresh_hz`` redraws driven by ``write``), cut to the last
  screenful of source text, so one redraw costs at most about one screen.
* A long top-level code fence is printed in screen-sized slices of finished lines as it
  streams, so a 5,000-line code block scrolls by instead of waiting for its closing fence.

Known limit: a reference-style link whose definition arrives in a later block is shown
as typed (``[text][1]``), since earlier blocks are already on screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TextIO

from rich.console import Console, ConsoleOptions, Group, NewLine, RenderableType, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.segment import Segment
from rich.syntax import Syntax

from llmx.ui.blocks import Block, BlockSplitter
from llmx.ui.stream import OutputClosed, closed_output_guard

_GAP_PREFIX = "x\n\n"  # a one-line paragraph: what follows it gets Rich's blank-line gap
# The live tail is drawn this many columns narrower than the screen. Rich pads its lines to
# the full width, which leaves the cursor in the last column, where the tty's echo of a
# key (``^C``) would wrap to a new row the live display does not know to erase: its top
# row would stay on screen and be printed again by the final render.
_ECHO_ROOM = 2


class _Lines:
    """Render ``inner``, drop its first ``skip`` lines, keep at most the last ``keep``;
    ``spare`` columns are left free on the right."""

    def __init__(self, inner: RenderableType, *, skip: int = 0, keep: int | None = None,
                 spare: int = 0) -> None:
        self._inner, self._skip, self._keep, self._spare = inner, skip, keep, spare

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width - self._spare)
        lines = console.render_lines(self._inner, options.update(width=width, height=None),
                                     pad=False)
        lines = lines[self._skip:]
        if self._keep is not None:
            lines = lines[-self._keep:]
        for line in lines:
            yield from line
            yield Segment.line()


class _Tail:
    """What the live display shows; swapped in place so Live's own redraws see the latest."""

    def __init__(self) -> None:
        self.content: RenderableType = Group()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.content


@dataclass(frozen=True)
class _CodeStream:
    """A long code fence being printed in slices: its lexer and lines printed so far."""

    lexer: str
    printed: int = 0


class _AnswerConsole(Console):
    """A console whose broken pipe raises ``OutputClosed`` (Rich's default exits)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise OutputClosed("output closed")


def terminal_console(stream: TextIO, *, env: Mapping[str, str], width: int | None) -> Console:
    """A Rich console for a terminal; ``NO_COLOR`` drops colour but keeps the layout."""
    return _AnswerConsole(
        file=stream,
        force_terminal=True,
        width=width,
        no_color=env.get("NO_COLOR", "") != "",
        highlight=False,
        _environ=env,
    )


def _fence_lexer(opener: str) -> str:
    """The lexer Rich's Markdown would choose for a fence with this opening line."""
    tokens = Markdown(opener).parsed
    info = tokens[0].info if tokens and tokens[0].type == "fence" else ""
    return info.partition(" ")[0] or "text"


class MarkdownSink:
    """Renders streamed Markdown on a Rich console (see the module docstring).

    Call ``close()`` even when the stream fails or is interrupted (``finally``): it prints
    what arrived and gives the terminal its cursor back. ``clock`` is injectable so tests
    can drive the redraw rate without sleeping.
    """

    def __init__(
        self,
        console: Console,
        *,
        code_theme: str = "monokai",
        max_refresh_hz: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console = console
        self._theme = code_theme
        self._interval = 1.0 / max_refresh_hz
        self._clock = clock
        self._blocks = BlockSplitter()
        self._live: Live | None = None
        self._view = _Tail()
        self._last_refresh = float("-inf")
        self._gap = False  # Rich would put a blank line before the next simple block
        self._code: _CodeStream | None = None
        self._probe: tuple[int, int] | None = None
        self._started = self._closed = False

    def write(self, text: str) -> None:
        if not text or self._closed:
            return
        with closed_output_guard():
            self._start()
            out: list[RenderableType] = []
            for block in self._blocks.feed(text):
                out.extend(self._commit(block))
            out.extend(self._print_code_slice())
            self._show(out)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with closed_output_guard():
            try:
                out = [r for block in self._blocks.finish() for r in self._commit(block)]
                self._view.content = Group()
                if out:
                    self._console.print(Group(*out))
            finally:
                if self._live is not None:
                    self._live.stop()

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        if self._console.is_interactive and not self._console.is_dumb_terminal:
            self._live = Live(
                self._view,
                console=self._console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
                vertical_overflow="visible",
            )
            self._live.start()

    def _show(self, out: list[RenderableType]) -> None:
        """Print finished blocks above the live tail; redraw the tail at most at the rate."""
        live = self._live
        if live is None:
            if out:
                self._console.print(Group(*out))
            return
        now = self._clock()
        if not out and now - self._last_refresh < self._interval:
            return
        self._last_refresh = now
        self._view.content = self._tail()
        if out:
            self._console.print(Group(*out))  # Live's hook redraws the tail below it
        else:
            live.refresh()

    def _commit(self, block: Block) -> list[RenderableType]:
        if self._code is not None:
            return [self._finish_code(block)]
        tokens_before = self._gap_probe()[1] if self._gap else 0
        md, skip = self._markdown(block.text)
        if len(md.parsed) > tokens_before:
            self._gap = md.parsed[-1].type != "hr"
        return [_Lines(md, skip=skip)]

    def _markdown(self, text: str) -> tuple[Markdown, int]:
        """Markdown for ``text`` as Rich would lay it out at this point of the document."""
        if not self._gap:
            return Markdown(text, code_theme=self._theme), 0
        return Markdown(_GAP_PREFIX + text, code_theme=self._theme), self._gap_probe()[0]

    def _gap_probe(self) -> tuple[int, int]:
        """Screen lines and parser tokens of the gap prefix, measured once."""
        if self._probe is None:
            probe = Markdown(_GAP_PREFIX.strip())
            height = len(self._console.render_lines(probe, pad=False))
            self._probe = (height, len(probe.parsed))
        return self._probe

    def _syntax(self, code: str, lexer: str, *, top: int, bottom: int) -> Syntax:
        padding = (top, 1, bottom, 1)
        return Syntax(code, lexer, theme=self._theme, word_wrap=True, padding=padding)

    def _print_code_slice(self) -> list[RenderableType]:
        """Print finished lines of a long open code fence, one screenful at a time."""
        blocks = self._blocks
        if not blocks.in_top_fence:
            return []
        lines = blocks.lines
        printed = self._code.printed if self._code else 0
        start, stop = 1 + printed, blocks.last_solid  # keep the last non-blank line back
        if stop - start < self._screen_lines():
            return []
        out: list[RenderableType] = []
        code = self._code or _CodeStream(_fence_lexer(lines[0]))
        if self._code is None and self._gap:
            out.append(NewLine())
        out.append(self._syntax("\n".join(lines[start:stop]), code.lexer, top=int(not printed),
                                bottom=0))
        self._code = replace(code, printed=printed + stop - start)
        self._gap = True
        return out

    def _finish_code(self, block: Block) -> RenderableType:
        code, self._code = self._code, None
        assert code is not None
        end = len(block.lines) - 1 if block.closed else len(block.lines)
        rest = "\n".join(block.lines[1 + code.printed:end]).rstrip()
        return self._syntax(rest, code.lexer, top=0, bottom=1)

    def _screen_lines(self) -> int:
        return max(4, self._console.height - 1)

    def _tail(self) -> RenderableType:
        """The open block, cut to about one screen of source text."""
        keep = self._screen_lines()
        max_chars = keep * max(20, self._console.width)
        blocks = self._blocks
        lines = blocks.lines
        first = 1 + self._code.printed if self._code else 0
        start = max(first, len(lines) - keep)
        view = list(lines[start:])
        partial = blocks.partial(max_chars)
        if partial:
            view.append(partial)
        text = "\n".join(view)
        if not text:
            return Group()
        chars_cut = len(text) > max_chars
        text = text[-max_chars:]
        if self._code is not None:
            code = self._syntax(text, self._code.lexer, top=0, bottom=0)
            return _Lines(code, keep=keep, spare=_ECHO_ROOM)
        region = blocks.region
        if region is not None and (region[0] < start or chars_cut):
            text = region[1] + "\n" + text  # keep an open fence open in the cut view
        md, skip = self._markdown(text)
        return _Lines(md, skip=skip, keep=keep, spare=_ECHO_ROOM)
