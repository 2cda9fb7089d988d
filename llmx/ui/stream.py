"""Where the streamed answer goes: a pipe gets raw text, a terminal gets Markdown.

Standard library only: this module is on the CLI's fast path (a cache hit included), so
Rich is imported (lazily, from ``llmx.ui.markdown``) only when the answer is rendered on a
terminal, and so is ``llmx.ui.blocks``, the pure part of that rendering.

Selection (``make_sink``):

* stdout is not a terminal                  -> ``PipeSink`` (raw text; see below)
* ``LLMX_RAW`` set (not "", "0", "false", "no", "off"), or ``TERM`` is "dumb"/"unknown"
                                             -> ``PipeSink`` even on a terminal
* otherwise                                 -> ``MarkdownSink``

``NO_COLOR`` (non-empty) switches off *colour*, not Markdown: on a terminal the answer
is still laid out as Markdown (headings, lists, tables, code blocks), just without colour.
Use ``LLMX_RAW=1`` for the text exactly as the model wrote it.

``PipeSink`` flushes each chunk as it arrives, or, given ``later`` (the event loop's
``call_later``), adapts to the stream's pace (``llmx.ui.stream_buffer``): a sparse stream
is still written chunk by chunk, a fast one in bursts, no text held more than ~20 ms.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TextIO

from llmx.ui.stream_buffer import Coalescer, Later

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
    """Raw answer text and nothing else, no ANSI codes; flushed per chunk, or per burst of
    fast chunks when given ``later`` (see the module docstring). ``chunks`` and ``writes``
    give the buffer efficiency (``writes / chunks``)."""

    def __init__(self, stream: TextIO, *, later: Later | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._last = ""
        self._closed = False
        self._coalescer = None if later is None else Coalescer(self._put, later, clock=clock)
        self._chunks = self._writes = 0

    @property
    def chunks(self) -> int:
        return self._chunks if self._coalescer is None else self._coalescer.chunks

    @property
    def writes(self) -> int:
        return self._writes if self._coalescer is None else self._coalescer.writes

    def _put(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()

    def write(self, text: str) -> None:
        if not text:
            return
        with closed_output_guard():
            if self._coalescer is None:
                self._chunks += 1
                self._writes += 1
                self._put(text)
            else:
                self._coalescer.add(text)
        self._last = text[-1]

    def close(self) -> None:
        """Write what is held, and end with exactly one newline if the answer did not."""
        if self._closed:
            return
        self._closed = True
        tail = "\n" if self._last and self._last != "\n" else ""
        with closed_output_guard():
            if self._coalescer is not None:
                self._coalescer.close(tail)
            elif tail:
                self._writes += 1
                self._put(tail)


def raw_requested(env: Mapping[str, str]) -> bool:
    """True when the environment asks for raw text even on a terminal."""
    if env.get("LLMX_RAW", "").strip().lower() not in _FALSE_WORDS:
        return True
    return env.get("TERM", "").strip().lower() in _DUMB_TERMS


def make_sink(
    stream: TextIO, *, is_tty: bool, env: Mapping[str, str], width: int | None = None,
    later: Later | None = None
) -> Sink:
    """The sink for ``stream``: Markdown on a capable terminal, raw text otherwise
    (``later``: buffer that text adaptively, see ``PipeSink``)."""
    if not is_tty or raw_requested(env):
        return PipeSink(stream, later=later)
    from llmx.ui.markdown import MarkdownSink, terminal_console

    return MarkdownSink(terminal_console(stream, env=env, width=width))
