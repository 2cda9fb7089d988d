"""The semantic veto: refuse a cache hit when two prompts ask for different things
that a similarity score cannot see. Pure (standard library only); ~30 µs per short pair.

``vetoed(query, candidate)`` is True when ``veto_reason`` finds one of:

* ``number``   — the numbers differ, or appear in another order: "top 5" / "top 10",
  "python 2" / "python 3", "question 25 about topic 975" / "question 975 about
  topic 25"; "50k" / "50,000" are equal. Number words (two ... twenty, tens,
  hundred, dozen) count as numbers; "one" does not (it is mostly a pronoun).
  Digits glued to letters are split ("gpt4" -> "gpt 4", "2fa" -> "2 fa").
* ``negation`` — one prompt is negated and the other is not: not, never, no +
  word, none, nothing, nobody, neither, nor, nowhere, without, and every "n't"
  ("No, ..." as an answer word does not count).
* ``opposite`` — one prompt holds a word whose opposite is in the other and
  not itself: enable/disable (also "turn on"/"turn off"), add/remove,
  start/stop, open/close, allow/deny, increase/decrease, min/max, before/after,
  more/less, fastest/slowest, upload/download, ... (see ``veto_words.OPPOSITES``;
  inflections such as "enabled", "removing" are recognised), or a word and
  the same word with a negating prefix ("install"/"uninstall",
  "valid"/"invalid", "encrypt"/"decrypt").
* ``unit``     — the units or currencies named differ: km/miles, °C/°F,
  GB/MB, $/€, %, seconds/minutes, ...
* ``direction`` — the words after "to", "into", "from" or "than" swap roles:
  "convert Celsius to Fahrenheit" / "convert Fahrenheit to Celsius",
  "is Python faster than Java" / "is Java faster than Python".
* ``identifier`` — both prompts name identifiers (a whole token mixing letters and digits:
  "case tt-3", "order A7", "error E42", "sku x1y2"; separators inside are ignored, so
  "gpt-4" and "gpt4" are one) and the identifiers differ: "case tt-3" / "case so-3". The
  number rule already tells "A7" from "A8"; this one tells "A7" from "B7". One side
  naming an identifier the other writes out ("2fa" / "two factor") is not a veto.
* ``entity``   — each prompt names something (a capitalised word that does not
  just open a sentence: "Ubuntu", "GitHub", "Rust") that the other does not
  mention in any case or inflection: "install Docker on Ubuntu" / "... on
  Windows". Adding a name on one side only is not a veto.

A veto only blocks a hit; a missed veto is what the similarity threshold is for.
Common-noun swaps ("reverse a list" / "sort a list") are not caught here.
Plain paraphrases keep the same numbers, negations, units and poles, so they
pass (measured in ``benchmarks/cache_paraphrase.py``).

``normalise`` and ``words`` (lower case, contractions expanded) live in
``llmx.cache.words``, shared with the lexical embedder and the gate (a miss with no
candidate imports that small module, not this one).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from llmx.cache.veto_words import (
    DIRECTION_WORDS,
    NEGATING_PREFIXES,
    NUMBER_WORDS,
    OPPOSITES,
    PHRASAL,
    SCALES,
    SKIP_AFTER,
    UNITS,
)
from llmx.cache.words import WORD as _WORD
from llmx.cache.words import normalise

_SYMBOLS: Final = re.compile(r"[$€£¥%°]")
_TOKEN_EDGES: Final = ".,;:!?\"'()[]{}<>"
_ID_SEPARATORS: Final = re.compile(r"[-_./:#]")
_NEGATION: Final = re.compile(
    r"\b(?:not|never|without|none|nobody|nothing|neither|nor|nowhere)\b"
    r"|\bno\b(?!\s*(?:[,.!?;:]|$))"
)

_THAN_WINDOW: Final = 6
_LOOKBEHIND: Final = 16
_SENTENCE_OPENERS: Final = frozenset(".!?:;\"'`([{-*#>")
_SHARED_PREFIX: Final = 5


def _pole_table(pairs: Iterable[tuple[str, str]]) -> Mapping[str, frozenset[tuple[int, int]]]:
    table: dict[str, set[tuple[int, int]]] = {}
    for group, (low, high) in enumerate(pairs):
        table.setdefault(low, set()).add((group, 0))
        table.setdefault(high, set()).add((group, 1))
    return MappingProxyType({word: frozenset(poles) for word, poles in table.items()})


_POLES: Final = _pole_table(OPPOSITES)
_ENABLE_POLES: Final = _POLES["enable"]
_DISABLE_POLES: Final = _POLES["disable"]


@dataclass(frozen=True, slots=True)
class Direction:
    """``target`` is the first content word after ``connector`` (to/into/from/than);
    ``before`` the word(s) ahead of the connector (see ``_directions``)."""

    connector: str
    target: str
    before: frozenset[str]


@dataclass(frozen=True, slots=True)
class Signature:
    """What a prompt pins down beyond its topic."""

    words: frozenset[str]
    numbers: tuple[str, ...]  # in order: the same numbers in other roles ask other things
    negated: bool
    poles: frozenset[tuple[int, int]]  # (opposite-pair index, 0 or 1)
    units: frozenset[str]
    directions: frozenset[Direction]
    names: frozenset[str]  # capitalised words not opening a sentence, lower-cased
    ids: frozenset[str]  # whole tokens mixing letters and digits, separators removed


@functools.lru_cache(maxsize=4096)  # a pure function of the text; a query meets many candidates
def signature(text: str) -> Signature:
    normal = normalise(text)
    tokens = _WORD.findall(normal)
    units = {UNITS[t] for t in tokens if t in UNITS}
    units.update(UNITS[s] for s in _SYMBOLS.findall(normal) if s in UNITS)
    return Signature(
        words=frozenset(tokens),
        numbers=tuple(_numbers(tokens)),
        negated=_NEGATION.search(normal) is not None,
        poles=frozenset(_poles(tokens)),
        units=frozenset(units),
        directions=frozenset(_directions(tokens)),
        names=frozenset(_names(text)),
        ids=frozenset(_identifiers(normal)),
    )


def vetoed(query: str, candidate: str) -> bool:
    """True when ``candidate``'s answer must not be served for ``query``."""
    return veto_reason(query, candidate) is not None


