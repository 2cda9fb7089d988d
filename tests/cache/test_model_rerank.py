"""Stage 2 without the model: choose() with injected scorers, ModelScorer with a fake model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from llmx.cache import model as model_module
from llmx.cache.candidates import Candidate
from llmx.cache.rerank import TOO_LONG, ModelScorer, choose, store_scorer
from llmx.cache.store import CacheStore

A = Candidate("a", "how do I enable 2fa", 0.9)
B = Candidate("b", "how do I turn on 2fa", 0.7)
C = Candidate("c", "how do I disable 2fa", 0.6)


def scores(**by_key: float | None):  # type: ignore[no-untyped-def]
    def scorer(query: str, found: Sequence[Candidate]) -> list[float | None]:
        return [by_key.get(c.key) for c in found]
    return scorer


def never(query: str, prompt: str) -> bool:
    return False


def test_the_best_model_score_wins_whatever_the_lexical_order() -> None:
    chosen = choose("q", [A, B], scores(a=0.91, b=0.97), threshold=0.9, margin=None, veto=never)
    assert chosen == (B, 0.97)


def test_nothing_below_the_threshold_is_served() -> None:
    assert choose("q", [A, B], scores(a=0.89, b=0.5), threshold=0.9, margin=None,
                  veto=never) is None
    assert choose("q", [], scores(), threshold=0.0, margin=None, veto=never) is None


def test_a_vetoed_best_candidate_is_a_miss_not_a_fall_through() -> None:
    def veto(query: str, prompt: str) -> bool:
        return "disable" in prompt
    assert choose("q", [C, A], scores(c=0.99, a=0.95), threshold=0.9, margin=None,
                  veto=veto) is None
    assert choose("q", [C, A], scores(c=0.99, a=0.95), threshold=0.9, margin=None,
                  veto=None) == (C, 0.99)


def test_margin_against_the_runner_up() -> None:
    close = scores(a=0.95, b=0.94)
    assert choose("q", [A, B], close, threshold=0.9, margin=0.02, veto=never) is None
    assert choose("q", [A, B], close, threshold=0.9, margin=0.01, veto=never) == (A, 0.95)
    assert choose("q", [A, B], close, threshold=0.9, margin=None, veto=never) == (A, 0.95)


def test_margin_ignores_vetoed_and_identical_runners_up() -> None:
    twin = Candidate("a2", A.prompt, 0.9)
    assert choose("q", [A, twin], scores(a=0.95, a2=0.95), threshold=0.9, margin=0.02,
                  veto=never) == (A, 0.95)

    def veto(query: str, prompt: str) -> bool:
        return prompt == C.prompt
    assert choose("q", [A, C, B], scores(a=0.95, c=0.945, b=0.90), threshold=0.9,
                  margin=0.02, veto=veto) == (A, 0.95)
    assert choose("q", [A, C, B], scores(a=0.95, c=0.945, b=0.94), threshold=0.9,
                  margin=0.02, veto=veto) is None


def test_unjudged_candidates_are_skipped_and_ties_go_to_the_lexical_best() -> None:
    assert choose("q", [A, B], scores(a=None, b=0.93), threshold=0.9, margin=None,
                  veto=never) == (B, 0.93)
    assert choose("q", [A, B], scores(), threshold=0.0, margin=None, veto=never) is None
    assert choose("q", [B, A], scores(a=0.93, b=0.93), threshold=0.9, margin=None,
                  veto=never) == (A, 0.93)


def test_a_scorer_that_loses_candidates_is_a_bug() -> None:
    with pytest.raises(ValueError, match="1 scores for 2"):
        choose("q", [A, B], lambda q, found: [0.9], threshold=0.9, margin=None, veto=never)


class FakeModel:
    """Vectors from a table; texts longer than ``window`` words are not seen whole."""

    name = "fake-model"
    dims = 4

    def __init__(self, table: dict[str, list[float]], window: int = 10) -> None:
        self.table = table
        self.window = window
        self.embedded: list[str] = []

    def sees_whole(self, text: str) -> bool:
        return len(text.split()) <= self.window

    def embed_checked(self, texts: Sequence[str]) -> tuple[np.ndarray, list[bool]]:
        self.embedded.extend(texts)
        rows = np.asarray([self.table.get(t, [0, 0, 0, 1]) for t in texts], dtype=np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        return rows, [self.sees_whole(t) for t in texts]


def fake_scorer(model: FakeModel, store: dict[str, object]) -> tuple[ModelScorer, list[int]]:
    loads: list[int] = []

    def load() -> FakeModel:
        loads.append(1)
        return model
    return ModelScorer(load, get=store.get, put=store.__setitem__), loads  # type: ignore[arg-type]


def test_the_scorer_loads_the_model_only_when_it_scores() -> None:
    scorer, loads = fake_scorer(FakeModel({}), {})
    assert scorer([A.prompt][0], []) == []
    assert not loads and not scorer.loaded


def test_entry_vectors_are_embedded_once_and_kept_in_the_store() -> None:
    table = {"q": [1, 0, 0, 0], A.prompt: [1, 0, 0, 0], B.prompt: [0, 1, 0, 0]}
    store: dict[str, object] = {}
    model = FakeModel(table)
    scorer, loads = fake_scorer(model, store)
    first = scorer("q", [A, B])
    assert first == pytest.approx([1.0, 0.0])
    assert model.embedded == ["q", A.prompt, B.prompt]
    assert set(store) == {"fake-model\x00a", "fake-model\x00b"}
    assert scorer("q", [A, B]) == first
    assert model.embedded[3:] == []  # the same query again: its row and the entries kept
    table["q2"] = [0, 1, 0, 0]
    assert scorer("q2", [A, B]) == pytest.approx([0.0, 1.0])
    assert model.embedded[3:] == ["q2"]  # the entries came from memory
    again_model = FakeModel(table)
    again, _ = fake_scorer(again_model, store)  # a new process: the store has them
    assert again("q", [B, A]) == pytest.approx([0.0, 1.0])
    assert again_model.embedded == ["q"]
    assert len(loads) == 1


def test_prompts_the_model_cannot_see_whole_are_not_judged() -> None:
    opening = " ".join(f"w{i}" for i in range(12))
    long_a = Candidate("la", opening + " then compare the results", 0.95)
    store: dict[str, object] = {}
    scorer, _ = fake_scorer(FakeModel({}), store)
    assert scorer(opening + " then sort the results", [long_a]) == [None]
    assert scorer("short query", [long_a, A]) == [None, pytest.approx(1.0)]
    assert store["fake-model\x00la"] == TOO_LONG
    assert choose("short query", [long_a], scorer, threshold=0.0, margin=None,
                  veto=never) is None


def test_a_damaged_stored_vector_is_embedded_again() -> None:
    store: dict[str, object] = {"fake-model\x00a": b"\x00\x01"}
    model = FakeModel({"q": [1, 0, 0, 0], A.prompt: [1, 0, 0, 0]})
    scorer, _ = fake_scorer(model, store)
    assert scorer("q", [A]) == pytest.approx([1.0])
    assert A.prompt in model.embedded


def test_auto_means_model_only_when_its_packages_are_installed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "missing_packages", lambda: [])
    assert model_module.resolve_embedder("auto") == ("model", None)
    monkeypatch.setattr(model_module, "missing_packages", lambda: ["onnxruntime"])
    effective, note = model_module.resolve_embedder("auto")
    assert effective == "lexical"
    assert note is not None and "\n" not in note and "llmx[model]" in note
    assert model_module.resolve_embedder("lexical") == ("lexical", None)
    assert model_module.resolve_embedder("model") == ("model", None)



def test_entry_vectors_survive_in_the_cache_store(tmp_path: Path) -> None:
    table = {"q": [1, 0, 0, 0], A.prompt: [0.6, 0.8, 0, 0]}
    models = [FakeModel(table), FakeModel(table)]
    for model in models:  # two processes, one after the other
        store = CacheStore(tmp_path, max_entries=10, max_bytes=1 << 20)
        try:
            scorer = store_scorer(store, lambda model=model: cast(Any, model))
            assert scorer("q", [A]) == pytest.approx([0.6])
            store.flush()
        finally:
            store.close()
    assert models[0].embedded == ["q", A.prompt]
    assert models[1].embedded == ["q"]


def test_a_lexical_near_duplicate_is_served_when_the_model_scores_it_lower() -> None:
    twin = Candidate("t", "what's the capital of france", 0.97)
    assert choose("q", [twin], scores(t=0.905), threshold=0.91, margin=0.02, veto=never,
                  near=0.95) == (twin, 0.97)  # the lexical score cleared it
    assert choose("q", [twin], scores(t=0.905), threshold=0.91, margin=0.02, veto=never,
                  near=None) is None
    assert choose("q", [twin], scores(t=0.905), threshold=0.91, margin=0.02, veto=never,
                  near=0.98) is None
    assert choose("q", [twin], scores(t=0.905), threshold=0.91, margin=0.02,
                  veto=lambda q, p: True, near=0.95) is None



def test_unjudged_candidates_are_never_served_not_even_as_near_duplicates() -> None:
    high = Candidate("h", "a long prompt, opening shared with the query", 0.99)
    assert choose("q", [high], scores(), threshold=0.0, margin=None, veto=never,
                  near=0.5) is None
