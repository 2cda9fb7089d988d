"""The real model (all-MiniLM-L6-v2 int8): batch-independence, long prompts, the probes.

Skipped, with the reason, when ``llmx[model]`` is not installed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from llmx.cache.candidates import Candidate
from llmx.cache.embed import LexicalEmbedder
from llmx.cache.model import ModelEmbedder, load_model, unavailable_reason
from llmx.cache.rerank import (
    DEFAULT_MARGIN,
    DEFAULT_NEAR,
    DEFAULT_THRESHOLD,
    ModelScorer,
    choose,
)
from llmx.cache.veto import vetoed

_REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")
GATE = 0.5
SHORT = "How do I reverse a list in Python?"
LONGER = ("Explain in detail the difference between processes and threads in operating "
          "systems, with an example in C and another one in Java, and say when to use which")


@pytest.fixture(scope="module")
def model() -> ModelEmbedder:
    """One model on one session for the module (vectors compared across calls stay equal)."""
    loaded = load_model()
    loaded.optimise()
    return loaded


def probes() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "paraphrase_probes.py"
    spec = importlib.util.spec_from_file_location("paraphrase_probes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("paraphrase_probes", module)
    spec.loader.exec_module(module)
    return module


def test_rows_are_unit_length_384_and_deterministic(model: ModelEmbedder) -> None:
    first = model.embed([SHORT, LONGER, ""])
    assert first.shape == (3, 384) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, model.embed([SHORT, LONGER, ""]))


def test_a_text_alone_equals_the_same_text_in_a_batch_with_a_longer_one(
        model: ModelEmbedder) -> None:
    alone = model.embed([SHORT])[0]
    padded = model.embed([SHORT, LONGER])[0]
    assert np.allclose(alone, padded, atol=1e-6)
    reversed_order = model.embed([LONGER, SHORT])[1]
    assert np.allclose(alone, reversed_order, atol=1e-6)


def test_pads_counted_in_the_mean_would_skew_the_vector(model: ModelEmbedder) -> None:
    """The mask is what keeps the batch test above true: pooling pads moves the vector."""
    session = model._session  # the check needs the raw output
    ids = np.asarray([[101, *range(2000, 2008), 102] + [0] * 40], dtype=np.int64)
    mask = np.zeros_like(ids)
    mask[0, :10] = 1
    (hidden,) = session.run(["last_hidden_state"], {
        "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    honest = hidden[0, :10].mean(axis=0)
    skewed = hidden[0].mean(axis=0)
    cosine = honest @ skewed / np.linalg.norm(honest) / np.linalg.norm(skewed)
    assert cosine < 0.99


def test_paraphrases_score_high_and_different_questions_low(model: ModelEmbedder) -> None:
    rows = model.embed([SHORT, "Reversing a list in python",
                        "What is the capital of France?"])
    assert rows[0] @ rows[1] >= DEFAULT_THRESHOLD
    assert rows[0] @ rows[2] < 0.5


def test_long_prompts_with_the_same_opening_never_match(model: ModelEmbedder) -> None:
    opening = " ".join(["Here is a long log excerpt from the deploy of service alpha:"] * 20)
    first, second = opening + " Why did it fail?", opening + " Summarise what went well."
    assert not model.sees_whole(first) and model.sees_whole(SHORT)
    vectors = model.embed([first, second])
    assert vectors[0] @ vectors[1] > 0.99  # the model alone cannot tell them apart
    store: dict[str, object] = {}
    scorer = ModelScorer(lambda: model, get=store.get, put=store.__setitem__)
    candidate = Candidate("k", first, 0.99)
    assert scorer(second, [candidate]) == [None]
    lexical = LexicalEmbedder().embed([first, second])
    assert lexical[0] @ lexical[1] >= DEFAULT_NEAR  # the lexical tier alone would serve it
    assert choose(second, [candidate], scorer, threshold=0.0, margin=None, veto=vetoed,
                  near=DEFAULT_NEAR) is None


def test_a_huge_prompt_costs_what_a_short_one_does(model: ModelEmbedder) -> None:
    huge = "word " * 400_000  # 2 MB
    assert not model.sees_whole(huge)
    vectors, whole = model.embed_checked([huge, SHORT])
    assert whole == [False, True]
    assert np.array_equal(vectors[0], model.embed(["word " * 200])[0])  # the same head


def serve(scorer: ModelScorer, lexical: LexicalEmbedder, stored: str, query: str) -> bool:
    """The two-stage pipeline on one stored prompt with the default threshold and margin."""
    vectors = lexical.embed([stored, query])
    cosine = float(vectors[0] @ vectors[1])
    if cosine < GATE:
        return False
    return choose(query, [Candidate(stored, stored, cosine)], scorer, threshold=DEFAULT_THRESHOLD,
                  margin=DEFAULT_MARGIN, veto=vetoed, near=DEFAULT_NEAR) is not None


def test_no_probe_pair_is_served_either_way(model: ModelEmbedder) -> None:
    table = probes()
    assert len(table.PROBES) >= 40
    lexical = LexicalEmbedder()
    served = []
    for kind, first, second in table.PROBES:
        for stored, query in ((first, second), (second, first)):
            scorer = ModelScorer(lambda: model, get=dict().get, put=lambda k, v: None)
            if serve(scorer, lexical, stored, query):
                served.append((kind, stored, query))
    assert served == []
    scorer = ModelScorer(lambda: model, get=dict().get, put=lambda k, v: None)
    assert not serve(scorer, lexical, "How do I enable 2FA on GitHub?",
                     "How do I disable 2FA on GitHub?")
    assert not serve(scorer, lexical, "What are the top 5 Python web frameworks?",
                     "What are the top 10 Python web frameworks?")


def test_most_same_answer_rewrites_are_served(model: ModelEmbedder) -> None:
    table = probes()
    lexical = LexicalEmbedder()
    scorer = ModelScorer(lambda: model, get=dict().get, put=lambda k, v: None)
    served = sum(serve(scorer, lexical, stored, query) for stored, query in table.SAME)
    assert served >= len(table.SAME) * 6 // 10


def test_the_quick_session_gives_way_to_the_optimised_one_with_the_same_vectors() -> None:
    """A process starts on the unoptimised session (cheap to build: one ask's one query)
    and moves to the optimised one after SWITCH_AFTER texts; the vectors do not change."""
    from llmx.cache import model as model_module

    fresh = model_module.load_model()
    texts = ["how many moons does mars have", "reset my router password"]
    quick_session = fresh._session
    before = fresh.embed(texts)
    assert fresh._session is quick_session
    for _ in range(model_module.SWITCH_AFTER // len(texts)):
        fresh.embed(texts)
    fresh.settle()  # the optimised session is built in a thread
    assert fresh._session is not quick_session
    after = fresh.embed(texts)
    assert float(np.abs(before - after).max()) < 1e-5
