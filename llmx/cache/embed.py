"""Text embedders for the semantic cache tier.

* ``LexicalEmbedder`` — no network, numpy only. Text is normalised (NFKC, lower
  case, common English contractions expanded: "what's" -> "what is",
  "don't" -> "do not"), split into words, and three families of features are
  hashed into ``dims`` signed buckets (the normaliser is ``llmx.cache.words.words``,
  shared with the veto):

  - word unigrams (weight 1.0),
  - character 3-, 4- and 5-grams inside each word, with ``<`` and ``>``
    marking its ends (each of a word's n grams weighs ``1.0 / sqrt(n)``, so
    every word adds the same energy however long it is, and "generation" and
    "generate" share most of their features),
  - bigrams of consecutive content words (weight 0.5), which make swapping one
    content word cost more than adding or dropping a function word.

  Function words and politeness fillers ("the", "do", "can", "please", ...)
  keep a quarter of the weight of a content word (unigram and n-grams), so
  "How do I ..." / "How can I ..." / "... please" stay close.

  Repeated features count sublinearly (``1 + ln tf``). The bucket and the sign
  come from CRC-32 of the UTF-8 feature text, so vectors are identical across
  processes and machines (Python's salted ``hash()`` is never used). Rows are
  L2-normalised float32; a text with no word at all gives the zero vector,
  which matches nothing.

* ``ProviderEmbedder`` — vectors from the provider's embeddings endpoint through
  an injected async ``fetch``; every vector is cached through injected
  ``cache_get`` / ``cache_set`` callables keyed by embedder name + text hash,
  so a text is sent at most once; the missing ones of a batch go in one call.

Both are pure apart from what is injected (stdlib + numpy only).
"""

from __future__ import annotations

import base64
import hashlib
import math
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from itertools import pairwise
from typing import Any, Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from llmx.cache.gate_features import (
    BIGRAM_WEIGHT,
    CHARGRAM_SIZES,
    CHARGRAM_WEIGHT,
    STOPWORD_WEIGHT,
    STOPWORDS,
    UNIGRAM_WEIGHT,
)
from llmx.cache.words import words
from llmx.errors import ProviderError

Vectors = npt.NDArray[np.float32]

LEXICAL_VERSION: Final = 1
DEFAULT_LEXICAL_DIMS: Final = 256
DEFAULT_WORD_CACHE: Final = 50_000

