"""The gate's ranking of posting-list entries by the query share they cover."""

from __future__ import annotations

import random
from array import array

import pytest

from llmx.cache.gate_query import best as _best


def covers(lists: list[tuple[int, array[int]]], ids: dict[int, float]) -> dict[int, float]:
    cover: dict[int, float] = {}
    for term, entries in lists:
        for entry in entries:
            cover[entry] = cover.get(entry, 0.0) + ids[term]
    return cover


def test_the_best_entries_are_those_a_plain_sum_ranks_first() -> None:
    rng = random.Random(7)
    for _ in range(200):
        terms = rng.randint(1, 6)
        ids = {term: rng.choice([0.05, 0.1, 0.2, rng.random()]) for term in range(terms)}
        lists = [(term, array("q", sorted(rng.sample(range(300), rng.randint(1, 120)))))
                 for term in ids]
        count = rng.choice([1, 5, 40])
        cover = covers(lists, ids)
        best = _best(lists, ids, count)
        assert len(best) == min(count, len(cover)) and len(set(best)) == len(best)
        wanted = sorted(cover.values(), reverse=True)[:count]
        # the same covers, best first (summed in another order: equal to rounding)
        assert [cover[entry] for entry in best] == pytest.approx(wanted, abs=1e-12)


def test_no_list_no_entry() -> None:
    assert _best([], {}, 5) == []
