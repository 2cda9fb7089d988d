"""Log templates (aggressive): records that differ only in variables fold into one template.

A *record* is one line, or a stack trace (``traces.trace_units``: its header and
frames, kept together so that a trace never comes apart). A record's *key* is its text with every
variable token (``shapes.VARIABLE``: decided by the whole token's shape) replaced by ``\\x00``.
Records of a block (lines between blank lines) with the same key are one group; a group of
two or more is written once, where its first record stood, as the template with each slot
summarised (``shapes.summarise``) and a count:

- ``<line> [×N]``: N lines like it; for a trace, a line ``[trace above ×N]`` follows it.
- ``<a|b>`` the values seen, ``<lo..hi>`` a numeric range, ``<first..last>`` times,
  ``<first|last|… N distinct; also w1 w2>`` identifiers, with the words (3+ letters) of the
  values that appear nowhere else in the output, so no word of the input is lost.

Order: the output is the input with the later members of each folded group removed, so
every kept line and every template stands in its first record's order; a trace's lines stay
in order and together. Lines with no word outside their variables (CSV rows, bare numbers)
and Markdown table rows are never folded; a NUL in the input disables folding, and so does
the legend line (``LEGEND``): a text that holds it is folded output already, and folding it
again would fold templates into templates (two of them that differ only in a slot, or NDJSON
rows whose columns are classified anew among fewer rows), so compression stays idempotent.
"""  # noqa: RUF002 - the multiplication sign is meant

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from llmx.compress.shapes import KEY, WORD, scan_lines, summarise, words_of
from llmx.compress.traces import SharedFrames, trace_units, unprefixed

TIMES = "\u00d7"
_WORDS_DUE = "\x01"  # where a slot's missing words go, once the output's words are known
LEGEND = (
    f"[folded log: T [{TIMES}N] = N lines like T, at the first; <a|b> values; <a..b> range]"
)
_TOKEN_ESTIMATE = re.compile(r"[A-Za-z]+|\d{1,3}|[^\sA-Za-z\d]")
_MIN_SAVING = 2 * len(_TOKEN_ESTIMATE.findall(LEGEND))


class Scan(NamedTuple):
    lines: list[str]
    keys: list[str]  # each line with its variables replaced by KEY
    values: list[str]  # every variable of the text, in order
    first_value: list[int]  # index in ``values`` of each line's first one (one extra at the end)

    def values_of(self, start: int, end: int) -> list[str]:
        return self.values[self.first_value[start] : self.first_value[end]]


class Folded(NamedTuple):
    text: str
    templates: int  # groups folded with a varying slot
    duplicates: int  # groups of identical records
    traces: int  # of which multi-line records (stack traces)
    lines_removed: int
    merged: int = 0  # templates merged into others to fit a budget (``merge.py``)
    origins: tuple[int, ...] = ()  # per output line: the input line it stands for (-1: a note)


def merged_note(merges: int) -> str:
    return (f"[over the token budget: {merges} templates merged into similar ones "
            "(Drain-style); their <...> slots may hold differing words]")


def scan(text: str, tabulated: bool = False) -> Scan:
    """Every line's key and values; with ``tabulated``, the rows of ``ndjson.tabulate`` are
    keyed by their values' shapes (``ndjson_rows``), not as text."""
    if not tabulated:
        return Scan(*scan_lines(text))
    from llmx.compress.ndjson_rows import row_keys

    return Scan(*scan_lines(text, row_keys(text.split("\n"))))


def fold_templates(text: str) -> str:
    """``text`` with its log templates folded (see the module docstring)."""
    return fold(text).text


def fold(text: str, level: int = 0) -> Folded:
    """Fold ``text``; at ``level`` 1..3 similar templates are also merged (``merge.py``)."""
    if KEY in text or _WORDS_DUE in text or "\n" not in text or LEGEND in text:
        return _unfolded(text)
    found = scan(text, tabulated := "JSON lines {" in text)
    units = trace_units(found.lines, found.keys)
    if len(units) < len(found.lines):  # traces: their prefixes after the header go
        lines = unprefixed(found.lines, found.keys, units,
                           lambda index: found.values_of(index, index + 1))
        if lines is not None:
            found = scan("\n".join(lines), tabulated)
    groups: dict[str, list[int]] = {}
    block = 0  # records fold only within their block (lines between blank lines)
    for start, end in units.items():
        if not found.lines[start].strip():
            block += 1
            continue
        key = found.keys[start] if end == start + 1 else "\n".join(found.keys[start:end])
        groups.setdefault(f"{block}\n{key}", []).append(start)
    rebuilt: dict[int, list[str]] = {}
    merges = 0
    if level:
        groups, rebuilt, merges = _merged(found, units, groups, level)
    chosen, pending, saving = _choose(found, units, groups, rebuilt)
    if saving < _MIN_SAVING:
        chosen = {start: line for start, line in chosen.items() if pending[start] is None}
    pending = {start: pending[start] for start in chosen}
    if not chosen and all(end - start == 1 for start, end in units.items()):
        return _unfolded(text)
    out, origins, legend_at = _emit(found, units, groups, chosen)
    if legend_at is not None:
        out.insert(legend_at, LEGEND)
        origins.insert(legend_at, -1)
    if merges:
        out.insert(0, merged_note(merges))
        origins.insert(0, -1)
    rendered = _fill_words(out, pending)
    traces = sum(1 for start in chosen if units[start] - start > 1)
    varying = sum(1 for start in chosen if pending[start] is not None)
    removed = len(found.lines) - sum(1 for origin in origins if origin >= 0)
    return Folded(rendered, varying, len(chosen) - varying, traces, removed, merges,
                  tuple(origins))


