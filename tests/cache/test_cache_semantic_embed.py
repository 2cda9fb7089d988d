"""Embedders: the lexical feature hasher and the cached provider embedder."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llmx.cache.embed import (
    Embedder,
    LexicalEmbedder,
    ProviderEmbedder,
    normalise_rows,
    text_features,
)
from llmx.errors import ProviderError

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    "What is the capital of France?",
    "How do I enable 2FA on GitHub?",
    "Übergrößenträger — naïve café, 東京の天気は\uff1f",
    "",
    "a a a a a",
]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_shape_dtype_and_unit_rows() -> None:
    vectors = LexicalEmbedder().embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 256)
    assert vectors.dtype == np.float32
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms[[0, 1, 2, 4]], 1.0, atol=1e-5)
    assert norms[3] == 0.0  # no words: the zero vector, which matches nothing


def test_name_carries_version_and_dims() -> None:
    small = LexicalEmbedder(64)
    assert small.name == "lexical-v1-64"
    assert small.embed(["hello"]).shape == (1, 64)
    assert LexicalEmbedder().name == "lexical-v1-256"
    assert isinstance(small, Embedder)
    with pytest.raises(ValueError):
        LexicalEmbedder(4)


def test_a_batch_equals_one_text_at_a_time() -> None:
    embedder = LexicalEmbedder()
    batch = embedder.embed(TEXTS)
    single = np.stack([embedder.embed([text])[0] for text in TEXTS])
    np.testing.assert_allclose(batch, single, rtol=0, atol=1e-7)
    assert embedder.embed([]).shape == (0, 256)


def test_one_string_is_refused() -> None:
    with pytest.raises(TypeError):
        LexicalEmbedder().embed("a string is a sequence of letters")


def test_vectors_are_identical_in_another_process_with_another_hash_seed() -> None:
    code = (
        "import json, sys\n"
        "from llmx.cache.embed import LexicalEmbedder\n"
        "texts = json.loads(sys.argv[1])\n"
        "print(LexicalEmbedder().embed(texts).tobytes().hex())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code, json.dumps(TEXTS)], env=env, cwd=REPO,
                         capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == LexicalEmbedder().embed(TEXTS).tobytes().hex()


@pytest.mark.parametrize(("left", "right"), [
    ("What is the capital of France?", "what's the capital of France"),
    ("I don't know", "I do not know"),
    ("You can't do that!", "you cannot do that"),
    ("It\u2019s RAINING", "it is raining."),
    ("python3", "Python 3"),
])
def test_normalisation_makes_surface_variants_identical(left: str, right: str) -> None:
    a, b = LexicalEmbedder().embed([left, right])
    assert cosine(a, b) > 0.9999


def test_shared_words_and_word_pieces_bring_texts_closer() -> None:
    a, para, stem, other = LexicalEmbedder().embed([
        "How do I reverse a list in Python?",
        "How can I reverse a list in python",
        "reversing lists in python",
        "Best hiking trails near Denver",
    ])
    assert cosine(a, para) > cosine(a, stem) > cosine(a, other)
    assert abs(cosine(a, other)) < 0.3


def test_repeated_words_count_sublinearly() -> None:
    hashes, weights = text_features("spam spam spam spam")
    once_hashes, once_weights = text_features("spam")
    unigram = once_hashes[0]
    assert unigram in hashes
    ratio = weights[hashes.index(unigram)] / once_weights[0]
    assert 1.0 < ratio < 4.0  # 1 + ln 4, not 4


# -- provider embedder ---------------------------------------------------------------


class FakeEndpoint:
    """Stands in for the HTTP call: records what was asked, answers fixed vectors."""

    def __init__(self, dims: int = 3, count_delta: int = 0, bad: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.dims = dims
        self.count_delta = count_delta
        self.bad = bad

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        rows = [[float(len(t) + 1), 2.0, *([0.0] * (self.dims - 2))] for t in texts]
        if self.bad:
            rows[0][0] = float("nan")
        return rows[: len(rows) + self.count_delta] if self.count_delta < 0 else rows


def provider(endpoint: FakeEndpoint, store: dict[str, Any],
             name: str = "provider:openai:m") -> ProviderEmbedder:
    return ProviderEmbedder(name, endpoint, cache_get=store.get, cache_set=store.__setitem__)


def test_provider_fetches_only_missing_texts_in_one_call_and_caches_them() -> None:
    endpoint, store = FakeEndpoint(), dict[str, Any]()
    embedder = provider(endpoint, store)
    first = asyncio.run(embedder.aembed(["a", "bb", "a"]))
    assert endpoint.calls == [["a", "bb"]]  # duplicates sent once
    assert first.shape == (3, 3) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0)
    np.testing.assert_array_equal(first[0], first[2])
    assert embedder.dims == 3

    second = asyncio.run(embedder.aembed(["bb", "ccc", "a"]))
    assert endpoint.calls == [["a", "bb"], ["ccc"]]
    np.testing.assert_allclose(second[0], first[1])
    np.testing.assert_allclose(second[2], first[0])

    fresh = provider(FakeEndpoint(), store)  # another process sharing the same cache
    asyncio.run(fresh.aembed(["a", "bb", "ccc"]))
    assert fresh.dims == 3


def test_provider_cache_keys_depend_on_the_model_and_text() -> None:
    endpoint, store = FakeEndpoint(), dict[str, Any]()
    asyncio.run(provider(endpoint, store, "provider:openai:m1").aembed(["x"]))
    asyncio.run(provider(endpoint, store, "provider:openai:m2").aembed(["x"]))
    assert len(endpoint.calls) == 2 and len(store) == 2
    assert all("x" not in key.split("\x00")[1] for key in store)  # text is hashed


def test_a_damaged_cached_vector_is_fetched_again() -> None:
    endpoint, store = FakeEndpoint(), dict[str, Any]()
    embedder = provider(endpoint, store)
    asyncio.run(embedder.aembed(["a"]))
    (key,) = store
    for damage in ("not base64!", "", 42, "AAAA"):  # "AAAA" decodes to 3 bytes: not floats
        store[key] = damage
        asyncio.run(embedder.aembed(["a"]))
    assert len(endpoint.calls) == 5


def test_provider_rejects_bad_responses() -> None:
    with pytest.raises(ProviderError):
        asyncio.run(provider(FakeEndpoint(count_delta=-1), {}).aembed(["a", "b"]))
    with pytest.raises(ProviderError):
        asyncio.run(provider(FakeEndpoint(bad=True), {}).aembed(["a"]))
    embedder = ProviderEmbedder("p", FakeEndpoint(dims=4), cache_get=lambda k: None,
                                cache_set=lambda k, v: None, dims=3)
    with pytest.raises(ProviderError):
        asyncio.run(embedder.aembed(["a"]))


def test_provider_is_async_only_and_knows_dims_after_first_use() -> None:
    embedder = provider(FakeEndpoint(), {})
    with pytest.raises(NotImplementedError):
        embedder.embed(["a"])
    with pytest.raises(RuntimeError):
        _ = embedder.dims
    assert asyncio.run(embedder.aembed([])).shape == (0, 0)


# -- the per-word feature cache gives exactly the uncached vectors ------------------


def reference_embed(texts: Sequence[str], dims: int) -> np.ndarray:
    """Vectors straight from ``text_features`` (no cache): bucket = CRC mod dims, sign = top bit."""
    sums = np.zeros((len(texts), dims), dtype=np.float64)
    for row, text in enumerate(texts):
        hashes, weights = text_features(text)
        crc = np.asarray(hashes, dtype=np.int64)
        signed = np.where(crc & 0x8000_0000, 1.0, -1.0) * np.asarray(weights, dtype=np.float64)
        sums[row] = np.bincount(crc % dims, weights=signed, minlength=dims)
    return normalise_rows(sums)


HAND_WRITTEN = [
    *TEXTS,
    "the the the cat sat on the mat, the cat sat on the mat again",
    "Please, could you kindly explain what's wrong with my code? Thanks!",
    "python3 vs Python 3.11: what changed in 3.11 and 3.12?",
    "reverse reverse list list reverse list",
    "x",
    "  \n\t ",
]


def awesome_prompts(shared_data: Path) -> list[str]:
    path = shared_data / "prompts" / "awesome_chatgpt_prompts.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["prompt"] for row in csv.DictReader(handle)]


@pytest.mark.parametrize("dims", [256, 64])
def test_cached_features_are_bit_identical_on_hand_written_texts(dims: int) -> None:
    expected = reference_embed(HAND_WRITTEN, dims)
    embedder = LexicalEmbedder(dims)
    cold = np.stack([embedder.embed([text])[0] for text in HAND_WRITTEN])
    warm = embedder.embed(HAND_WRITTEN)  # every word now cached
    assert cold.tobytes() == expected.tobytes()
    assert warm.tobytes() == expected.tobytes()


def test_a_tiny_word_cache_that_keeps_clearing_changes_nothing() -> None:
    expected = reference_embed(HAND_WRITTEN, 256)
    embedder = LexicalEmbedder(word_cache=2)
    for _ in range(2):
        assert embedder.embed(HAND_WRITTEN).tobytes() == expected.tobytes()
    assert len(embedder._words) <= 2 and len(embedder._bigrams) <= 2


def test_cached_features_are_bit_identical_on_real_prompts(shared_data: Path) -> None:
    prompts = awesome_prompts(shared_data)
    assert len(prompts) >= 200
    expected = reference_embed(prompts, 256)
    embedder = LexicalEmbedder()
    batch = embedder.embed(prompts)
    single = np.stack([embedder.embed([text])[0] for text in prompts])
    assert batch.tobytes() == expected.tobytes()
    assert single.tobytes() == expected.tobytes()
