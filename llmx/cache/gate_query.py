"""How the lexical gate (``llmx.cache.gate``) reads its posting lists for one query: which
lists (``lists_to_read``: the read budget, early chunks, pair lists; the module docstring of
``llmx.cache.gate`` tells why), the pair lists' ids (``pair_id``) and the ranking of the
entries met by the share of the query they cover (``best``). Stdlib only: on the miss path.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import math
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
                  parts: dict[int, tuple[int, int]]
                  ) -> tuple[list[tuple[int, array[int]]], dict[int, bytes], float]:
    """The posting lists a query reads, rarest first within the read budget: a rare
    term's whole list; of a common one (more than ``EARLY`` chunks), the early chunks,
    or the whole list when its share alone could carry ``needed`` and the budget allows;
    then the pair lists of the common terms, shortest first (``parts`` gets each pair
    list's two terms). Also each list's levels, and the share of the query held by the
    indexed terms whose lists were not read whole: the most an entry's cover can lack from
    what the lists show."""
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
    unread = sum(shares[term] for term, _, _ in present) - sum(shares[t] for t in whole)
    found = (postings.read_many(db, whole + chosen)
             + postings.read_many(db, early, below=postings.EARLY))
    return ([(term, ids) for term, ids, _ in found], {term: steps for term, ids, steps in found},
            max(0.0, unread))


def best(lists: list[tuple[int, array[int]]], ids: dict[int, float], count: int,
         parts: dict[int, tuple[int, int]] | None = None, floor: float = 0.0,
         levels: dict[int, bytes] | None = None) -> list[int]:
    """The ``count`` entries of ``lists`` most likely to be nearest the query: ranked by
    an estimate of their cosine, ``min(sqrt(cover), sum of sqrt(share) * level)`` (not a
    bound: n-grams shared across different words add to a cosine too).
    An entry's cover is the sum of ``ids[term]`` over the distinct query terms of the
    lists holding it (a list in ``parts`` stands for two terms: a pair list; a term met
    in several lists counts once); a list's ``levels`` (``gate_postings.level``) say how
    much of each entry its terms carry (none given: all of it, and the ranking is the
    cover's). Lists are taken shortest first: each is intersected with the entries met so
    far (set work in C, the list iterated, not built into a set), and only the lists
    before the longest are added to them, so the longest list costs one pass. Of the
    entries met in one list only (most of them, the same cover each), only a list's
    ``count`` highest levels can be among the best (the first ones on ties). Entries whose
    cover is under ``floor`` are left out (none can reach the gate: the caller's bound)."""
    bit: dict[int, int] = {}
    masks = {term: _mask(parts.get(term, (term,)) if parts else (term,), bit)
             for term, _ in lists}
    ordered = sorted(lists, key=lambda item: len(item[1]))
    cover, several = _met(ordered, masks)
    weight = {1 << index: ids[term] for term, index in bit.items()}
    shares: dict[int, float] = {}
    roots = {entry: math.sqrt(share) for entry in several
             if (share := _share(cover[entry], weight, shares)) >= floor}
    top: list[float] = []  # the ``count`` highest estimates so far (a min-heap)
    estimate: dict[int, float] = {}
    # with levels, the entries of largest cover re-ranked by them (an estimate is at most
    # the root of the cover: once the next root cannot beat the best ``count``, stop)
    for entry, root in (heapq.nlargest(_LEVELLED * count, roots.items(), key=_second)
                        if levels else roots.items()):
        if levels:
            if len(top) == count and root <= top[0]:
                break
            root = min(root, _levelled((entry, cover[entry]), ordered, masks, levels,
                                       (weight, shares)))
        estimate[entry] = _kept(top, root, count)
    ranked = sorted(((_share(masks[term], weight, shares), term, entries)
                     for term, entries in ordered), key=_first, reverse=True)
    for share, term, entries in ranked:  # highest share first: stop when none can beat
        root = math.sqrt(share)
        if share < floor or (len(top) == count and root <= top[0]):
            break
        least = int(top[0] / root * postings.LEVELS) + 1 if len(top) == count else 1
        steps = levels.get(term) if levels else None
        for entry, step in _highest(entries, steps, (count, least), several):
            estimate[entry] = _kept(top, root * step / postings.LEVELS, count)
    return heapq.nlargest(count, estimate, key=estimate.__getitem__)


def _kept(top: list[float], value: float, count: int) -> float:
    """Keep ``value`` in ``top`` if it is among the ``count`` highest; return it."""
    if len(top) < count:
        heapq.heappush(top, value)
    elif value > top[0]:
        heapq.heapreplace(top, value)
    return value


def _first(item: tuple[float, int, array[int]]) -> float:
    return item[0]


def _second(item: tuple[int, float]) -> float:
    return item[1]


_LEVELLED: Final = 4  # of ``count``: the entries met in several lists whose levels are read


def _met(ordered: list[tuple[int, array[int]]], masks: dict[int, int]
         ) -> tuple[dict[int, int], set[int]]:
    """Each entry's mask (of the lists before the longest, and of every list for the
    entries met again) and the entries met in more than one list."""
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
    return cover, several


def _levelled(met: tuple[int, int], ordered: list[tuple[int, array[int]]],
              masks: dict[int, int], levels: dict[int, bytes],
              weights: tuple[dict[int, float], dict[int, float]]) -> float:
    """An entry's sum over the lists holding it (``met``: the entry and the mask of those
    lists) of ``sqrt(share) * level`` (each query term once: a list adds the share of its
    terms not met before). Lists hold ids in the order added, ascending: the entry is
    found by bisection."""
    entry, held = met
    weight, shares = weights
    total, seen_mask = 0.0, 0
    for term, entries in ordered:
        if not masks[term] & held:
            continue
        at = bisect.bisect_left(entries, entry)
        if at == len(entries) or entries[at] != entry:
            continue
        new = masks[term] & ~seen_mask
        if not new:
            continue
        seen_mask |= new
        steps = levels.get(term)
        step = steps[at] if steps is not None and at < len(steps) else postings.LEVELS
        total += math.sqrt(_share(new, weight, shares)) * step / postings.LEVELS
    return total


def _highest(entries: array[int], steps: bytes | None, wanted: tuple[int, int],
             skip: set[int]) -> list[tuple[int, int]]:
    """``(entry, level)`` of the ``count`` entries of a list not in ``skip`` with the
    highest levels, none under ``least`` (``wanted``; the first ones on ties; no levels:
    the first ones, at ``LEVELS``). A level's ids are found by ``bytes.find`` (a C scan),
    from the highest level down, the levels of a band the list does not hold skipped at
    once."""
    count, least = wanted
    out: list[tuple[int, int]] = []
    if steps is None or len(entries) <= count:
        for at, entry in enumerate(entries):
            if len(out) == count:
                break
            step = steps[at] if steps is not None else postings.LEVELS
            if entry not in skip and step >= least:
                out.append((entry, step))
        return out
    banded = steps.translate(_BANDS)  # a band's absence costs one scan, not eight
    for band in range(postings.LEVELS // _BAND, least // _BAND - 1, -1):
        if banded.find(band) < 0:
            continue
        for level in range(min(postings.LEVELS, band * _BAND + _BAND - 1),
                           max(band * _BAND, least) - 1, -1):
            at = steps.find(level)
            while at >= 0:
                if entries[at] not in skip:
                    out.append((entries[at], level))
                    if len(out) == count:
                        return out
                at = steps.find(level, at + 1)
    return out


_BAND: Final = 8  # levels per band
_BANDS: Final = bytes(level // _BAND for level in range(256))


def _share(mask: int, weight: dict[int, float], shares: dict[int, float]) -> float:
    """The query share of the terms in ``mask`` (summed once per mask, kept in ``shares``)."""
    total = shares.get(mask)
    if total is None:
        total, rest = 0.0, mask
        while rest:
            low = rest & -rest
            total += weight[low]
            rest ^= low
        shares[mask] = total
    return total


def _mask(terms: tuple[int, ...], bit: dict[int, int]) -> int:
    """The bits of ``terms`` (each query term gets the next bit when first met)."""
    mask = 0
    for term in terms:
        mask |= 1 << bit.setdefault(term, len(bit))
    return mask