def _unfolded(text: str) -> Folded:
    return Folded(text, 0, 0, 0, 0, 0, tuple(range(text.count("\n") + 1)))


def _merged(found: Scan, units: dict[int, int], groups: dict[str, list[int]], level: int
            ) -> tuple[dict[str, list[int]], dict[int, list[str]], int]:
    from llmx.compress.merge import merge_groups

    single = {group: members for group, members in groups.items()
              if all(units[start] == start + 1 for start in members)}
    merged, rebuilt, merges = merge_groups(single, found.keys,
                                           lambda index: found.values_of(index, index + 1),
                                           level)
    merged.update((group, members) for group, members in groups.items() if group not in single)
    return dict(sorted(merged.items(), key=lambda item: item[1][0])), rebuilt, merges


def _choose(found: Scan, units: dict[int, int], groups: dict[str, list[int]],
            rebuilt: dict[int, list[str]]
            ) -> tuple[dict[int, str], dict[int, list[set[str]] | None], int]:
    """Folded text by first record; per varying template its slots' missing words; saving."""
    chosen: dict[int, str] = {}
    pending: dict[int, list[set[str]] | None] = {}
    saving = 0
    for group, members in groups.items():
        key = group.partition("\n")[2]
        first = members[0]
        end = units[first]
        if len(members) < 2 or found.lines[first].lstrip().startswith("|"):
            continue
        rendered = _render(key, [rebuilt.get(start) or found.values_of(start, units[start])
                                 for start in members])
        if rendered is None:
            continue
        body, missing = rendered
        original = "\n".join(found.lines[first:end])
        marker = f" [{TIMES}{len(members)}]" if end - first == 1 else \
            f"\n[trace above {TIMES}{len(members)}]"
        if body == original:
            chosen[first] = body + marker
            pending[first] = None
            continue
        gain = _estimate(original) * len(members) - _estimate(body)
        if gain > 0:
            chosen[first] = body + marker
            pending[first] = missing
            saving += gain
    return chosen, pending, saving


def _render(key: str, member_values: list[list[str]]) -> tuple[str, list[set[str]]] | None:
    """The template of a group and each slot's missing words; None when no word anchors it."""
    literal = key.split(KEY)
    if len(literal) > 1 and WORD.search(" ".join(literal)) is None:
        return None
    out = [literal[0]]
    missing: list[set[str]] = []
    for column, text in zip(zip(*member_values, strict=True), literal[1:], strict=True):
        shown, words = summarise(column, _WORDS_DUE)
        if words:
            missing.append(words)
        out.append(shown)
        out.append(text)
    return "".join(out), missing


def _estimate(text: str) -> int:
    """Rough cl100k token count (good enough to compare two renderings of the same lines)."""
    return len(_TOKEN_ESTIMATE.findall(text))


def _emit(found: Scan, units: dict[int, int], groups: dict[str, list[int]],
          chosen: dict[int, str]) -> tuple[list[str], list[int], int | None]:
    """Output lines, the input line each stands for (-1: a marker), where the legend goes."""
    skip: set[int] = set()
    for members in groups.values():
        if members[0] in chosen:
            skip.update(members[1:])
    out: list[str] = []
    origins: list[int] = []
    legend_at: int | None = None
    shared = SharedFrames()
    for start, end in units.items():
        if start in skip:
            continue
        if start in chosen:
            if legend_at is None and "<" in chosen[start]:
                legend_at = len(out)
            lines = chosen[start].split("\n")
            if end - start > 1 and _WORDS_DUE not in chosen[start]:  # a trace: shared runs
                for line, offset in shared.shorten(lines[:-1]):
                    out.append(line)
                    origins.append(start + offset)
                out.append(lines[-1])
                origins.append(-1)  # the line "[trace above xN]"
                continue
            out.extend(lines)
            origins.extend(range(start, start + len(lines)))
            if end - start > 1:
                origins[-1] = -1  # the line "[trace above xN]"
        elif end - start > 1:
            for line, offset in shared.shorten(found.lines[start:end]):
                out.append(line)
                origins.append(start + offset)
        else:
            out.append(found.lines[start])
            origins.append(start)
    return out, origins, legend_at


def _fill_words(out: Sequence[str], pending: dict[int, list[set[str]] | None]) -> str:
    """Each slot's words that the output lacks, written into the slot once (first slot wins)."""
    text = "\n".join(out)
    if _WORDS_DUE not in text:
        return text
    present = set(WORD.findall(text))
    wanted = [words for slots in pending.values() if slots for words in slots]
    pieces = text.split(_WORDS_DUE)
    filled = [pieces[0]]
    for words, piece in zip(wanted, pieces[1:], strict=True):
        new = sorted(words - present)
        present.update(new)
        filled.append(("; also " + " ".join(new) if new else "") + piece)
    return "".join(filled)


def words_kept(original: str, folded: str) -> float:
    """Share of the distinct 3+-letter words of ``original`` still in ``folded``."""
    before = words_of((original,))
    return len(before & words_of((folded,))) / len(before) if before else 1.0
