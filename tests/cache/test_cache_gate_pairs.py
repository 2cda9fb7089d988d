"""The gate's pair lists (format 4): where an id lands in a term's list, and entries that
share only common terms with a query, found within a small read budget."""

from __future__ import annotations

import random
import sqlite3
from array import array
from pathlib import Path

import pytest

from llmx.cache import gate_postings as postings
from llmx.cache import gate_query
from llmx.cache.embed import LexicalEmbedder
from llmx.cache.gate import LexicalGate
from llmx.cache.tiers import LEXICAL_DIMS, LEXICAL_NAME


def test_tails_tell_the_chunk_add_puts_each_id_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postings, "CHUNK", 4)
    db = sqlite3.connect(":memory:")
    for statement in postings.SCHEMA:
        db.execute(statement)
    rng, next_id, held = random.Random(3), 1, {7: [], 8: []}  # type: ignore[var-annotated]
    for _ in range(60):
        if rng.random() < 0.3 and held[7]:
            gone = held[7].pop(rng.randrange(len(held[7])))
            postings.remove(db, [7], gone)
            continue
        tails, batch, said = postings.Tails(db), {}, {}  # type: ignore[var-annotated]
        for _ in range(rng.randint(1, 6)):
            term = rng.choice([7, 8])
            said[next_id] = tails.land(term)
            batch.setdefault(term, []).append(next_id)
            held[term].append(next_id)
            next_id += 1
        postings.add(db, batch)
        where = {}
        for chunk, blob in db.execute("SELECT chunk, ids FROM postings"):
            ids = array("q")
            ids.frombytes(blob)
            where.update(dict.fromkeys(ids, chunk))
        assert {entry: where[entry] for entry in said} == said


def gate_with(tmp_path: Path, texts: list[str]) -> LexicalGate:
    class Log:
        def vectors_since(self, embedder: str, seq: int):  # type: ignore[no-untyped-def]
            rows = LexicalEmbedder().embed(texts)
            return iter([(i + 1, f"k{i}", "s", rows[i].tobytes())
                         for i in range(seq, len(texts))])

        def vector_seq(self, embedder: str) -> int:
            return len(texts)

    return LexicalGate(tmp_path / "gate.db", Log(), lambda key, _: texts[int(key[1:])],
                       LEXICAL_NAME, LEXICAL_DIMS)


@pytest.mark.parametrize("paired", [12, 0])
def test_an_entry_of_common_terms_only_is_found_through_their_pairs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paired: int) -> None:
    """Five common words; 100 older entries hold two of them each, the newest all five.
    With a budget too small for the words' whole lists, the pair lists find it (and,
    without them, it is missed: the test can fail)."""
    monkeypatch.setattr(postings, "CHUNK", 4)
    monkeypatch.setattr(postings, "EARLY", 1)
    monkeypatch.setattr(gate_query, "MAX_PAIRED", paired)
    common = ["quartz", "lantern", "meadow", "copper", "harbor"]
    rng = random.Random(5)
    texts = [" ".join([*rng.sample(common, 2), f"filler{n}", f"other{n}"]) for n in range(100)]
    texts.append(" ".join(common))
    gate = gate_with(tmp_path, texts)
    gate.budget = 50
    found = [c.key for c in gate.candidates("s", " ".join([*common, "today"]), gate=0.5)]
    assert (found[:1] == [f"k{len(texts) - 1}"]) == bool(paired)
    gate.close()