# Per distinct word: buckets and signs of its unigram then its n-grams, sqrt(n), function word?
_WordFeatures = tuple[tuple[int, ...], tuple[float, ...], float, bool]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows; ``name`` identifies the vector space."""

    name: str  # stable id incl. version/dims/model: "lexical-v1-256"

    @property
    def dims(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def text_features(text: str) -> tuple[list[int], list[float]]:
    """The hashed features of one text: 32-bit CRCs and their weights.

    A distinct word seen ``c`` times has the factor ``tf = 1 + ln c`` (a quarter
    of that for a function word); it adds its unigram (weight ``tf``) and its
    character n-grams (``tf / sqrt(n)`` each, n = how many the word has). A
    distinct bigram of consecutive content words seen ``c`` times adds
    ``(1 + ln c) / 2``. N-grams are taken over the UTF-8 bytes of ``<word>``;
    unigrams carry a ``\x01`` prefix and bigrams a space, so no two families
    share a feature.
    """
    tokens = words(text)
    hashes: list[int] = []
    weights: list[float] = []
    for word, count in Counter(tokens).items():
        tf = 1.0 + math.log(count)
        if word in STOPWORDS:
            tf *= STOPWORD_WEIGHT
        data = word.encode("utf-8", "surrogatepass")
        hashes.append(zlib.crc32(b"\x01" + data))
        weights.append(tf * UNIGRAM_WEIGHT)
        grams = _gram_hashes(b"<" + data + b">")
        hashes.extend(grams)
        weights.extend([tf * CHARGRAM_WEIGHT / math.sqrt(len(grams))] * len(grams))
    content = [t for t in tokens if t not in STOPWORDS]
    for (first, second), count in Counter(pairwise(content)).items():
        hashes.append(zlib.crc32(f"{first} {second}".encode("utf-8", "surrogatepass")))
        weights.append(BIGRAM_WEIGHT * (1.0 + math.log(count)))
    return hashes, weights


def _gram_hashes(marked: bytes) -> list[int]:
    crc = zlib.crc32
    return [crc(marked[start : start + size])
            for size in CHARGRAM_SIZES for start in range(len(marked) - size + 1)]


class LexicalEmbedder:
    """Word + character n-gram feature hashing. See the module docstring.

    The buckets and signs of each distinct word's unigram + n-grams, and of each
    bigram, are remembered (up to ``word_cache`` entries each; a full cache is
    cleared), so a word seen before costs a dict lookup. The vectors are exactly
    those ``text_features`` describes.
    """

    def __init__(self, dims: int = DEFAULT_LEXICAL_DIMS, *,
                 word_cache: int = DEFAULT_WORD_CACHE) -> None:
        if dims < 8:
            raise ValueError(f"dims must be at least 8, got {dims}")
        self.dims = dims
        self.name = f"lexical-v{LEXICAL_VERSION}-{dims}"
        self._cache_size = word_cache
        self._words: dict[str, _WordFeatures] = {}
        self._bigrams: dict[tuple[str, str], tuple[int, float]] = {}

    def __repr__(self) -> str:
        return f"LexicalEmbedder(dims={self.dims})"

    def embed(self, texts: Sequence[str]) -> Vectors:
        """``(len(texts), dims)`` float32, rows L2-normalised (or all zero).

        The bucket of a feature is its CRC modulo ``dims``; its sign is the CRC's top bit.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        buckets: list[int] = []
        signs: list[float] = []
        weights: list[float] = []
        counts = [self._features(text, buckets, signs, weights) for text in texts]
        index = np.asarray(buckets, dtype=np.int64)
        if len(counts) > 1:
            index += np.repeat(np.arange(len(counts), dtype=np.int64) * self.dims, counts)
        signed = np.asarray(signs, dtype=np.float64) * np.asarray(weights, dtype=np.float64)
        flat = np.bincount(index, weights=signed, minlength=len(counts) * self.dims)
        return normalise_rows(flat.reshape(len(counts), self.dims))

    def _features(self, text: str, buckets: list[int], signs: list[float],
                  weights: list[float]) -> int:
        """Append the bucket, sign and weight of every feature of ``text`` (in
        ``text_features`` order); return how many were appended."""
        tokens = words(text)
        start = len(buckets)
        known = self._words
        for word, count in Counter(tokens).items():
            entry = known.get(word)
            if entry is None:
                entry = self._word_entry(word)
            word_buckets, word_signs, root, stop = entry
            tf = 1.0 + math.log(count)
            if stop:
                tf *= STOPWORD_WEIGHT
            buckets.extend(word_buckets)
            signs.extend(word_signs)
            weights.append(tf * UNIGRAM_WEIGHT)
            weights.extend([tf * CHARGRAM_WEIGHT / root] * (len(word_buckets) - 1))
        content = [t for t in tokens if t not in STOPWORDS]
        if len(content) > 1:
            pairs = self._bigrams
            for pair, count in Counter(pairwise(content)).items():
                bucket, sign = pairs.get(pair) or self._bigram_entry(pair)
                buckets.append(bucket)
                signs.append(sign)
                weights.append(BIGRAM_WEIGHT * (1.0 + math.log(count)))
        return len(buckets) - start

    def _word_entry(self, word: str) -> _WordFeatures:
        data = word.encode("utf-8", "surrogatepass")
        grams = _gram_hashes(b"<" + data + b">")
        crcs = [zlib.crc32(b"\x01" + data), *grams]
        entry = (tuple(crc % self.dims for crc in crcs), tuple(_sign(crc) for crc in crcs),
                 math.sqrt(len(grams)), word in STOPWORDS)
        if len(self._words) >= self._cache_size:
            self._words.clear()
        self._words[word] = entry
        return entry

    def _bigram_entry(self, pair: tuple[str, str]) -> tuple[int, float]:
        crc = zlib.crc32(f"{pair[0]} {pair[1]}".encode("utf-8", "surrogatepass"))
        entry = (crc % self.dims, _sign(crc))
        if len(self._bigrams) >= self._cache_size:
            self._bigrams.clear()
        self._bigrams[pair] = entry
        return entry


