"""A pure, incremental newline-delimited JSON splitter (Ollama's streams).

Lines are split on the ``\\n`` byte before any decoding. In UTF-8 that byte
never occurs inside a multi-byte sequence, so a piece may end anywhere,
including mid-character: each complete line is handed whole to ``json.loads``
(which decodes UTF-8 bytes itself). A trailing ``\\r`` and blank lines are
ignored. Only the incomplete last line is buffered, as a list of pieces, so
per-feed work is proportional to the new bytes.
"""

from __future__ import annotations

import json
from typing import Any

from llmx.errors import StreamError

_SNIPPET = 80


class NdjsonSplitter:
    """``feed(bytes) -> list of parsed JSON values``, then ``close()``."""

    __slots__ = ("_partial",)

    def __init__(self) -> None:
        self._partial: list[bytes] = []

    def feed(self, data: bytes) -> list[Any]:
        """Take the next bytes; return the JSON values of the lines they complete.

        Raises ``StreamError`` for a complete line that is not JSON.
        """
        if b"\n" not in data:
            if data:
                self._partial.append(data)
            return []
        lines = data.split(b"\n")
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = b"".join(self._partial)
        rest = lines.pop()
        self._partial = [rest] if rest else []
        return [_parse_line(line) for line in lines if line.strip()]

    def close(self) -> list[Any]:
        """The body ended: parse a last line that had no line end."""
        line = b"".join(self._partial)
        self._partial = []
        return [_parse_line(line)] if line.strip() else []


def _parse_line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError as exc:
        snippet = line[:_SNIPPET].decode("utf-8", "replace")
        snippet = " ".join(snippet.split())
        raise StreamError(f"stream line is not valid JSON: {snippet!r}") from exc
