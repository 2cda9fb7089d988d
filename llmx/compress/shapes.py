"""What a variable is in a log line, decided by the shape of the whole token. Pure, stdlib.

``split_line_parts(text)`` cuts a text, in one regex pass, into the literal text and the
variable tokens between it (``VARIABLE.split``: even items literal, odd items variables). A
variable is, tried in this order:

- a date-time or a clock (``2015-10-20 09:10:57.153``, ``Dec 10 06:55:46``, ``081110``
  stays a number): month names and digit layouts, no vendor formats;
- a quoted value holding a digit (``"GET /a?id=7 HTTP/1.1"``): kept whole, never cut inside;
- a URL holding a digit, kept whole;
- any other token (a run between blanks and ``,;()[]{}<>|"'=``) holding a digit anywhere, or
  made of 16+ hex letters: numbers, ids (``blk_-42``, ``a692-…``, ``user7``), IPs and ports,
  paths with ids, UUIDs, hex. A trailing ``.`` or ``:`` is punctuation, not part of it.

Everything else — every token without a digit — is literal: it belongs to the template, so
no word of the input can disappear into a slot. ``summarise`` renders one slot's values.

``scan_lines(text)`` gives every line's key (its literal text, each variable replaced by
``KEY``) and values, exactly as ``split_line_parts`` would on each line. It runs the regex
once per *line shape* (the line with every digit written ``0``): the regex tests digits only
as ``\\d`` and counts them, so two lines of the same shape have their variables at the same
places, and a log repeats few shapes (88-98 % of the loghub lines repeat an earlier shape).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
_ZONE = r"(?:Z|[+-]\d{2}:?\d{2}|\ [+-]\d{4})?"
DATETIME = (
    rf"(?:{_DAY},?\ )?{_MONTH}\ +\d{{1,2}}(?:,?\ \d{{4}})?\ {_CLOCK}(?:\ \d{{4}})?"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}(?:[ T]{_CLOCK}{_ZONE})?"
    rf"|\d{{1,4}}/(?:\d{{1,2}}|{_MONTH})/\d{{2,4}}(?:[ T:]{_CLOCK}{_ZONE})?"
    rf"|{_CLOCK}"
)
_SEP = r"\s,;()\[\]{}<>|\"'="
VARIABLE = re.compile(  # (?<!\w) first: one cheap check fails the many in-word positions
    rf"(?<!\w)((?<![.:/-])(?=[MTWFSJAOND\d])(?:{DATETIME})(?![\w:])"  # a day, month or digit
    r'|(?<!\\)"(?=(?:[^"\\\n]|\\.)*?\d)(?:[^"\\\n]|\\.)*+"'
    r"|(?<!\\)'[^'\n\d]*+\d[^'\n]*'(?!\w)"
    r"|(?<![.:/-])[a-zA-Z][\w+.-]*+://[^\s\"'<>\d]*+\d[^\s\"'<>]*"
    rf"|(?<![^{_SEP}:])(?!:)(?:[^{_SEP}\d]*+\d(?:[^{_SEP}]*[^{_SEP}.:])?|[a-fA-F]{{16,}})"
    rf"(?![^{_SEP}.:]))"
)
_INT = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_TIME = re.compile(DATETIME)
_RUN = re.compile(r"\d+")
WORD = re.compile(r"[A-Za-z]{3,}")
MAX_LISTED = 3  # a slot with at most this many distinct values lists them all
KEY = "\x00"  # stands for one variable in a key
_SHAPE = str.maketrans("123456789", "000000000")  # keeps lengths, and every digit a digit

Layout = tuple[str | None, Callable[[str], Sequence[str]] | None]  # key, value cutter


def split_line_parts(text: str) -> list[str]:
    """Literal text and variables, alternating (``parts[0::2]`` literal, ``[1::2]`` variables)."""
    return VARIABLE.split(text)


def scan_lines(text: str) -> tuple[list[str], list[str], list[str], list[int]]:
    """Lines, their keys, all values in order, index of each line's first value (+1 extra)."""
    lines = text.split("\n")
    layouts: dict[str, Layout] = {}
    keys: list[str] = []
    values: list[str] = []
    first = [0]
    for line, shape in zip(lines, text.translate(_SHAPE).split("\n"), strict=True):
        layout = layouts.get(shape)
        if layout is None:
            layout = layouts[shape] = _layout(shape)
        key, cut = layout
        if key is None:  # a digit outside the variables: the key differs per line
            parts = VARIABLE.split(line)
            keys.append(KEY.join(parts[0::2]))
            values.extend(parts[1::2])
        else:
            keys.append(key)
            if cut is not None:
                values.extend(cut(line))
        first.append(len(values))
    return lines, keys, values, first