def veto_reason(query: str, candidate: str) -> str | None:
    """The first rule that tells the two prompts apart (see the module docstring), or None."""
    return compare(signature(query), signature(candidate))


def compare(a: Signature, b: Signature) -> str | None:
    if a.numbers != b.numbers:
        return "number"
    if a.negated != b.negated:
        return "negation"
    if _opposed(a.poles, b.poles) or _prefix_opposed(a, b):
        return "opposite"
    if a.units != b.units:
        return "unit"
    if _swapped(a, b):
        return "direction"
    if a.ids and b.ids and a.ids != b.ids:
        return "identifier"
    if _names_swapped(a, b):
        return "entity"
    return None


def _numbers(tokens: Sequence[str]) -> list[str]:
    found: list[str] = []
    for i, token in enumerate(tokens):
        value = _number_value(token)
        if value is None:
            continue
        scale = SCALES.get(tokens[i + 1]) if i + 1 < len(tokens) else None
        if scale is not None and value.isdigit():
            value = str(int(value) * scale)
        found.append(value)
    return found


def _number_value(token: str) -> str | None:
    if token[0].isdigit():
        plain = token.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", token) else token
        return str(int(plain)) if plain.isdigit() else plain
    value = NUMBER_WORDS.get(token)
    return None if value is None else str(value)


def _identifiers(normal: str) -> list[str]:
    """The whitespace-separated tokens of ``normal`` that hold a letter and a digit, edge
    punctuation stripped and inner separators removed ("tt-3" -> "tt3")."""
    found: list[str] = []
    for raw in normal.split():
        token = _ID_SEPARATORS.sub("", raw.strip(_TOKEN_EDGES))
        if (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
                and token.isalnum()):
            found.append(token)
    return found


def _poles(tokens: Sequence[str]) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for i, token in enumerate(tokens):
        poles = _POLES.get(token)
        if poles is None:
            poles = next((_POLES[f] for f in _base_forms(token) if f in _POLES), None)
        if poles is not None:
            found |= poles
        if token in PHRASAL and i + 1 < len(tokens):
            if tokens[i + 1] == "on":
                found |= _ENABLE_POLES
            elif tokens[i + 1] == "off":
                found |= _DISABLE_POLES
    return found


