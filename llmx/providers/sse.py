"""A pure, incremental Server-Sent-Events parser (no IO, standard library only).

Feed it the body of a ``text/event-stream`` response in pieces of any size;
it returns the events completed by each piece. Byte splits may fall anywhere:
inside a multi-byte UTF-8 sequence, between the ``\\r`` and ``\\n`` of a CRLF,
or between the two line ends that close an event.

Parsing follows the WHATWG event-stream rules where they matter to LLM APIs:

- lines end with CRLF, LF or CR; a UTF-8 byte-order mark at the start is dropped;
  invalid UTF-8 becomes U+FFFD instead of failing the stream;
- a line starting with ``:`` is a comment (keep-alives, "processing" notes);
- ``field: value`` with at most one space removed after the colon; a line with
  no colon is a field with an empty value; ``id`` / ``retry`` / unknown fields
  are ignored;
- ``data`` lines accumulate, joined with ``\\n``; a blank line dispatches.

Two deliberate leniencies: an event that has an ``event:`` name but no data is
still dispatched (with empty data), so an ``event: error`` is never swallowed;
and ``close()`` dispatches a final event that lacks its closing blank line.

Work per ``feed`` is proportional to the new bytes: only the incomplete last
line is kept, as a list of pieces joined once when its line end arrives.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")

DEFAULT_EVENT = "message"


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event: its type (``message`` unless named) and its data."""

    data: str
    event: str = DEFAULT_EVENT


class SseParser:
    """Incremental SSE parser: ``feed(bytes) -> list[SseEvent]``, then ``close()``."""

    __slots__ = ("_data", "_decoder", "_event", "_partial", "_skip_lf")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._partial: list[str] = []  # pieces of the current, unterminated line
        self._skip_lf = False  # the previous piece ended in CR: drop a leading LF
        self._event = ""
        self._data: list[str] = []

    def feed(self, data: bytes) -> list[SseEvent]:
        """Take the next bytes; return the events they complete (often none)."""
        return self._feed_text(self._decoder.decode(data))

    def close(self) -> list[SseEvent]:
        """The body ended: flush what is buffered, dispatching a last open event."""
        events = self._feed_text(self._decoder.decode(b"", True))
        if self._partial:
            line = "".join(self._partial)
            self._partial = []
            self._take_line(line, events)
        self._dispatch(events)
        return events

    def _feed_text(self, text: str) -> list[SseEvent]:
        events: list[SseEvent] = []
        if not text:
            return events
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return events
        if "\r" in text:
            if text[-1] == "\r":
                self._skip_lf = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if len(lines) == 1:
            self._partial.append(text)
            return events
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
        rest = lines.pop()
        self._partial = [rest] if rest else []
        for line in lines:
            self._take_line(line, events)
        return events

    def _take_line(self, line: str, events: list[SseEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line[0] == ":":
            return
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value

    def _dispatch(self, events: list[SseEvent]) -> None:
        if self._data or self._event:
            events.append(SseEvent("\n".join(self._data), self._event or DEFAULT_EVENT))
        self._data = []
        self._event = ""


def chunks_of(events: Iterable[SseEvent], chunk: Callable[[SseEvent], _T | None],
              ended: Callable[[], bool] = lambda: False) -> list[_T]:
    """What ``chunk`` makes of each event, in order (events it returns None for are
    skipped), stopping at the first event after ``ended()`` turned true (a stream's end
    event: whatever follows it is not the answer's)."""
    out: list[_T] = []
    for event in events:
        if ended():
            break
        made = chunk(event)
        if made is not None:
            out.append(made)
    return out
