"""Drain-style merging of templates, used only when the folded text is over a token budget.

Templates (group keys, blank-separated tokens, ``\\x00`` for a variable) with the same number
of tokens are compared position by position, as Drain does; a key joins the first earlier
cluster whose representative agrees with it on at least ``threshold`` of the positions, and
the positions where they differ become one slot each (a *wildcard*). Each member line's
values are rebuilt for the merged key: at a wildcard, the line's whole token (its own
variables put back) is one value. Groups of stack traces (several lines) are never merged.

A key never joins a cluster whose merged template would keep no word (3+ letters) outside
its slots: such a template is never folded, and its members would come out in full.

Why it is general: it looks at nothing but token positions and equality, which is what any
line-oriented log has; it trades words for tokens, so it runs only over a budget, and the
output says that it did.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

KEY = "\x00"
_WORD = re.compile(r"[A-Za-z]{3,}")  # shapes.WORD: a template needs one to be folded
THRESHOLDS = (0.8, 0.6, 0.4)  # merge levels 1, 2, 3: each merges more, and less alike, keys


def merge_groups(groups: dict[str, list[int]], keys: Sequence[str],
                 values_of: Callable[[int], list[str]], level: int
                 ) -> tuple[dict[str, list[int]], dict[int, list[str]], int]:
    """Groups after merging at ``level`` (1..3), each member's rebuilt values, merges done.

    ``groups`` maps ``"block\\nkey"`` to its members' line indices (single-line records
    only); the answer maps merged keys the same way, in order of first member.
    """
    threshold = THRESHOLDS[min(level, len(THRESHOLDS)) - 1]
    clusters: dict[tuple[str, int], list[tuple[list[str | None], list[str]]]] = {}
    for group in groups:
        block, _, key = group.partition("\n")
        tokens = key.split(" ")
        bucket = clusters.setdefault((block, len(tokens)), [])
        for template, members in bucket:
            if _similarity(template, tokens) >= threshold and _keeps_a_word(template, tokens):
                for position, token in enumerate(tokens):
                    if template[position] != token:
                        template[position] = None
                members.append(group)
                break
        else:
            bucket.append((list[str | None](tokens), [group]))
    return _rebuild(groups, keys, values_of, clusters)


def _keeps_a_word(template: Sequence[str | None], tokens: Sequence[str]) -> bool:
    """Whether the merged template would keep a word outside its slots: one without is
    never folded (``fold_log``), so merging into it would write its lines out in full."""
    kept = " ".join(left for left, right in zip(template, tokens, strict=True) if left == right)
    return _WORD.search(kept.replace(KEY, " ")) is not None


def _similarity(template: Sequence[str | None], tokens: Sequence[str]) -> float:
    same = sum(1 for left, right in zip(template, tokens, strict=True) if left == right)
    return same / len(tokens)


def _rebuild(groups: dict[str, list[int]], keys: Sequence[str],
             values_of: Callable[[int], list[str]],
             clusters: dict[tuple[str, int], list[tuple[list[str | None], list[str]]]]
             ) -> tuple[dict[str, list[int]], dict[int, list[str]], int]:
    merged: dict[str, list[int]] = {}
    values: dict[int, list[str]] = {}
    merges = 0
    for (block, _), bucket in clusters.items():
        for template, members in bucket:
            if len(members) == 1:
                merged[members[0]] = groups[members[0]]
                continue
            merges += len(members) - 1
            new_key = " ".join(KEY if token is None else token for token in template)
            lines = sorted(index for group in members for index in groups[group])
            merged[f"{block}\n{new_key}"] = lines
            for index in lines:
                values[index] = _values_for(template, keys[index].split(" "), values_of(index))
    ordered = dict(sorted(merged.items(), key=lambda item: item[1][0]))
    return ordered, values, merges


def _values_for(template: Sequence[str | None], tokens: Sequence[str],
                own: Sequence[str]) -> list[str]:
    out: list[str] = []
    taken = 0
    for slot, token in zip(template, tokens, strict=True):
        count = token.count(KEY)
        mine = own[taken : taken + count]
        taken += count
        if slot is not None:
            out.extend(mine)
            continue
        pieces = token.split(KEY)
        text = [pieces[0]]
        for value, piece in zip(mine, pieces[1:], strict=True):
            text.append(value)
            text.append(piece)
        out.append("".join(text))
    return out