def _base_forms(token: str) -> list[str]:
    """``token`` and the bases it may inflect (enabled -> enable, stopping -> stop),
    in a fixed order."""
    forms = [token]
    if len(token) <= 3:
        return forms
    for suffix in ("s", "es", "ed", "d", "ing"):
        if token.endswith(suffix):
            stem = token[: -len(suffix)]
            forms.append(stem)
            if suffix == "ing":
                forms.append(stem + "e")
            if suffix in ("ed", "ing") and len(stem) > 2 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])  # stopped -> stop
    if token.endswith(("ies", "ied")):
        forms.append(token[:-3] + "y")
    return forms


def _opposed(mine: frozenset[tuple[int, int]], theirs: frozenset[tuple[int, int]]) -> bool:
    """I hold only one pole of a pair and they hold only the other one."""
    return any((g, 1 - p) not in mine and (g, 1 - p) in theirs and (g, p) not in theirs
               for g, p in mine)


def _prefix_opposed(a: Signature, b: Signature) -> bool:
    only_a, only_b = _stems(a.words - b.words), _stems(b.words - a.words)
    for mine, theirs in ((only_a, only_b), (only_b, only_a)):
        for word in mine:
            for prefix in NEGATING_PREFIXES:
                base = word[len(prefix):]
                if word.startswith(prefix) and len(base) >= 4 and base in theirs:
                    return True
    return False


def _stems(tokens: Iterable[str]) -> set[str]:
    return {form for token in tokens for form in _base_forms(token)}


def _directions(tokens: Sequence[str]) -> list[Direction]:
    """For to/into/from: the content word just before; for "than" (the compared
    thing usually leads the sentence) the few words before."""
    found: list[Direction] = []
    for i, token in enumerate(tokens):
        if token not in DIRECTION_WORDS:
            continue
        rest = [t for t in tokens[i + 1 : i + 3] if t not in SKIP_AFTER]
        if not rest:
            continue
        if token == "than":
            before = frozenset(tokens[max(0, i - _THAN_WINDOW) : i])
        else:
            ahead = [t for t in tokens[max(0, i - 2) : i] if t not in SKIP_AFTER]
            before = frozenset(ahead[-1:])
        found.append(Direction(token, rest[0], before))
    return found


def _swapped(a: Signature, b: Signature) -> bool:
    """Same connector, different targets, and each target stands before the
    connector in the other prompt: "A to B" against "B to A"."""
    only_a, only_b = a.directions - b.directions, b.directions - a.directions
    return any(
        x.connector == y.connector and x.target != y.target
        and y.target in x.before and x.target in y.before
        for x in only_a for y in only_b
    )


def _names(text: str) -> set[str]:
    """Words written with a capital that does not just open a sentence ("GitHub",
    "Java", "Ubuntu" mid-sentence), lower-cased; "I" is not a name."""
    plain = unicodedata.normalize("NFKC", text)
    found: set[str] = set()
    for match in _WORD.finditer(plain):
        word = match.group(0)
        if word.islower() or not word[0].isalpha() or word == "I":
            continue
        inner_capital = word[1:] != word[1:].lower()
        if inner_capital or (word[0].isupper() and not _opens_sentence(plain, match.start())):
            found.add(word.lower())
    return found


def _opens_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - _LOOKBEHIND) : start].rstrip()
    return not before or before[-1] in _SENTENCE_OPENERS


def _names_swapped(a: Signature, b: Signature) -> bool:
    """Each prompt names something the other does not mention at all (not even as
    a word sharing its first letters): "... in Rust?" against "... in Go?"."""
    return bool(_foreign(a.names, b.words)) and bool(_foreign(b.names, a.words))


def _foreign(names: Iterable[str], other_words: frozenset[str]) -> list[str]:
    return [
        name for name in names
        if name not in other_words
        and not any(len(w) >= _SHARED_PREFIX and w[:_SHARED_PREFIX] == name[:_SHARED_PREFIX]
                    for w in other_words)
    ]
