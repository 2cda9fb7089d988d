"""Batch output: one JSON line per input line, written whole, in input order; resume.

An answered line:  {"id", "text", "usage": {"input_tokens", "output_tokens"}, "cached",
                    "latency_ms", "attempts"}
A failed line:     {"id", "error": {"type", "message"}, "attempts"}

``attempts`` counts how many times the line went out (a line answered by another identical
request in flight counts that one). Error messages are one line and come from llmx's own
error messages (which never carry secrets); any other exception is named by its class only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from llmx.batch.outfile import good_lines, write_atomic
from llmx.errors import LlmxError
from llmx.types import CacheTier, Completion, Usage

MAX_MESSAGE = 500  # characters of an error message kept in an output line
_TEXT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once, not per line
_ASCII = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Result:
    index: int  # the input line's 0-based number
    id: str
    text: str | None = None
    usage: Usage | None = None
    cached: CacheTier = False
    latency_ms: float = 0.0
    attempts: int = 0
    error: tuple[str, str] | None = None  # (type, message)

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def answered(cls, index: int, line_id: str, completion: Completion, attempts: int) -> Result:
        return cls(index, line_id, completion.text, completion.usage, completion.cached,
                   completion.latency_ms, attempts)

    @classmethod
    def failed(cls, index: int, line_id: str, error: BaseException | tuple[str, str],
               attempts: int) -> Result:
        described = error if isinstance(error, tuple) else describe_error(error)
        return cls(index, line_id, attempts=attempts, error=described)

    def to_line(self) -> bytes:
        """The output line: one JSON object and a newline, UTF-8."""
        obj: dict[str, Any]
        if self.error is None:
            usage = self.usage
            obj = {"id": self.id, "text": self.text,
                   "usage": None if usage is None else {"input_tokens": usage.input_tokens,
                                                        "output_tokens": usage.output_tokens},
                   "cached": self.cached, "latency_ms": round(self.latency_ms, 3),
                   "attempts": self.attempts}
        else:
            obj = {"id": self.id, "error": {"type": self.error[0], "message": self.error[1]},
                   "attempts": self.attempts}
        try:
            return (_TEXT.encode(obj) + "\n").encode()
        except UnicodeEncodeError:  # a lone surrogate: escape everything instead
            return (_ASCII.encode(obj) + "\n").encode()


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(type, one-line message) for an output line; nothing but llmx's own words."""
    if isinstance(exc, LlmxError):
        message = " ".join(exc.message.split())
        return type(exc).__name__, message[:MAX_MESSAGE]
    return type(exc).__name__, "unexpected error (a bug in llmx: please report it)"


class LineOut(Protocol):
    """Where output lines go: a binary file, stdout, or ``outfile.LineSink``."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class OrderedWriter:
    """Writes Results as lines: in input order through a reorder buffer, or as they come.

    ``add(seq, result)`` takes a dense sequence number (0, 1, 2, ... in input order). Each
    ready run of lines goes out in ONE ``write()`` and is flushed, so a line is written whole
    or not at all. The buffer is bounded by the caller (the runner stops reading ahead when
    it is full); ``drain()`` writes what is held, skipping gaps, when a run is interrupted.
    """

    def __init__(self, out: LineOut, *, ordered: bool = True) -> None:
        self._out = out
        self.ordered = ordered
        self._next = 0
        self._held: dict[int, bytes] = {}
        self.written = 0
        self.max_buffered = 0

    @property
    def buffered(self) -> int:
        return len(self._held)

    def add(self, seq: int, result: Result) -> int:
        """Queue or write one result; returns how many lines were written now."""
        line = result.to_line()
        if not self.ordered:
            self._emit(line, 1)
            return 1
        if seq != self._next:
            self._held[seq] = line
            self.max_buffered = max(self.max_buffered, len(self._held))
            return 0
        lines, seq = [line], seq + 1
        while seq in self._held:
            lines.append(self._held.pop(seq))
            seq += 1
        self._next = seq
        self._emit(b"".join(lines), len(lines))
        return len(lines)

    def drain(self) -> int:
        """Write every held line in order, skipping lines that will never come."""
        if not self._held:
            return 0
        order = sorted(self._held)
        count = len(order)
        self._emit(b"".join(self._held.pop(seq) for seq in order), count)
        self._next = order[-1] + 1
        return count

    def _emit(self, data: bytes, count: int) -> None:
        self._out.write(data)
        self._out.flush()
        self.written += count


def done_ids(path: Path) -> set[str]:
    """Ids with a successful line in an existing output file (none when it is missing).

    Error lines, a torn last line and unreadable lines do not count: those lines run again.
    """
    done: set[str] = set()
    for _ in good_lines((path,), done):
        pass
    return done


def prepare_resume(path: Path) -> set[str]:
    """Clean an output file in place; returns the ids already answered.

    Keeps the first successful line of each id and drops error lines, a torn last line and
    unreadable lines. Rewritten atomically (``write_atomic``: same permissions) only when
    something changes. ``llmx batch --resume`` uses ``outfile.OutputFile.begin`` instead,
    which also reads the partial file a killed run left behind.
    """
    done: set[str] = set()
    if not path.is_file():
        return done
    kept = b"".join(good_lines((path,), done))
    if kept != path.read_bytes():
        write_atomic(path, kept)
    return done
