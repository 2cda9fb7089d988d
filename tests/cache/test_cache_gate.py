"""The lexical gate (stage 1): pure-Python rows, candidates, catching up with the log,
recall against brute force on real paraphrases, and a miss that imports no numpy."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from llmx.cache import embed
from llmx.cache.candidates import Candidate
from llmx.cache.embed import LexicalEmbedder
from llmx.cache.gate import LexicalGate
from llmx.cache.gate_features import STOPWORDS, LexicalRows, row_bytes, row_of_bytes
from llmx.cache.gate_stages import Stages
from llmx.cache.tiers import LEXICAL_DIMS, LEXICAL_NAME

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    "How do I enable 2FA on GitHub?", "what's the capital of France", "", "the the of",
    "Python python PYTHON 3.11 release notes", "Ünïcødé café naïve résumé", "a b",
    "Write a haiku about autumn leaves, please", "don't won't can't shouldn't",
]


class Log:
    """An in-memory vector log: ``(seq, key, scope, vector bytes)`` rows."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str, bytes]] = []
        self.head = 0

    def add(self, key: str, scope: str, text: str) -> None:
        self.head += 1
        self.rows.append((self.head, key, scope, LexicalEmbedder().embed([text])[0].tobytes()))

    def vectors_since(self, embedder: str, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        return iter([row for row in self.rows if row[0] > seq])

    def vector_seq(self, embedder: str) -> int:
        return self.head


def make_gate(tmp_path: Path, log: Log, prompts: dict[str, str]) -> LexicalGate:
    return LexicalGate(tmp_path / "gate.db", log, lambda key, _: prompts.get(key),
                       LEXICAL_NAME, LEXICAL_DIMS)


def fill(log: Log, prompts: dict[str, str], scope: str, texts: list[str]) -> None:
    for text in texts:
        key = f"k{len(prompts)}"
        prompts[key] = text
        log.add(key, scope, text)


def test_pure_python_rows_match_the_embedder_to_one_float32_ulp() -> None:
    embedder = LexicalEmbedder()
    rows = LexicalRows(embedder.dims)
    for text, expected in zip(TEXTS, embedder.embed(TEXTS), strict=True):
        mine = np.frombuffer(row_bytes(rows.row(text), embedder.dims), dtype="<f4")
        assert np.allclose(mine, expected, rtol=0, atol=1.2e-7), text
        assert row_of_bytes(expected.astype("<f4").tobytes()) == {
            i: float(v) for i, v in enumerate(expected) if v != 0}


def test_the_twin_shares_the_embedders_name_and_function_words() -> None:
    assert LexicalEmbedder().name == LEXICAL_NAME and LexicalEmbedder().dims == LEXICAL_DIMS
    assert STOPWORDS is embed.STOPWORDS


def test_candidates_are_scoped_gated_best_first_and_limited(tmp_path: Path) -> None:
    log, prompts = Log(), {}
    fill(log, prompts, "s", ["how do I sort a list in python", "how to sort a python list",
                             "sort a list in python quickly", "bake sourdough bread at home"])
    fill(log, prompts, "other", ["how do I sort a list in python"])
    gate = make_gate(tmp_path, log, prompts)
    query = "how can I sort a list in python"
    found = gate.candidates("s", query, limit=2, gate=0.5)
    assert len(found) == 2 and all(isinstance(c, Candidate) for c in found)
    assert found[0].key == "k0" and found[0].lexical >= found[1].lexical >= 0.5
    truth = LexicalEmbedder().embed([query, prompts["k0"]])
    assert found[0].lexical == pytest.approx(float(truth[0] @ truth[1]), abs=1e-6)
    assert found[0].prompt == prompts["k0"]
    assert {c.key for c in gate.candidates("s", query, limit=10, gate=0.5)} == {"k0", "k1", "k2"}
    assert [c.key for c in gate.candidates("other", query)] == ["k4"]
    assert gate.candidates("s", "penguins of antarctica", gate=0.5) == []
    assert gate.candidates("nowhere", query) == []


def test_the_gate_catches_up_replaces_keys_and_rebuilds_after_a_clear(tmp_path: Path) -> None:
    log, prompts = Log(), {}
    fill(log, prompts, "s", ["reset my router password"])
    gate = make_gate(tmp_path, log, prompts)
    assert [c.key for c in gate.candidates("s", "reset the router password")] == ["k0"]
    fill(log, prompts, "s", ["install docker on ubuntu"])  # appended by "another process"
    assert [c.key for c in gate.candidates("s", "install docker on ubuntu 22")] == ["k1"]
    prompts["k0"] = "bake sourdough bread"
    log.add("k0", "s", prompts["k0"])  # the same key again: its old row goes
    assert gate.candidates("s", "reset the router password") == []
    assert [c.key for c in gate.candidates("s", "bake sourdough bread")] == ["k0"]
    log.rows, log.head = [], log.head + 5  # cleared (counters survive), then refilled
    fill(log, prompts, "s", ["learn rust ownership"])
    assert gate.candidates("s", "install docker on ubuntu 22") == []
    assert [c.key for c in gate.candidates("s", "learn rust ownership rules")] == ["k2"]
    gate.close()
    reopened = make_gate(tmp_path, log, prompts)  # the file carries the index over
    assert [c.key for c in reopened.candidates("s", "learn rust ownership rules")] == ["k2"]


def test_a_damaged_file_is_rebuilt_and_gone_entries_are_skipped(tmp_path: Path) -> None:
    log, prompts = Log(), {}
    fill(log, prompts, "s", ["reset my router password", "reset my modem password"])
    (tmp_path / "gate.db").write_bytes(b"not a database at all" * 100)
    del prompts["k1"]  # its entry left the response store
    gate = make_gate(tmp_path, log, prompts)
    assert [c.key for c in gate.candidates("s", "reset the router password")] == ["k0"]


def test_rows_queued_by_this_process_are_searched_before_the_log_has_them(
        tmp_path: Path) -> None:
    gate = make_gate(tmp_path, Log(), {})
    gate.queued("q1", "s", "reset my router password")
    assert [c.key for c in gate.candidates("s", "reset the router password")] == ["q1"]
    assert gate.candidates("t", "reset the router password") == []


def test_recall_against_brute_force_on_real_paraphrases(tmp_path: Path,
                                                        shared_data: Path) -> None:
    pairs = json.loads((shared_data / "paraphrase" / "gptcache_mock_data.json").read_text())
    pairs = pairs[:300]
    log, prompts = Log(), {}
    fill(log, prompts, "s", [pair["origin"] for pair in pairs[::2]])
    gate = make_gate(tmp_path, log, prompts)
    embedder = LexicalEmbedder()
    matrix = embedder.embed(list(prompts.values()))
    found = wanted = 0
    for pair in pairs:
        scores = matrix @ embedder.embed([pair["similar"]])[0]
        truth = [f"k{i}" for i in np.argsort(-scores)[:5] if scores[i] >= 0.5]
        mine = gate.candidates("s", pair["similar"], limit=5, gate=0.5)
        assert all(c.lexical >= 0.5 for c in mine)
        found += len({c.key for c in mine} & set(truth))
        wanted += len(truth)
    assert wanted > 100
    assert found / wanted >= 0.95  # measured 0.977 on the whole file


MISS = """
import sys
from pathlib import Path
from llmx.cache.tiers import Keys, TieredCache
from llmx.config.profile import CacheSettings
from llmx.types import Completion, Message, Request

def factory():
    from llmx.cache.embed import LexicalEmbedder
    return LexicalEmbedder()

settings = CacheSettings(semantic=True, embedder=sys.argv[4])
cache = TieredCache(settings, Path(sys.argv[1]), provider="openai",
                    endpoint="e", embedder=factory)
prompt = sys.argv[3]
keys = Keys(exact=prompt.encode().hex(), scope="s", prompt=prompt)
if sys.argv[2] == "save":
    request = Request(model="m", messages=(Message("user", prompt),))
    cache.save(keys, request, Completion(text="an answer", model="m", provider="openai"), ())
    print("numpy" in sys.modules)
else:
    hit = cache.semantic(keys, cache.query_vector(keys))
    print(hit is not None and hit.entry.prompt, "numpy" in sys.modules)
cache.close()
"""


def run_miss(directory: Path, action: str, prompt: str, embedder: str = "auto") -> str:
    done = subprocess.run([sys.executable, "-c", MISS, str(directory), action, prompt, embedder],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_miss_without_a_candidate_and_a_write_import_no_numpy(tmp_path: Path) -> None:
    assert run_miss(tmp_path, "save", "How do I reset my router password?") == "False"
    assert run_miss(tmp_path, "ask", "penguins of antarctica") == "False False"
    # a lexical hit too (with the model, "auto" loads it, and numpy, to judge a candidate)
    assert run_miss(tmp_path, "ask", "how do i reset my router password", "lexical") == (
        "How do I reset my router password? False")


# -- the glue: stage 2 behind cache.embedder ----------------------------------------------


class FakeScorer:
    """Scores by a table; ``judges`` is False for queries marked long. ``built`` holds
    every scorer made (a model stage that got as far as loading)."""

    built: ClassVar[list[FakeScorer]] = []

    def __init__(self, load: object, *, get: object, put: object) -> None:
        self.calls = 0
        FakeScorer.built.append(self)

    def judges(self, query: str) -> bool:
        return "long" not in query

    def __call__(self, query: str, candidates: list[Candidate]) -> list[float | None]:
        self.calls += 1
        return [0.95 if "router" in c.prompt else 0.5 for c in candidates]


class Unavailable(Exception):
    pass


NEARS: list[float] = []  # the ``near`` each fake ``choose`` was given


def fake_model_modules(monkeypatch: pytest.MonkeyPatch, *, installed: bool) -> None:
    import types

    from llmx.cache import gate_stages

    def choose(query: str, candidates: list[Candidate], scorer: FakeScorer, *,
               threshold: float, margin: float | None, veto: object, near: float) -> object:
        NEARS.append(near)
        scores = scorer(query, candidates)
        best = max(range(len(candidates)), key=lambda i: scores[i] or 0.0)
        return (candidates[best], scores[best]) if (scores[best] or 0) >= threshold else None

    model = types.SimpleNamespace(
        resolve_embedder=lambda choice: ("model" if installed else "lexical", None),
        load_model=lambda: None, ModelUnavailable=Unavailable)
    rerank = types.SimpleNamespace(choose=choose, ModelScorer=FakeScorer,
                                   DEFAULT_THRESHOLD=0.9, DEFAULT_MARGIN=0.02)
    monkeypatch.setitem(sys.modules, "llmx.cache.model", model)
    monkeypatch.setitem(sys.modules, "llmx.cache.rerank", rerank)
    assert gate_stages.GATE == 0.5


CANDIDATES = [Candidate("a", "reset my modem password", 0.8),
              Candidate("b", "reset my router password", 0.7)]


def stages(choice: str, notes: list[str]) -> Stages:
    return Stages(choice, get=lambda ns, key: None, put=lambda ns, key, value: None,
                  note=notes.append)


def test_the_model_stage_rescores_the_gates_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_model_modules(monkeypatch, installed=True)
    notes: list[str] = []
    picker = stages("auto", notes)
    assert picker.gate(0.92) == 0.5
    NEARS.clear()
    assert picker.pick("reset the router password", CANDIDATES, 0.92) == [
        ("b", 0.95)]
    assert NEARS == [0.92]  # the lexical threshold still serves near-duplicates
    # a query the model does not see whole keeps the lexical rule (threshold 0.75 here)
    assert picker.pick("long reset router password", CANDIDATES, 0.75) == [
        ("a", 0.8)]
    assert notes == []


def test_without_the_model_the_lexical_rule_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_model_modules(monkeypatch, installed=False)
    notes: list[str] = []
    for choice in ("auto", "model", "lexical"):
        picker = stages(choice, notes)
        assert picker.pick("reset the router password", CANDIDATES, 0.75) == [
            ("a", 0.8)]
        assert picker.gate(0.92) == 0.92
    assert len(notes) == 1 and notes[0].startswith("semantic cache: lexical only")


def test_a_cleared_log_is_caught_up_once_not_on_every_query(tmp_path: Path) -> None:
    log, prompts = Log(), {}
    fill(log, prompts, "s", ["reset my router password"])
    gate = make_gate(tmp_path, log, prompts)
    gate.warm()
    log.rows, log.head = [], log.head + 3  # cleared: no row, the counter kept
    assert gate.candidates("s", "reset the router password") == []
    reads: list[int] = []
    since = log.vectors_since
    log.vectors_since = lambda embedder, seq: reads.append(seq) or since(embedder, seq)  # type: ignore[method-assign]
    assert gate.candidates("s", "reset the router password") == []
    assert reads == []  # the index knows it is at the log's head
    fill(log, prompts, "s", ["install docker on ubuntu"])
    assert [c.key for c in gate.candidates("s", "install docker on ubuntu 22")] == ["k1"]


def test_posting_lists_span_chunks_and_lose_removed_ids() -> None:
    import sqlite3

    from llmx.cache import gate_postings as postings

    db = sqlite3.connect(":memory:")
    for statement in postings.SCHEMA:
        db.execute(statement)
    first = list(range(1, postings.CHUNK + 3))
    postings.add(db, {7: first[:5]})
    postings.add(db, {7: first[5:], 8: [1]})
    assert list(postings.read(db, 7)) == first
    assert db.execute("SELECT chunks, tail FROM terms WHERE term = 7").fetchone() == (2, 2)
    postings.remove(db, [7, 8], 3)
    postings.remove(db, [7], first[-1])
    assert list(postings.read(db, 7)) == [i for i in first if i not in (3, first[-1])]
    postings.add(db, {7: [10_000, 10_001]})
    assert list(postings.read(db, 7))[-2:] == [10_000, 10_001]
    assert sorted(postings.frequencies(db, [7, 8, 9])) == [(7, len(first), 2), (8, 1, 1)]



def test_a_large_log_is_indexed_over_several_queries_a_bounded_share_each(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A log longer than one catch-up's share (an old cache met by the gate): each query
    indexes at most CATCH_UP_ROWS rows, and entries become candidates as it reaches them."""
    from llmx.cache import gate as gate_module

    monkeypatch.setattr(gate_module, "CATCH_UP_ROWS", 4)
    log, prompts = Log(), {}
    fill(log, prompts, "s", [f"tune the widget flux capacitor setting {n}" for n in range(10)])
    gate = make_gate(tmp_path, log, prompts)
    found = [len(gate.candidates("s", "tune the widget flux capacitor", limit=20, gate=0.3))
             for _ in range(4)]
    assert found == [4, 8, 10, 10], found


def test_candidates_the_veto_all_refuses_are_a_miss_without_the_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every candidate differs from the query by a number: whatever the model would say,
    the veto refuses each one, so the model is not even loaded."""
    fake_model_modules(monkeypatch, installed=True)
    picker = stages("auto", [])
    builds = len(FakeScorer.built)
    numbered = [Candidate("a", "what is new in release 3 build 1?", 0.9),
                Candidate("b", "what is new in release 3 build 2?", 0.9)]
    assert picker.pick("what is new in release 3 build 7?", numbered, 0.92) == []
    assert len(FakeScorer.built) == builds
