"""Deterministic text, token counts and embeddings for the simulator (pure).

* ``count_tokens`` splits text into words and single punctuation marks; it is
  cheap and consistent, not any provider's real tokenizer.
* ``answer_pieces`` produces an answer from a seed string: the same seed gives
  the same answer, and every piece is exactly one token under ``count_tokens``.
* ``embed`` hashes word unigrams and bigrams into a unit vector, so texts that
  share words have a high cosine similarity and the same text always maps to
  the same vector.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import zlib
from collections.abc import Iterable

_TOKEN = re.compile(r"\w+|[^\w\s]")

# fmt: off
_VOCABULARY = (
    "the", "a", "model", "answer", "token", "simple", "fast", "cache", "request", "reply",
    "stream", "quiet", "river", "stone", "light", "green", "north", "paper", "window", "signal",
    "number", "small", "large", "clear", "value", "system", "road", "field", "garden", "cloud",
    "bright", "little", "early", "later", "often", "every", "other", "second", "first", "final",
    "open", "closed", "warm", "cold", "short", "long", "even", "plain", "steady", "careful", "and",
    "or", "but", "so", "then", "with", "from", "into", "over", "under", "is", "was", "will", "can",
    "may", "should", "keeps", "makes", "finds", "brings", "sends", "reads", "writes", "holds",
    "moves", "turns", "grows", "meets", "waits", "runs", "of", "to", "in", "on", "for", "by", "at",
    "as", "this", "that", "idea", "place", "time", "word", "line", "page", "story", "point",
    "part", "way", "day", "night", "hand", "voice", "note", "list", "table", "key", "door", "path",
    "order", "level", "state", "shape", "color", "sound", "water", "forest", "bridge", "tower",
    "engine", "harbor", "record", "budget", "limit", "result", "choice", "method", "pattern",
    "detail",
)
# fmt: on

_MASK64 = (1 << 64) - 1


def count_tokens(text: str) -> int:
    """Number of words and punctuation marks in ``text``."""
    return len(_TOKEN.findall(text))


def count_all(texts: Iterable[str]) -> int:
    return sum(count_tokens(t) for t in texts)


def seed_of(*parts: str) -> int:
    """A stable 64-bit seed from strings (independent of PYTHONHASHSEED)."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return int.from_bytes(h.digest(), "little")


def answer_pieces(seed: int, length: int, count: int | None = None) -> list[str]:
    """The first ``count`` (default: all) of ``length`` one-token pieces that
    join into sentences.

    Words carry their leading space; punctuation has none. A whole answer
    ends with a full stop when it has room for one; a cut one (``count <
    length``) is a prefix of the whole one.
    """
    pieces: list[str] = []
    state = seed & _MASK64
    sentence_start = True
    words_in_clause = 0
    vocab = _VOCABULARY
    n_vocab = len(vocab)
    last = length - 1
    for i in range(length if count is None else min(count, length)):
        if i == last and words_in_clause > 0:
            pieces.append(".")
            break
        state = (state * 6364136223846793005 + 1442695040888963407) & _MASK64  # 64-bit LCG
        r = state >> 33
        if words_in_clause >= 3 and r % 7 == 0 and not sentence_start:
            mark = "." if r % 3 == 0 else ","
            pieces.append(mark)
            sentence_start = mark == "."
            words_in_clause = 0
            continue
        word = vocab[(r >> 4) % n_vocab]
        if sentence_start:
            word = word.capitalize()
        pieces.append(word if i == 0 else " " + word)
        sentence_start = False
        words_in_clause += 1
    return pieces


def _features(text: str) -> list[str]:
    words = [w.lower() for w in _TOKEN.findall(text)]
    feats = list(words)
    feats.extend(a + " " + b for a, b in itertools.pairwise(words))
    return feats


def embed(text: str, dims: int) -> list[float]:
    """A unit vector of ``dims`` floats that depends only on ``text``."""
    vec = [0.0] * dims
    for feat in _features(text):
        h = zlib.crc32(feat.encode("utf-8", "surrogatepass"))
        weight = 0.5 if " " in feat else 1.0
        vec[h % dims] += weight if (h >> 16) & 1 else -weight
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0.0:
        vec[0] = 1.0
        return vec
    return [v / norm for v in vec]


def prompt_key(text: str) -> str:
    """The key under which ``/sim/stats`` counts a prompt (its last user message)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
