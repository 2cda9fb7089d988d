"""The lexical vector in pure Python (no numpy), and the words the gate indexes.

``LexicalRows(dims).row(text)`` is the row ``LexicalEmbedder(dims).embed([text])[0]``
computes (``llmx.cache.embed``: the same features, buckets, signs, weights and summation
order), as a sparse ``{bucket: value}`` of float32 values, L2-normalised; it differs from
the numpy row by at most one float32 ulp per value (the norm is summed in float64 here).
``row_bytes`` packs a sparse row into the little-endian float32 bytes the vector log holds.

``terms(text)`` are what the gate's inverted index keys on: one term per distinct content
word (its first ``STEM`` letters, so "generate" and "generation" share a term; a text
made only of function words uses those), each with an upper bound of the share of the
text's squared norm that features touching that word can carry. A stored text that
shares no term with a query can reach the query's cosine only through hash collisions
and through n-grams shared across different words.

This module is on the miss path: stdlib only, nothing built at import.
"""

from __future__ import annotations

import math
import sys
import zlib
from array import array
from collections import Counter
from itertools import pairwise
from operator import mul
from typing import Final

from llmx.cache.words import words

STEM: Final = 6
# The lexical features' weights, declared once here (stdlib only) for both the embedder
# (``llmx.cache.embed``, numpy) and this twin.
UNIGRAM_WEIGHT: Final = 1.0
STOPWORD_WEIGHT: Final = 0.25
BIGRAM_WEIGHT: Final = 0.5
CHARGRAM_WEIGHT: Final = 1.0
CHARGRAM_SIZES: Final = (3, 4, 5)
_WORD_CACHE: Final = 50_000

# Function words and politeness fillers that carry little meaning for matching.
# Negations, numbers and question words are deliberately absent: they change what is asked.
STOPWORDS: Final = frozenset({
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "by", "with", "from", "as", "and",
    "or", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that",
    "these", "those", "do", "does", "did", "i", "you", "we", "my", "your", "our", "me", "us",
    "can", "could", "would", "should", "will", "shall", "may", "might",
    "please", "thanks", "thank", "hey", "hi", "hello", "kindly",
})

Sparse = dict[int, float]
# a word's buckets, signs, sqrt(n-grams), is-a-stopword, and its (bucket, value)s met once
_Word = tuple[tuple[int, ...], tuple[float, ...], float, bool, tuple[tuple[int, float], ...]]


class LexicalRows:
    """Pure-Python lexical rows of ``dims`` buckets. See the module docstring."""

    __slots__ = ("_pairs", "_words", "dims")

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self._words: dict[str, _Word] = {}
        self._pairs: dict[tuple[str, str], tuple[int, float]] = {}

    def row(self, text: str, tokens: list[str] | None = None) -> Sparse:
        """The unit-length (or empty) float32 row of ``text``, sparse."""
        tokens = words(text) if tokens is None else tokens
        sums: dict[int, float] = {}
        get = sums.get
        for word, count in Counter(tokens).items():
            buckets, signs, root, stop, once = self._words.get(word) or self._word(word)
            if count == 1:  # the usual case: the values were computed once for the word
                for bucket, value in once:
                    sums[bucket] = get(bucket, 0.0) + value
                continue
            tf = (1.0 + math.log(count)) * (STOPWORD_WEIGHT if stop else 1.0)
            gram, unigram = tf * CHARGRAM_WEIGHT / root, tf * UNIGRAM_WEIGHT
            for i, (bucket, sign) in enumerate(zip(buckets, signs, strict=True)):
                sums[bucket] = get(bucket, 0.0) + sign * (unigram if i == 0 else gram)
        content = [t for t in tokens if t not in STOPWORDS]
        for pair, count in Counter(pairwise(content)).items():
            bucket, sign = self._pairs.get(pair) or self._pair(pair)
            sums[bucket] = sums.get(bucket, 0.0) + sign * (BIGRAM_WEIGHT * (1.0 + math.log(count)))
        return _unit(sums)

    def _word(self, word: str) -> _Word:
        data = word.encode("utf-8", "surrogatepass")
        marked = b"<" + data + b">"
        grams = [zlib.crc32(marked[s : s + n])
                 for n in CHARGRAM_SIZES for s in range(len(marked) - n + 1)]
        crcs = [zlib.crc32(b"\x01" + data), *grams]
        buckets, signs = tuple(c % self.dims for c in crcs), tuple(_sign(c) for c in crcs)
        root, stop = math.sqrt(len(grams)), word in STOPWORDS
        tf = (1.0 + math.log(1)) * (STOPWORD_WEIGHT if stop else 1.0)  # a word met once
        gram, unigram = tf * CHARGRAM_WEIGHT / root, tf * UNIGRAM_WEIGHT
        once = tuple((bucket, sign * (unigram if i == 0 else gram))
                     for i, (bucket, sign) in enumerate(zip(buckets, signs, strict=True)))
        entry = (buckets, signs, root, stop, once)
        if len(self._words) >= _WORD_CACHE:
            self._words.clear()
        self._words[word] = entry
        return entry

    def _pair(self, pair: tuple[str, str]) -> tuple[int, float]:
        crc = zlib.crc32(f"{pair[0]} {pair[1]}".encode("utf-8", "surrogatepass"))
        if len(self._pairs) >= _WORD_CACHE:
            self._pairs.clear()
        entry = self._pairs[pair] = (crc % self.dims, _sign(crc))
        return entry


