"""Line folding of exact duplicates (conservative); log templates are ``fold_log.py``.

Markers (their token cost is measured in benchmarks/compress_corpus.py: a bare ``×N`` would
be one token cheaper per folded line, under 1 % of a folded log; the brackets stay so that
a count cannot be mistaken for the line's own text):

- ``<line> [×N]``: the line occurred N times in a row.
- a line ``[paragraph above ×N]``: the paragraph before it occurred N times in a row.
"""  # noqa: RUF002 - the multiplication sign is meant

from __future__ import annotations

import itertools
import re

TIMES = "\u00d7"  # the multiplication sign of the count markers
_PARAGRAPH_BREAK = re.compile(r"(\n[ \t]*\n(?:[ \t]*\n)*)")
_INDENTED_CODE = re.compile(r"(?: {4}|\t)(?![ \t]*(?:[-*+]|\d{1,9}[.)])[ \t])")  # see rules_protect


def fold_duplicates(text: str) -> str:
    """Runs of identical paragraphs, then of identical lines, folded with a count.

    Blank lines and indented code lines are never folded here (preformatted text).
    """
    if "\n" not in text:
        return text
    body = text.rstrip("\n")  # the last paragraph is compared without the text's end
    return _fold_duplicate_lines(_fold_duplicate_paragraphs(body)) + text[len(body) :]


def _fold_duplicate_lines(text: str) -> str:
    out: list[str] = []
    for line, run in itertools.groupby(text.split("\n")):
        count = sum(1 for _ in run)
        if count > 1 and line.strip() and not _INDENTED_CODE.match(line):
            out.append(f"{line} [{TIMES}{count}]")
        else:
            out.extend([line] * count)
    return "\n".join(out)


def _fold_duplicate_paragraphs(text: str) -> str:
    parts = _PARAGRAPH_BREAK.split(text)  # paragraph, break, paragraph, break, ...
    out: list[str] = []
    index = 0
    while index < len(parts):
        paragraph, count = parts[index], 1
        foldable = paragraph.strip() and not _INDENTED_CODE.match(paragraph)
        while foldable and index + 2 < len(parts) and parts[index + 2] == paragraph:
            index += 2
            count += 1
        out.append(paragraph if count == 1 else f"{paragraph}\n[paragraph above {TIMES}{count}]")
        if index + 1 < len(parts):
            out.append(parts[index + 1])
        index += 2
    return "".join(out)
