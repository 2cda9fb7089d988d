"""``-x/--extract`` and ``--extract-last``: only a fenced code block of the answer on stdout.

Fences are read as CommonMark reads them: a line of three or more backticks or tildes
(indented by at most three spaces, then an optional info string such as ``python``; a
backtick fence's info string holds no backtick) opens a block; a line of the same character,
at least as long, and nothing else but spaces, closes it; a block never closed runs to the
end of the answer. Each content line loses as many leading spaces as its opening fence was
indented by. Fences inside a block are its text, not blocks of their own.

What a caller may rely on: ``code_blocks(text)`` lists every block's text in order, each
line ending in ``\\n``; ``write_block`` writes the first (or last) block and nothing else to
stdout, or, when there is none, one note to stderr; the command then exits
``ExitCode.NO_CODE_BLOCK`` (``exit_code``). Pure apart from ``write_block``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from llmx.errors import ExitCode

if TYPE_CHECKING:
    from llmx.cli._io import Io

_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


def code_blocks(text: str) -> list[str]:
    """The text of every fenced code block of ``text``, in order."""
    blocks: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opened = _OPEN.match(lines[index])
        index += 1
        if opened is None:
            continue
        indent, fence, info = len(opened.group(1)), opened.group(2), opened.group(3)
        if fence[0] == "`" and "`" in info:
            continue  # not a fence: an inline code span such as ```x```
        body: list[str] = []
        while index < len(lines) and not _closes(lines[index], fence):
            body.append(_dedent(lines[index], indent))
            index += 1
        index += 1  # the closing fence (or past the end)
        blocks.append("".join(line + "\n" for line in body))
    return blocks


def _closes(line: str, fence: str) -> bool:
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return False
    run = len(stripped) - len(stripped.lstrip(fence[0]))
    return run >= len(fence) and not stripped[run:].strip(" \t")


def _dedent(line: str, indent: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent):]


def chosen_block(text: str, last: bool) -> str | None:
    """The first (``last``: the last) block of ``text``, or None when it has none."""
    blocks = code_blocks(text)
    if not blocks:
        return None
    return blocks[-1] if last else blocks[0]


def write_block(text: str, last: bool, io: Io) -> None:
    """The chosen block on stdout, or a note on stderr when the answer has none."""
    block = chosen_block(text, last)
    if block is None:
        io.stderr.write("note: the answer has no fenced code block (nothing printed; "
                        f"exit {int(ExitCode.NO_CODE_BLOCK)})\n")
        io.stderr.flush()
        return
    io.stdout.write(block)
    io.stdout.flush()


def exit_code(text: str, last: bool) -> int:
    """0 when the answer has a block to print, else ``ExitCode.NO_CODE_BLOCK``."""
    return 0 if chosen_block(text, last) is not None else int(ExitCode.NO_CODE_BLOCK)
