"""``llmx cache warm``'s own parts: the output that keeps only failures, and the report.

The run itself is ``llmx batch``'s (``llmx.cli.batch_cmd`` with ``BatchArgs.warm``): the
answers go to the cache and the records, never to stdout.
"""

from __future__ import annotations

import json
from typing import TextIO

from llmx.batch.summary import Summary


class FailedLines:
    """A ``LineOut`` that drops answer lines and says each error line on ``stream``, as
    ``cache warm: line ID: Type: message``."""

    __slots__ = ("_stream",)

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, data: bytes, /) -> int:
        for line in data.splitlines():
            obj = json.loads(line)
            error = obj.get("error")
            if error is not None:
                self._stream.write(f"cache warm: line {obj['id']}: {error['type']}: "
                                   f"{error['message']}\n")
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


def report(summary: Summary) -> str:
    """One line: what the cache already held, what was answered now, what failed."""
    exact, semantic = summary.cached.get("exact", 0), summary.cached.get("semantic", 0)
    warm = exact + semantic
    fresh = summary.ok - warm - summary.coalesced
    parts = [f"{summary.total} prompts", f"{warm} already warm"
             + (f" ({exact} exact, {semantic} semantic)" if semantic else ""),
             f"{fresh} answered now"]
    if summary.coalesced:
        parts.append(f"{summary.coalesced} repeated in the input")
    parts.append(f"{summary.errors} failed")
    if summary.unfinished:
        parts.append(f"{summary.unfinished} not run (interrupted)")
    return "cache warm: " + ", ".join(parts)
