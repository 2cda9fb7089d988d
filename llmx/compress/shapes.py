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
from collections.abc import Callable, Iterable, Mapping, Sequence

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
WORD = re.compile(r"[A-Za-z]{3,}")
MAX_LISTED = 3  # a slot with at most this many distinct values lists them all
KEY = "\x00"  # stands for one variable in a key
_SHAPE = str.maketrans("123456789", "000000000")  # keeps lengths, and every digit a digit

Layout = tuple[str | None, Callable[[str], Sequence[str]] | None]  # key, value cutter


def split_line_parts(text: str) -> list[str]:
    """Literal text and variables, alternating (``parts[0::2]`` literal, ``[1::2]`` variables)."""
    return VARIABLE.split(text)


def scan_lines(text: str, given: Mapping[int, tuple[str, Sequence[str]]] | None = None
               ) -> tuple[list[str], list[str], list[str], list[int]]:
    """Lines, their keys, all values in order, index of each line's first value (+1 extra).

    ``given``: the key and values of some lines (by index), taken as they are (NDJSON rows,
    which ``ndjson_rows`` keys by their values' shapes): those lines are not scanned."""
    lines = text.split("\n")
    layouts: dict[str, Layout] = {}
    keys: list[str] = []
    values: list[str] = []
    first = [0]
    shapes = text.translate(_SHAPE).split("\n") if not given else \
        [line.translate(_SHAPE) if index not in given else "" for index, line in
         enumerate(lines)]
    for index, (line, shape) in enumerate(zip(lines, shapes, strict=True)):
        if given and (row := given.get(index)) is not None:
            keys.append(row[0])
            values.extend(row[1])
            first.append(len(values))
            continue
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


def summarise(values: Sequence[str], due: str = "") -> tuple[str, set[str]]:
    """One slot's values (in order of occurrence) as a short faithful summary, and the words
    (3+ letters) of the values that the summary does not show (``due``, when given and such
    words exist, is put just inside the summary's closing ``>``, where they are to go).

    Constant: the value. A leading and a trailing part that every value shares (each cut at
    a character that is not a letter or digit) is written once, outside the brackets:
    ``worker-<11|13>``, ``10.0.<11|13>.5:5432``. Then a few values: ``<a|b|c>``. Numbers:
    ``<lo..hi>`` (``blk_<-9..12>``, ``<0.5..2.9>s``). Times: ``<first..last>``, the last
    without the date and clock fields it shares with the first (``<… 08:00:03..59:10>``,
    never a part of a date). Else ``<first|last|… N distinct>``.
    """
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:
        return distinct[0], set()
    head, tail = _affixes(distinct)
    cores = [value[len(head) : len(value) - len(tail)] for value in distinct] \
        if head or tail else distinct
    if len(distinct) <= MAX_LISTED:
        return f"{head}<{'|'.join(cores)}>{tail}", set()
    shown = _timed(values, distinct)
    if shown is not None:
        head = tail = ""
    else:
        shown, unit = _numeric(cores), ""
        if shown is None:
            shown, unit = _measured(cores)
        tail = unit + tail
        if shown is None:
            shown = f"<{cores[0]}|{cores[-1]}|… {len(distinct)} distinct>"
    missing = words_of(distinct) - words_of((head, shown, tail))
    close = (due if missing else "") + ">"
    return head + shown.removesuffix(">") + close + tail, missing


def words_of(values: Iterable[str]) -> set[str]:
    return set(WORD.findall(" ".join(values)))


_INTS = re.compile(r"-?\d+(?:\n-?\d+)*")
_NUMBERS = re.compile(r"-?\d+(?:\.\d+)?(?:\n-?\d+(?:\.\d+)?)*")
_TIMES = re.compile(rf"(?:{DATETIME})(?:\n(?:{DATETIME}))*")
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _numeric(distinct: Sequence[str]) -> str | None:
    joined = "\n".join(distinct)
    if _INTS.fullmatch(joined):
        return f"<{min(distinct, key=int)}..{max(distinct, key=int)}>"
    if _NUMBERS.fullmatch(joined):
        return f"<{min(distinct, key=float)}..{max(distinct, key=float)}>"
    return None


_UNIT = re.compile(r"(?<=\d)[A-Za-z]+\Z")


def _measured(cores: Sequence[str]) -> tuple[str | None, str]:
    """Numbers with the same unit (``1.5s``, ``12ms``): their range and the unit."""
    unit = _UNIT.search(cores[0])
    if unit is None or not all(core.endswith(unit.group()) for core in cores):
        return None, ""
    shown = _numeric([core[: -len(unit.group())] for core in cores])
    return (None, "") if shown is None else (shown, unit.group())


def _timed(values: Sequence[str], distinct: Sequence[str]) -> str | None:
    """``<first..last>`` when every value is a time (also each within the same quotes)."""
    quote = distinct[0][:1]
    quoted = quote in ("\"", "'") and all(
        len(value) > 1 and value[0] == value[-1] == quote for value in distinct)
    inner = [value[1:-1] for value in distinct] if quoted else distinct
    if not _TIMES.fullmatch("\n".join(inner)):
        return None
    first, last = values[0], values[-1]
    return f"<{first}..{last[_same_day(first, last):]}>"


_CLOCK_ONLY = re.compile(rf"{_CLOCK}{_ZONE}[\"']?")


def _same_day(first: str, last: str) -> int:
    """How much of ``last`` to leave out: what it shares with ``first`` up to a ``:`` of the
    clock, or the whole date when only the clock differs (never a part of a date)."""
    shared = _common_prefix([first, last])
    cut = shared.rfind(":") + 1
    if cut == 0:
        cut = max(shared.rfind(" "), shared.rfind("T")) + 1
        if cut and not _CLOCK_ONLY.fullmatch(last, cut):
            cut = 0
    return cut if cut < len(last) else 0


def _affixes(distinct: Sequence[str]) -> tuple[str, str]:
    """The leading and trailing parts all values share, cut where a non-alphanumeric
    character ends (leading) or starts (trailing) them; every value keeps a middle part."""
    head = _common_prefix(list(distinct)).rstrip(_ALNUM)
    tail = _common_prefix([value[::-1] for value in distinct]).rstrip(_ALNUM)[::-1]
    shortest = min(map(len, distinct))
    if len(head) + len(tail) >= shortest:
        tail = ""
    if len(head) >= shortest:
        head = ""
    return head, tail


def _common_prefix(texts: Sequence[str]) -> str:
    """The longest text every one of ``texts`` starts with (character by character)."""
    low, high = min(texts), max(texts)  # what the lowest and highest share, all share
    size = 0
    limit = min(len(low), len(high))
    while size < limit and low[size] == high[size]:
        size += 1
    return low[:size]
