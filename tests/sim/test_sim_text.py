"""The simulator's pure parts: tokens, answers, embeddings, options."""

from __future__ import annotations

import math

import pytest

from llmx.sim.common import ChatCall, make_answer
from llmx.sim.options import SimOptions
from llmx.sim.text import answer_pieces, count_tokens, embed, prompt_key, seed_of


def test_count_tokens_counts_words_and_punctuation() -> None:
    assert count_tokens("") == 0
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("  spaced   out  ") == 2
    assert count_tokens("naïve café") == 2


def test_answer_pieces_are_deterministic_and_one_token_each() -> None:
    seed = seed_of("sim-1", "Tell me about rivers")
    pieces = answer_pieces(seed, 50)
    assert pieces == answer_pieces(seed, 50)
    assert len(pieces) == 50
    assert all(count_tokens(p) == 1 for p in pieces)
    assert count_tokens("".join(pieces)) == 50
    assert pieces != answer_pieces(seed_of("sim-1", "Tell me about roads"), 50)


def test_answer_reads_as_sentences() -> None:
    text = "".join(answer_pieces(seed_of("m", "x"), 40))
    assert text[0].isupper()
    assert text.endswith(".")
    assert "  " not in text


def test_make_answer_truncates_to_max_tokens_as_a_prefix() -> None:
    full = make_answer(ChatCall("m", ("hi there",), "hi there", None, False), 30)
    short = make_answer(ChatCall("m", ("hi there",), "hi there", 7, False), 30)
    roomy = make_answer(ChatCall("m", ("hi there",), "hi there", 500, False), 30)
    assert (full.output_tokens, full.truncated) == (30, False)
    assert (short.output_tokens, short.truncated) == (7, True)
    assert short.pieces == full.pieces[:7]
    assert roomy.pieces == full.pieces and not roomy.truncated
    assert full.input_tokens == 2


def test_answer_depends_on_model_and_every_text() -> None:
    base = make_answer(ChatCall("m", ("sys", "q"), "q", None, False), 20).text
    assert make_answer(ChatCall("n", ("sys", "q"), "q", None, False), 20).text != base
    assert make_answer(ChatCall("m", ("other", "q"), "q", None, False), 20).text != base


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_embeddings_are_unit_vectors_and_similar_texts_are_closer() -> None:
    a = embed("How do I reset my password?", 256)
    b = embed("How can I reset my password", 256)
    c = embed("The weather in Paris is sunny today", 256)
    assert len(a) == 256
    assert math.isclose(_cos(a, a), 1.0, rel_tol=1e-9)
    assert embed("How do I reset my password?", 256) == a
    assert _cos(a, b) > 0.6 > _cos(a, c)
    assert math.isclose(sum(v * v for v in embed("", 8)), 1.0)


def test_prompt_key_is_stable_and_short() -> None:
    assert prompt_key("hello") == prompt_key("hello")
    assert prompt_key("hello") != prompt_key("hello!")
    assert len(prompt_key("x")) == 16


@pytest.mark.parametrize(
    "bad",
    [
        {"fail_rate": 1.5},
        {"jitter": -0.1},
        {"latency_ms": -1.0},
        {"port": 70000},
        {"max_tokens_default": 0},
        {"tokens_per_s": float("nan")},
    ],
)
def test_options_reject_out_of_range_values(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SimOptions(**bad)  # type: ignore[arg-type]


def test_a_cut_answer_is_a_prefix_of_the_whole_one() -> None:
    seed = seed_of("m", "prefix")
    whole = answer_pieces(seed, 40)
    for count in (0, 1, 5, 39, 40, 100):
        assert answer_pieces(seed, 40, count) == whole[:count]
