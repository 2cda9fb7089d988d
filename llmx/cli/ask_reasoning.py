"""``llmx ask --show-reasoning``: a reasoning model's thinking, on stderr.

Imported only when ``--show-reasoning`` is given. What a caller may rely on: the reasoning
text goes to stderr as it comes (dim on a terminal, plain in a pipe), never to stdout; once
the answer starts (``end``), the reasoning is closed with a newline (and the dim style
reset), so the answer on stdout and the reasoning on stderr never share a line on a
terminal showing both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmx.cli._io import Io

DIM = "\x1b[2m"
RESET = "\x1b[0m"


class ReasoningOut:
    """Writes reasoning pieces to stderr; ``end()`` closes the reasoning (idempotent)."""

    __slots__ = ("_dim", "_open", "_stderr", "_tail")

    def __init__(self, io: Io) -> None:
        self._stderr = io.stderr
        self._dim = io.stderr_is_tty
        self._open = False
        self._tail = ""  # the last character written

    def write(self, text: str) -> None:
        if not text:
            return
        if not self._open and self._dim:
            self._stderr.write(DIM)
        self._open = True
        self._stderr.write(text)
        self._tail = text[-1]
        self._stderr.flush()

    def end(self) -> None:
        if not self._open:
            return
        self._stderr.write((RESET if self._dim else "") + ("" if self._tail == "\n" else "\n"))
        self._stderr.flush()
        self._open = False
