"""How the lexical gate (``llmx.cache.gate``) reads its posting lists for one query: which
lists (``lists_to_read``: the read budget, early chunks, pair lists; the module docstring of
``llmx.cache.gate`` tells why), the pair lists' ids (``pair_id``) and the ranking of the
entries met by the share of the query they cover (``best``). Stdlib only: on the miss path.
"""

from __future__ import annotations

import hashlib
import heapq
import sqlite3
from array import array
from typing import Final

from llmx.cache import gate_postings as postings

MAX_PAIRED: Final = 12  # the common terms of a query whose pair lists it reads, at most


def pair_id(first: int, second: int) -> int:
    """The 63-bit id of the list of entries holding both terms (``first < second``)."""
    digest = hashlib.blake2b(first.to_bytes(8, "little") + second.to_bytes(8, "little"),
                             digest_size=8, person=b"llmx-pair").digest()
    return int.from_bytes(digest, "little") >> 1


def lists_to_read(db: sqlite3.Connection, present: list[tuple[int, int, int]],
                  shares: dict[int, float], needed: float, budget: int,
                  parts: dict[int, tuple[int, int]]) -> list[tuple[int, array[int]]]:
    """The posting lists a query reads, rarest first within the read budget: a rare
    term's whole list; of a common one (more than ``EARLY`` chunks), the early chunks,
    or the whole list when its share alone could carry ``needed`` and the budget allows;
    then the pair lists of the common terms, shortest first (``parts`` gets each pair
    list's two terms)."""
    present.sort(key=lambda row: row[1])
    whole: list[int] = []
    early: list[int] = []
    read = 0
    head = postings.EARLY * postings.CHUNK
    for term, df, chunks in present:
        alone = chunks <= postings.EARLY or (shares[term] >= needed
                                             and read + df <= budget)
        cost = df if alone else min(df, head)
        if read + cost > budget:
            continue
        read += cost
        (whole if alone else early).append(term)
    common = sorted([term for term, _, chunks in present
                     if chunks > postings.EARLY][:MAX_PAIRED])
    pairs = {pair_id(first, second): (first, second)
             for i, first in enumerate(common) for second in common[i + 1 :]}
    chosen: list[int] = []
    for pair, df, _ in sorted(postings.frequencies(db, pairs) if pairs else [],
                              key=lambda row: row[1]):
        if read + df > budget:
            break
        read += df
        chosen.append(pair)
        parts[pair] = pairs[pair]
    return (postings.read_many(db, whole + chosen)
            + postings.read_many(db, early, below=postings.EARLY))



def best(lists: list[tuple[int, array[int]]], ids: dict[int, float], count: int,
         parts: dict[int, tuple[int, int]] | None = None) -> list[int]:
    """The ``count`` entries of ``lists`` that cover the largest share of the query: the
    sum of ``ids[term]`` over the distinct query terms of the lists holding them (a list
    in ``parts`` stands for two terms: a pair list; a term met in several lists counts
    once). Lists are taken shortest first: each is intersected with the entries met so
    far (set work in C, the list iterated, not built into a set), and only the lists
    before the longest are added to them, so the longest list costs one pass. Of the
    entries met in one list only (most of them, the same cover each), only a list's first
    ``count`` can be among the best."""
    bit: dict[int, int] = {}
    masks = {term: _mask(parts.get(term, (term,)) if parts else (term,), bit)
             for term, _ in lists}
    ordered = sorted(lists, key=lambda item: len(item[1]))
    cover: dict[int, int] = {}
    several: set[int] = set()
    last = len(ordered) - 1
    for index, (term, entries) in enumerate(ordered):
        mask = masks[term]
        again = cover.keys() & entries
        before = [(entry, cover[entry]) for entry in again]
        if index < last:
            cover.update(dict.fromkeys(entries, mask))
        for entry, so_far in before:
            cover[entry] = so_far | mask
        several |= again
    found = {entry: cover[entry] for entry in several}
    for term, entries in ordered:
        mask, taken = masks[term], 0
        for entry in entries:
            if taken == count:
                break
            if entry not in several:
                found[entry] = mask
                taken += 1
    weight = {1 << index: ids[term] for term, index in bit.items()}
    shares: dict[int, float] = {}
    for mask in set(found.values()):
        total, rest = 0.0, mask
        while rest:
            low = rest & -rest
            total += weight[low]
            rest ^= low
        shares[mask] = total
    return heapq.nlargest(count, found, key=lambda entry: shares[found[entry]])


def _mask(terms: tuple[int, ...], bit: dict[int, int]) -> int:
    """The bits of ``terms`` (each query term gets the next bit when first met)."""
    mask = 0
    for term in terms:
        mask |= 1 << bit.setdefault(term, len(bit))
    return mask
