"""Line folding: exact duplicates (conservative) and log templates (aggressive).

Markers (their token cost is measured in benchmarks/compress_corpus.py: a bare ``×N`` would
be one token cheaper per folded line, under 1 % of a folded log; the brackets stay so that
a count cannot be mistaken for the line's own text):

- ``<line> [×N]``: the line occurred N times (consecutively, in conservative mode; anywhere
  in its block, in aggressive mode - it then stands where the first occurrence stood).
- a line ``[paragraph above ×N]``: the paragraph before it occurred N times in a row.
- In a template, ``<a|b|c>`` lists every value a slot took, ``<lo..hi>`` is the range of a
  numeric slot, ``<first..last>`` the first and last value of a timestamp slot, and
  ``<a|b|… N distinct>`` the first values of a slot with many; a slot that never changed is
  written out. A legend line precedes the first folded template.

How templates are found, fast: one regex split cuts the text into digit runs and the literal
text between them; a line's key is its literal text with each run replaced by ``\x00``.
Lines of a block with the same key are one group. Only for a group worth folding is its key
cut into slots (the tokens holding a run: an IP, a time, ``blk_-42``, a date with its time)
and each member's runs put back into its slot values.
"""  # noqa: RUF002 - the multiplication sign and curly quotes are meant

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

TIMES = "\u00d7"  # the multiplication sign of the count markers
KEY = "\x00"  # stands for one digit run in a key
_RUN = re.compile(r"(-?\d[\da-fx]*)")  # a digit run (hex digits and x may follow the first digit)
_SEPARATORS = r"\s=;,:\[\](){}<>|\"'"
_KEY_CLOCK = r"\x00:\x00(?::\x00)?(?:[.,]\x00)?"
_KEY_DATETIMES = (  # in key space: "2015-07-29" is three runs "2015", "-07", "-29"
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    rf" +\x00 {_KEY_CLOCK}(?: \x00)?",
    rf"\x00{{3}}[ T]{_KEY_CLOCK}(?:Z|[+-]\x00(?::\x00)?)?",
    rf"\x00/\x00/\x00[ T]{_KEY_CLOCK}",
)
_KEY_SLOT = re.compile(  # a slot: a date-time, or a token (between separators) holding a run
    rf"(?<![^{_SEPARATORS}])(?:{'|'.join(_KEY_DATETIMES)})(?![^{_SEPARATORS}])"
    rf"|(?<![^{_SEPARATORS}])(?=[^\x00{_SEPARATORS}]*+\x00)"
    rf"(?:[^{_SEPARATORS}]|(?<=\x00)[:,](?=\x00))++"
)
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
_TIME = re.compile(
    rf"(?:(?:[A-Z][a-z]{{2}} )?[A-Z][a-z]{{2}} +\d{{1,2}} )?{_CLOCK}(?: \d{{4}})?"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}(?:[ T]{_CLOCK}(?:Z|[+-]\d{{2}}:?\d{{2}})?)?"
    rf"|\d{{2,4}}/\d{{2}}/\d{{2,4}}(?:[ T]{_CLOCK})?"
)
_INT = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z]{2,}")
_TOKEN_ESTIMATE = re.compile(r"[A-Za-z]+|\d{1,3}|[^\sA-Za-z\d]")
_PARAGRAPH_BREAK = re.compile(r"(\n[ \t]*\n(?:[ \t]*\n)*)")
_INDENTED_CODE = re.compile(r"(?: {4}|\t)(?![ \t]*(?:[-*+]|\d{1,9}[.)])[ \t])")  # see rules_protect

LEGEND = (
    f"[folded log: “T [{TIMES}N]” = N lines like T, placed at the first; "
    "<a|b> values seen, <a..b> range (numbers) or first..last (times)]"
)
_MIN_SAVING = 2 * len(_TOKEN_ESTIMATE.findall(LEGEND))
_MAX_LISTED = 3


def fold_duplicates(text: str) -> str:
    """Runs of identical paragraphs, then of identical lines, folded with a count.

    Blank lines and indented code lines are never folded here (preformatted text).
    """
    if "\n" not in text:
        return text
    return _fold_duplicate_lines(_fold_duplicate_paragraphs(text))


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


def fold_templates(text: str) -> str:
    """Fold the lines of each block (lines between blank lines) that share a template.

    The lines of a template that occurs at least twice in its block are replaced, at the
    first one's place, by the template with a summary of each slot and a count. Templates
    whose slots vary are folded only when their estimated saving pays for the legend line;
    identical lines (no slot varies) need no legend.
    """
    if KEY in text or "\n" not in text:  # a NUL would pass for a run; one line has no group
        return text
    scan = _Scan.of(text)
    folds = _Folds()
    for block in _blocks(scan.lines):
        _fold_block(scan, block, folds)
    if folds.template_saving < _MIN_SAVING:
        folds.templates.clear()
    if not folds.templates and not folds.duplicates:
        return text
    return "\n".join(_emit(scan, folds))