def _sign(crc: int) -> float:
    return 1.0 if crc & 0x8000_0000 else -1.0


def normalise_rows(matrix: npt.NDArray[Any]) -> Vectors:
    """float32 copy of ``matrix`` with unit-length rows; zero rows stay zero."""
    out = np.asarray(matrix, dtype=np.float32)
    if out.ndim != 2:
        raise ValueError(f"expected a 2-d array, got shape {out.shape}")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


Fetch = Callable[[Sequence[str]], Awaitable[list[list[float]]]]
CacheGet = Callable[[str], Any]
CacheSet = Callable[[str, Any], None]


class ProviderEmbedder:
    """Embeddings from a provider endpoint, each text's vector cached.

    ``fetch(texts)`` returns one vector per text, in order (the caller wires it
    to the HTTP engine). ``cache_get(key)`` / ``cache_set(key, value)`` keep
    vectors as base64 float32 strings under ``vector_key(text)``; a cached
    value that does not decode to ``dims`` floats is treated as missing.
    ``dims=None`` learns the size from the first response; after that every
    response must agree. Use ``aembed``; the synchronous ``embed`` raises.
    """

    def __init__(
        self,
        name: str,
        fetch: Fetch,
        *,
        cache_get: CacheGet,
        cache_set: CacheSet,
        dims: int | None = None,
    ) -> None:
        self.name = name
        self._fetch = fetch
        self._get = cache_get
        self._set = cache_set
        self._dims = dims

    def __repr__(self) -> str:
        return f"ProviderEmbedder(name={self.name!r}, dims={self._dims})"

    @property
    def dims(self) -> int:
        if self._dims is None:
            raise RuntimeError("dims unknown until the first aembed() (or pass dims=)")
        return self._dims

    def embed(self, texts: Sequence[str]) -> Vectors:
        raise NotImplementedError("ProviderEmbedder is async: await aembed(texts)")

    def vector_key(self, text: str) -> str:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.name}\x00{digest}"

    async def aembed(self, texts: Sequence[str]) -> Vectors:
        """``(len(texts), dims)`` float32 unit rows; uncached texts fetched in one call."""
        if isinstance(texts, str):
            raise TypeError("aembed() takes a sequence of texts, not one string")
        found: dict[str, Vectors] = {}
        for text in dict.fromkeys(texts):
            cached = self._decode(self._get(self.vector_key(text)))
            if cached is not None:
                found[text] = cached
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        if missing:
            fetched = self._check(await self._fetch(missing), len(missing))
            for text, row in zip(missing, fetched, strict=True):
                found[text] = row
                self._set(self.vector_key(text), _encode(row))
        if not texts:
            return np.zeros((0, self._dims or 0), dtype=np.float32)
        return np.stack([found[text] for text in texts])

    def _check(self, vectors: list[list[float]], expected: int) -> Vectors:
        if len(vectors) != expected:
            raise ProviderError(
                f"embeddings: asked for {expected} vectors, got {len(vectors)}")
        lengths = {len(v) for v in vectors}
        if len(lengths) != 1 or 0 in lengths:
            raise ProviderError("embeddings: vectors of unequal or zero length")
        (size,) = lengths
        if self._dims is None:
            self._dims = size
        elif size != self._dims:
            raise ProviderError(f"embeddings: expected {self._dims} dimensions, got {size}")
        matrix = np.asarray(vectors, dtype=np.float64)
        if not np.isfinite(matrix).all():
            raise ProviderError("embeddings: non-finite values in response")
        return normalise_rows(matrix)

    def _decode(self, value: object) -> Vectors | None:
        if not isinstance(value, str) or not value:
            return None
        try:
            raw = base64.b64decode(value.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError):
            return None
        if not raw or len(raw) % 4:
            return None
        row = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        if self._dims is None:
            self._dims = row.size
        if row.size != self._dims or not np.isfinite(row).all():
            return None
        return row


def _encode(row: Vectors) -> str:
    return base64.b64encode(row.astype("<f4").tobytes()).decode("ascii")
