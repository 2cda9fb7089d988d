"""The gate's levels (format 5): each posting says how much of its entry the term carries,
so that among many entries sharing the same words with a query the ranking prefers those
that are mostly those words."""

from __future__ import annotations

import sqlite3
from array import array
from pathlib import Path

import pytest

from llmx.cache import gate_postings as postings
from llmx.cache import gate_query
from llmx.cache.gate_query import best as _best
from tests.cache.test_cache_gate_pairs import gate_with


def test_a_level_is_the_rounded_up_root_of_the_share() -> None:
    assert postings.level(1.0) == postings.LEVELS
    assert postings.level(0.25) == postings.LEVELS // 2 + 1  # ceil(31.5)
    assert postings.level(0.0) == 1 and postings.level(2.0) == postings.LEVELS
    assert [postings.level(s) for s in (0.05, 0.1, 0.2)] == sorted(
        postings.level(s) for s in (0.05, 0.1, 0.2))


def test_levels_stay_beside_their_ids_through_add_and_remove(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postings, "CHUNK", 4)
    db = sqlite3.connect(":memory:")
    for statement in postings.SCHEMA:
        db.execute(statement)
    ids = list(range(1, 11))
    postings.add(db, {7: ids[:3]}, {7: [5, 6, 7]})
    postings.add(db, {7: ids[3:]}, {7: [10 + i for i in range(7)]})
    postings.add(db, {8: [1, 2]})  # no levels given: the highest
    postings.remove(db, [7], 5)
    ((_, got, steps),) = postings.read_many(db, [7])
    held = dict(zip(got, steps, strict=True))
    assert list(got) == [i for i in ids if i != 5]
    assert held == {1: 5, 2: 6, 3: 7, 4: 10, 6: 12, 7: 13, 8: 14, 9: 15, 10: 16}
    assert postings.read_many(db, [8])[0][2] == bytes([postings.LEVELS] * 2)


def test_among_entries_met_once_the_highest_levels_are_taken() -> None:
    lists = [(1, array("q", [10, 11, 12, 13]))]
    steps = {1: bytes([9, 40, 9, 30])}
    assert _best(lists, {1: 0.5}, 2, levels=steps) == [11, 13]
    assert _best(lists, {1: 0.5}, 2) == [10, 11]  # without levels: the first ones


@pytest.mark.parametrize("query", ["quartz lantern today tomorrow yonder",
                                   "quartz lantern today"])
def test_a_short_entry_behind_many_long_ones_of_the_same_words_is_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: str) -> None:
    """100 long entries hold the query's two common words among eight others (cosine
    under the gate); the newest holds only the two. Its pair list holds all 101, more
    than the gate rescores: the old ranking (the list's first ones) missed it. With five
    query words each word's list is read only in its early chunk (the pair list's
    entries are met once); with three, each word alone could carry the match, so both
    lists are read whole and every entry is met in several lists."""
    monkeypatch.setattr(postings, "CHUNK", 4)
    monkeypatch.setattr(postings, "EARLY", 1)
    monkeypatch.setattr(gate_query, "MAX_PAIRED", 12)
    texts = [" ".join(["quartz", "lantern", *(f"w{n}x{i}" for i in range(8))])
             for n in range(100)]
    texts.append("quartz lantern")
    gate = gate_with(tmp_path, texts)
    gate.budget = 300
    found = [c.key for c in gate.candidates("s", query, gate=0.5)]
    assert found == [f"k{len(texts) - 1}"]
    gate.close()