@dataclass(slots=True)
class _Folds:
    """The folded line of each group to fold, by the index of the group's first line."""

    templates: dict[int, str] = field(default_factory=dict)  # some slot varies
    duplicates: dict[int, str] = field(default_factory=dict)  # identical lines
    template_saving: int = 0  # estimated tokens saved by ``templates``


@dataclass(frozen=True, slots=True)
class _Scan:
    lines: list[str]
    keys: list[str]  # each line with its digit runs replaced by KEY
    runs: list[str]  # every digit run of the text, in order
    first_run: list[int]  # index in ``runs`` of each line's first run (one extra at the end)

    @classmethod
    def of(cls, text: str) -> _Scan:
        parts = _RUN.split(text)
        keys = KEY.join(parts[0::2]).split("\n")
        first_run = list(itertools.accumulate((key.count(KEY) for key in keys), initial=0))
        return cls(text.split("\n"), keys, parts[1::2], first_run)

    def runs_of(self, index: int) -> list[str]:
        return self.runs[self.first_run[index] : self.first_run[index + 1]]


def _blocks(lines: Sequence[str]) -> list[range]:
    blocks: list[range] = []
    start = 0
    for index, line in enumerate(lines):
        if not line.strip():
            blocks.append(range(start, index))
            start = index + 1
    blocks.append(range(start, len(lines)))
    return [block for block in blocks if len(block) > 1]


def _fold_block(scan: _Scan, block: range, folds: _Folds) -> None:
    groups: dict[str, list[int]] = {}
    for index in block:
        groups.setdefault(scan.keys[index], []).append(index)
    for key, members in groups.items():
        first = scan.lines[members[0]]
        if len(members) < 2 or first.lstrip().startswith("|"):
            continue  # a table row keeps its row
        line = _render(key, [scan.runs_of(index) for index in members])
        if line is None:
            continue
        if line == f"{first} [{TIMES}{len(members)}]":
            folds.duplicates[members[0]] = line
            continue
        gain = _estimate(first) * len(members) - _estimate(line)
        if gain > 0:
            folds.templates[members[0]] = line
            folds.template_saving += gain


def _render(key: str, member_runs: list[list[str]]) -> str | None:
    """The folded line of a group; None when its template holds no word to anchor it."""
    columns = list(zip(*member_runs, strict=True))
    out: list[str] = []
    literal = 0
    run = 0
    for slot in _KEY_SLOT.finditer(key):
        out.append(key[literal : slot.start()])
        count = slot.group().count(KEY)
        out.append(summarise(_slot_values(slot.group(), columns[run : run + count])))
        run += count
        literal = slot.end()
    out.append(key[literal:])
    if run != len(columns) or (run and _WORD.search("".join(out[0::2])) is None):
        return None
    return f"{''.join(out)} [{TIMES}{len(member_runs)}]"


def _slot_values(template: str, columns: list[tuple[str, ...]]) -> Sequence[str]:
    if template == KEY:
        return columns[0]
    pattern = template.replace("%", "%%").replace(KEY, "%s")
    return [pattern % values for values in zip(*columns, strict=True)]


def summarise(values: Sequence[str]) -> str:
    """One slot's values (in order of occurrence) as the shortest faithful summary."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:
        return distinct[0]
    if len(distinct) <= _MAX_LISTED:
        return "<" + "|".join(distinct) + ">"
    if all(_INT.fullmatch(value) for value in distinct):
        return f"<{min(distinct, key=int)}..{max(distinct, key=int)}>"
    if all(_NUMBER.fullmatch(value) for value in distinct):
        return f"<{min(distinct, key=float)}..{max(distinct, key=float)}>"
    if all(_TIME.fullmatch(value) for value in distinct):
        return f"<{values[0]}..{values[-1]}>"
    return f"<{distinct[0]}|{distinct[1]}|… {len(distinct)} distinct>"


def _estimate(text: str) -> int:
    """Rough cl100k token count (good enough to compare two renderings of the same lines)."""
    return len(_TOKEN_ESTIMATE.findall(text))


def _emit(scan: _Scan, folds: _Folds) -> list[str]:
    out: list[str] = []
    placed: set[tuple[int, str]] = set()  # (block start, key) of the groups already placed
    legend_due = bool(folds.templates)
    block_start = 0
    for index, line in enumerate(scan.lines):
        if not line.strip():
            block_start = index + 1
        replacement = folds.templates.get(index) or folds.duplicates.get(index)
        if replacement is not None:
            if legend_due and index in folds.templates:
                out.append(LEGEND)
                legend_due = False
            placed.add((block_start, scan.keys[index]))
            out.append(replacement)
        elif (block_start, scan.keys[index]) not in placed:
            out.append(line)
    return out