def _sign(crc: int) -> float:
    return 1.0 if crc & 0x8000_0000 else -1.0


def _unit(sums: Sparse) -> Sparse:
    """float32-round, then divide by the float32 norm (as ``normalise_rows`` does)."""
    keys = [b for b, v in sums.items() if v != 0.0]
    values = array("f", [sums[b] for b in keys]).tolist()
    norm = array("f", [math.sqrt(math.fsum(v * v for v in values))])[0]
    if norm == 0.0:
        return {}
    return dict(zip(keys, array("f", [v / norm for v in values]).tolist(), strict=True))


def row_bytes(row: Sparse, dims: int) -> bytes:
    """The dense little-endian float32 bytes of a sparse row."""
    dense = array("f", bytes(4 * dims))
    for bucket, value in row.items():
        dense[bucket] = value
    if sys.byteorder != "little":
        dense.byteswap()
    return dense.tobytes()


def row_of_bytes(blob: bytes) -> Sparse:
    """The sparse row of little-endian float32 bytes (the vector log's format)."""
    dense = array("f")
    dense.frombytes(blob)
    if sys.byteorder != "little":
        dense.byteswap()
    return {i: v for i, v in enumerate(dense.tolist()) if v != 0.0}


def pack(row: Sparse) -> bytes:
    """A sparse row (``dims`` <= 256) as bytes: its buckets (one byte each), then their
    little-endian float32 values."""
    values = array("f", row.values())
    if sys.byteorder != "little":
        values.byteswap()
    return bytes(row) + values.tobytes()


def dense(row: Sparse, dims: int) -> list[float]:
    out = [0.0] * dims
    for bucket, value in row.items():
        out[bucket] = value
    return out


def packed_dot(query: list[float], blob: bytes) -> float:
    """The dot product of a dense query row and a ``pack``ed row."""
    count = len(blob) // 5
    values = array("f")
    values.frombytes(blob[count:])
    if sys.byteorder != "little":
        values.byteswap()
    total: float = sum(map(mul, map(query.__getitem__, blob[:count]), values))
    return total


def dot(a: Sparse, b: Sparse) -> float:
    """The dot product of two sparse rows (their cosine when both are unit length)."""
    if len(a) > len(b):
        a, b = b, a
    get = b.get
    return sum(value * get(bucket, 0.0) for bucket, value in a.items())


def terms(text: str, tokens: list[str] | None = None) -> dict[str, float]:
    """``{term: share}``: the gate's terms of ``text`` and the most of its squared norm
    the features touching each term can carry (shares may add up to more than 1)."""
    tokens = words(text) if tokens is None else tokens
    counts = Counter(tokens)
    content = [t for t in tokens if t not in STOPWORDS]
    energy: dict[str, float] = {}
    for word, count in counts.items():
        tf = (1.0 + math.log(count)) * (STOPWORD_WEIGHT if word in STOPWORDS else 1.0)
        energy[word] = 2.0 * tf * tf  # the unigram (tf^2) plus its n-grams (n (tf/sqrt n)^2)
    for (first, second), count in Counter(pairwise(content)).items():
        share = (BIGRAM_WEIGHT * (1.0 + math.log(count))) ** 2
        energy[first] += share
        energy[second] += share
    total = sum(energy.values()) or 1.0
    indexed = set(content) or set(counts)
    out: dict[str, float] = {}
    for word in indexed:
        stem = word[:STEM]
        out[stem] = out.get(stem, 0.0) + energy[word] / total
    return out
