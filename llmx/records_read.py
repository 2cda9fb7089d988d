"""Reading the records log (``llmx stats``): the writing half and the line format are
``llmx.records``'s. Readers skip lines that do not parse (a line cut by a crash, a line
from a newer llmx with an unknown tier, garbage) and count them in a ``Skipped`` tally, so
a damaged file never stops ``llmx stats``. Standard library only.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from llmx.records import MAX_TS, RECORD_VERSION, Record, Skipped, file_month, month_of

_LINE_START = b'{"v":'  # every line starts so (the writer keeps the key order of KEYS)
_TS_START = b'{"v":1,"ts":'


def from_json(data: Mapping[str, Any]) -> Record:
    """Rebuild a record; ``ValueError`` on anything malformed. Unknown keys are ignored."""
    if not isinstance(data, Mapping) or data.get("v") != RECORD_VERSION:
        raise ValueError("not a request record of this version")
    try:
        return Record(
            ts=_number(data["ts"]),
            profile=_text(data["profile"]),
            provider=_text(data["provider"]),
            model=_text(data["model"]),
            tier=_text(data["tier"]),
            similarity=_optional_number(data["similarity"]),
            lookup_ms=_number(data["lookup_ms"]),
            latency_ms=_number(data["latency_ms"]),
            ttft_ms=_optional_number(data["ttft_ms"]),
            input_tokens=_count(data["input_tokens"]),
            output_tokens=_count(data["output_tokens"]),
            tokens_saved=_count(data["tokens_saved"]),
            cost=_optional_number(data["cost"]),
            cost_saved=_optional_number(data["cost_saved"]),
            status=_text(data["status"]),
            error=None if data["error"] is None else _text(data["error"]),
            reasoning_tokens=_count(data.get("reasoning_tokens", 0)),
            queue_ms=_number(data.get("queue_ms", 0.0)),
            shared=_flag(data.get("shared", False)),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed request record: {exc}") from None


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("expected a number")
    number = float(value)
    if not math.isfinite(number):
        raise TypeError("expected a finite number")
    return number


def _optional_number(value: Any) -> float | None:
    return None if value is None else _number(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError("expected a non-negative integer")
    return value


def files(directory: Path, since: float | None = None) -> list[Path]:
    """Records files that can hold records at or after ``since``, oldest month first."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    if since is not None and since >= MAX_TS:
        return []
    first = month_of(since) if since is not None and since > 0 else (0, 0)
    dated = [(month, name) for name in names
             if (month := file_month(name)) is not None and month >= first]
    return [directory / name for _, name in sorted(dated)]


def read(paths: Iterable[Path], since: float | None, skipped: Skipped) -> Iterator[Record]:
    """The records of ``paths`` with ``ts >= since`` (all when None), in file order; bad
    lines are skipped and counted in ``skipped`` (lines plainly older than ``since`` are
    not looked at)."""
    for path in paths:
        for record in _read_file(path, since, skipped):
            if since is None or record.ts >= since:
                yield record


def _read_file(path: Path, since: float | None, skipped: Skipped) -> Iterator[Record]:
    try:
        with open(path, "rb") as handle:
            for line in handle:
                if since is not None and _older(line, since):
                    continue
                record, lost = _parse_line(line)
                skipped.lines += lost
                if record is not None:
                    yield record
    except OSError:  # gone since listed, a directory, unreadable: no records from it
        return


def _older(line: bytes, since: float) -> bool:
    """True when the line is plainly a record from before ``since``: its time is read
    from the line's fixed start, sparing the JSON parse of most lines ``--since`` skips."""
    if not line.startswith(_TS_START) or line.find(_LINE_START, 1) != -1:
        return False  # not our format, or a glued line that may hold a later record
    end = line.find(b",", len(_TS_START))
    try:
        return float(line[len(_TS_START):end]) < since
    except ValueError:
        return False


def parse_line(line: bytes) -> Record | None:
    """The record on one line, or None when the line is not a complete, valid record.

    A line cut short by a crash gets the next appended line glued to it; that next record
    is recovered from the glued line.
    """
    return _parse_line(line)[0]


def _parse_line(line: bytes) -> tuple[Record | None, bool]:
    """``parse_line``, and whether the line held something that is not a record (garbage,
    a line cut short: lost, even when a record glued to it is recovered)."""
    if not line.endswith(b"\n"):
        return None, True  # a line still being written, or cut by a crash
    record = _parse(line)
    if record is not None:
        return record, False
    glued = line.rfind(_LINE_START, 1)
    return (_parse(line[glued:]) if glued > 0 else None), True


def _parse(line: bytes) -> Record | None:
    try:
        return from_json(json.loads(line))
    except (ValueError, TypeError, RecursionError):
        return None
