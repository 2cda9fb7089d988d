"""Batch output: one JSON line per input line, written whole, in input order; resume.

An answered line:  {"id", "text", "usage": {"input_tokens", "output_tokens"}, "cached",
                    "latency_ms", "attempts"}
A failed line:     {"id", "error": {"type", "message"}, "attempts"}

``attempts`` counts how many times the line went out (a line answered by another identical
request in flight counts that one). Error messages are one line and come from llmx's own
error messages (which never carry secrets); any other exception is named by its class only.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from llmx.errors import LlmxError
from llmx.types import CacheTier, Completion, Usage

MAX_MESSAGE = 500  # characters of an error message kept in an output line


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
            return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        except UnicodeEncodeError:  # a lone surrogate: escape everything instead
            return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(type, one-line message) for an output line; nothing but llmx's own words."""
    if isinstance(exc, LlmxError):
        message = " ".join(exc.message.split())
        return type(exc).__name__, message[:MAX_MESSAGE]
    return type(exc).__name__, "unexpected error (a bug in llmx: please report it)"


class OrderedWriter:
    """Writes Results as lines: in input order through a reorder buffer, or as they come.

    ``add(seq, result)`` takes a dense sequence number (0, 1, 2, ... in input order). Each
    ready run of lines goes out in ONE ``write()`` and is flushed, so a line is written whole
    or not at all. The buffer is bounded by the caller (the runner stops reading ahead when
    it is full); ``drain()`` writes what is held, skipping gaps, when a run is interrupted.
    """

    def __init__(self, out: BinaryIO, *, ordered: bool = True) -> None:
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
    if not path.exists():
        return done
    with path.open("rb") as lines:
        for raw in lines:
            line_id = _answered_id(raw)
            if line_id is not None:
                done.add(line_id)
    return done


def prepare_resume(path: Path) -> set[str]:
    """Make an existing output file ready for ``--resume``; returns the ids already answered.

    Keeps the first successful line of each id and drops error lines (their ids run again
    and get a fresh line), a torn last line and unreadable lines, so the finished file holds
    each id once. The file ends with a newline afterwards: append to it. Rewritten atomically
    (temporary file + rename, same permissions) only when something changes.
    """
    if not path.is_file():
        return done_ids(path)
    done: set[str] = set()
    changed = False
    with path.open("rb") as lines, _sibling(path) as (temp, out):
        for raw in lines:
            line_id = _answered_id(raw)
            if line_id is None or line_id in done:
                changed = True
                continue
            done.add(line_id)
            if not raw.endswith(b"\n"):
                raw, changed = raw + b"\n", True
            out.write(raw)
        out.flush()
        if changed:
            os.chmod(temp, stat.S_IMODE(path.stat().st_mode))
            os.replace(temp, path)
    return done


@contextlib.contextmanager
def _sibling(path: Path) -> Iterator[tuple[str, BinaryIO]]:
    """A temporary file next to ``path``; removed on exit unless it was renamed."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            yield name, out
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _answered_id(raw: bytes) -> str | None:
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(obj, dict) or "error" in obj or not isinstance(obj.get("text"), str):
        return None
    line_id = obj.get("id")
    return line_id if isinstance(line_id, str) else None