def _layout(shape: str) -> Layout:
    """The key of every line of ``shape`` (None: it differs per line) and what cuts the
    values out of such a line (None: it has none)."""
    spans = [match.span() for match in VARIABLE.finditer(shape)]
    literal = [shape[end:start] for end, start in
               zip([0, *(end for _, end in spans)], [*(start for start, _ in spans), len(shape)],
                   strict=True)]
    key = KEY.join(literal)
    if "0" in key:
        return None, None
    if not spans:
        return key, None
    cuts = [slice(start, end) for start, end in spans]
    if len(cuts) == 1:
        only = cuts[0]
        return key, lambda line: (line[only],)
    return key, operator.itemgetter(*cuts)


def summarise(values: Sequence[str]) -> tuple[str, set[str]]:
    """One slot's values (in order of occurrence) as a short faithful summary, and the words
    (3+ letters) of the values that the summary does not show.

    Constant: the value. A few: ``<a|b|c>``. Numbers: ``<lo..hi>``. Times: ``<first..last>``.
    Values alike but for one digit run (``blk_7``, ``blk_9``): ``blk_<7..9>``. Else
    ``<first|last|… N distinct>``.
    """
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:
        return distinct[0], set()
    if len(distinct) <= MAX_LISTED:
        return "<" + "|".join(distinct) + ">", set()
    shown = _numeric(distinct) or _timed(values, distinct) or _one_run(distinct)
    if shown is None:
        shown = f"<{distinct[0]}|{distinct[-1]}|… {len(distinct)} distinct>"
    return shown, words_of(distinct) - words_of((shown,))


def words_of(values: Iterable[str]) -> set[str]:
    return set(WORD.findall(" ".join(values)))


def _numeric(distinct: Sequence[str]) -> str | None:
    if all(_INT.fullmatch(value) for value in distinct):
        return f"<{min(distinct, key=int)}..{max(distinct, key=int)}>"
    if all(_NUMBER.fullmatch(value) for value in distinct):
        return f"<{min(distinct, key=float)}..{max(distinct, key=float)}>"
    return None


def _timed(values: Sequence[str], distinct: Sequence[str]) -> str | None:
    if all(_TIME.fullmatch(value) for value in distinct):
        return f"<{values[0]}..{values[-1]}>"
    return None


def _one_run(distinct: Sequence[str]) -> str | None:
    """``pre<lo..hi>post`` when every value is ``pre`` + one integer + ``post``."""
    split = [_RUN.split(value, maxsplit=2) for value in distinct]
    first = split[0]
    if any(len(parts) != 2 for parts in split):
        return None
    head = first[0].rstrip("-")
    if any(parts[0].rstrip("-") != head for parts in split):
        return None
    tail = _common_suffix([parts[1] for parts in split])
    numbers = [value[len(head) : len(value) - len(tail)] for value in distinct]
    if not all(_INT.fullmatch(number) for number in numbers):
        return None
    return f"{head}<{min(numbers, key=int)}..{max(numbers, key=int)}>{tail}"


def _common_suffix(texts: Sequence[str]) -> str:
    shortest = min(texts, key=len)
    for size in range(len(shortest), -1, -1):
        tail = shortest[len(shortest) - size :]
        if all(text.endswith(tail) for text in texts):
            return tail
    return ""
