"""Prose rules that run on masked text (protected spans are single private-use characters).

Every rule here only deletes blanks, shortens table delimiter rows, or removes whole filler
phrases bounded by blanks; none can touch a digit or a masked span. Which rules are worth
keeping was decided by counting cl100k tokens on the corpus (benchmarks/compress_corpus.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_TRAILING_BLANKS = re.compile(r"[ \t]+$", re.MULTILINE)
_SPACE_RUN = re.compile(r" (?<=\S ) +(?=\S)")  # literal first: fast
_BLANK_LINE_RUN = re.compile(r"\n{3,}")
_TABLE = re.compile(
    r"^[ \t]*\|[^\n]*\n"  # header row
    r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$"  # delimiter row
    r"(?:\n[ \t]*\|[^\n]*)*",  # body rows
    re.MULTILINE,
)
_DASH_RUN = re.compile(r"-{2,}")
_CELL_PADDING = re.compile(r"[ \t]*(?<!\\)\|[ \t]*")


def collapse_spaces(text: str) -> str:
    """Trailing blanks go; a run of spaces between two non-blanks becomes one space.

    Leading indentation and tabs are kept (indentation carries list nesting; tabs may
    separate columns whose cells hold spaces). This is also the list compaction
    (``-   item`` -> ``- item``): a separate list rule saved nothing more on any sample.
    """
    if " \n" in text or "\t\n" in text or text.endswith((" ", "\t")):
        text = _TRAILING_BLANKS.sub("", text)
    return _SPACE_RUN.sub(" ", text) if "  " in text else text


def collapse_blank_lines(text: str) -> str:
    """Blank lines hold no blanks (see ``collapse_spaces``); two or more become one."""
    return _BLANK_LINE_RUN.sub("\n\n", text) if "\n\n\n" in text else text


def compact_tables(text: str) -> str:
    """Markdown tables: no padding around ``|`` and ``---`` runs in the delimiter row -> ``-``."""
    return _TABLE.sub(_compact_table, text) if "|" in text else text


def _compact_table(match: re.Match[str]) -> str:
    lines = match.group().split("\n")
    lines[1] = _DASH_RUN.sub("-", lines[1])
    return "\n".join(_compact_row(line) for line in lines)


def _compact_row(line: str) -> str:
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return indent + _CELL_PADDING.sub("|", line[len(indent) :]).rstrip(" \t")


# --- filler and politeness ---------------------------------------------------------------

# What precedes a sentence-initial phrase: a line start (maybe after a list or quote marker)
# or a sentence end. Checked on the text just before a match, so the phrase regexes can start
# with a literal (fast) instead of with this context.
_SENTENCE_BEFORE = re.compile(
    r"\n[ \t]*(?:[-*+>][ \t]+|\d{1,9}[.)][ \t]+)?\Z|[.!?][\"')\]]?[ \t]+\Z"
)
# After these words a filler is no filler: "not really" (meaning would flip), "to please",
# "will please" ("please" is then a verb).
_KEEP_AFTER = re.compile(
    r"\b(?:not|n't|n\u2019t|to|will|would|can|could|may|might|must|should|shall)[ \t]+\Z"
)
_LOOKBACK = 24  # characters of context the two patterns above need
_MAX_PASSES = 4  # "please please do": each pass removes one of two adjacent phrases


@dataclass(frozen=True, slots=True)
class Filler:
    """A phrase removed in aggressive mode, where it starts a sentence and/or inside one."""

    name: str
    probes: tuple[str, ...]  # substrings one of which the text must hold for the rule to run
    phrase: re.Pattern[str]  # the phrase, an optional comma, blanks, then the next character
    at_start: bool  # sentence-initial: removed and the next letter capitalised
    inside: bool  # after a blank (not after a _KEEP_AFTER word): removed with blanks after it
    at_end: re.Pattern[str] | None  # before . ! ? or a line end: removed with blanks before

    def apply(self, text: str) -> str:
        for _ in range(_MAX_PASSES):
            if not any(probe in text for probe in self.probes):
                break
            rewritten = self.phrase.sub(self._replacement, text)
            if self.at_end is not None:
                rewritten = self.at_end.sub(_unless_kept, rewritten)
            if rewritten == text:
                break
            text = rewritten
        return text

    def _replacement(self, match: re.Match[str]) -> str:
        low = max(0, match.start() - _LOOKBACK)
        before = ("\n" if low == 0 else "") + match.string[low : match.start()]
        following = match.group(1)
        if _SENTENCE_BEFORE.search(before):
            return _capitalised(following) if self.at_start else match.group()
        if self.inside and before[-1:] in " \t" and not _KEEP_AFTER.search(before):
            return following
        return match.group()


def _unless_kept(match: re.Match[str]) -> str:
    """An ``at_end`` match is removed unless a _KEEP_AFTER word precedes it ("to please.")."""
    before = match.string[max(0, match.start() - _LOOKBACK) : match.start()]
    return match.group() if _KEEP_AFTER.search(before + " ") else ""


def _capitalised(character: str) -> str:
    upper = character.upper()
    return upper if len(upper) == 1 else character


def make_filler(
    name: str, phrase: str, probes: tuple[str, ...], *, start: bool, inside: bool, end: bool
) -> Filler:
    """``phrase`` is a regex for the words, its first letter written in lower case."""
    head, rest = phrase[0], phrase[1:]
    either_case = f"[{head.upper()}{head.lower()}]{rest}" if head.isalpha() else phrase
    return Filler(
        name=name,
        probes=probes,
        phrase=re.compile(either_case + r",?[ \t]+(\S)"),
        at_start=start,
        inside=inside,
        at_end=re.compile(
            r",?[ \t]+" + phrase + r"(?=[.!?]+(?:\s|$)|$)", re.MULTILINE
        ) if end else None,
    )


# The measured filler list, in the order it is applied (longer phrases first). Candidates
# measured and dropped: "just", "very", "feel free to" (they change meaning: "not just",
# "very drunk", a permission becomes an order), "kindly" as an adverb ("kindly share"),
# "basically", "actually", "thank you" (no saving on the corpus).
FILLERS: tuple[Filler, ...] = (
    make_filler("filler.i_want_you_to", r"i (?:want|would like|['\u2019]d like) you to",
                (" you to",), start=True, inside=True, end=False),
    make_filler("filler.could_you_please",
                r"(?:[Cc]ould|[Cc]an|[Ww]ould|[Ww]ill) you (?:please|kindly)",
                ("ou please", "ou kindly"), start=True, inside=False, end=False),
    make_filler("filler.please", r"please", ("lease",), start=True, inside=True, end=True),
    make_filler("filler.in_order_to", r"in order(?= to\b)", ("n order to",),
                start=True, inside=True, end=False),
    make_filler("filler.simply", r"simply(?! put\b)", ("imply",),
                start=True, inside=True, end=False),
    make_filler("filler.really", r"really", ("really",), start=False, inside=True, end=False),
)


def filler_names() -> tuple[str, ...]:
    return tuple(filler.name for filler in FILLERS)


def filler_rules(names: frozenset[str]) -> tuple[Callable[[str], str], ...]:
    """The ``apply`` of each filler whose name is in ``names``, in list order."""
    return tuple(filler.apply for filler in FILLERS if filler.name in names)
