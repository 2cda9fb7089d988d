"""Words of a prompt for the semantic tier: NFKC, lower case, straight apostrophes, English
contractions expanded, then words and numbers. Shared by the veto, the lexical embedder
and the gate; on the miss path, so standard library only and small."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_APOSTROPHES: Final = re.compile("[\u2018\u2019\u02bc\u0060\u00b4]")
_IS_CONTRACTION: Final = re.compile(
    r"\b(what|where|who|how|when|why|it|that|there|here|he|she|this|which)'s\b"
)
_REWRITES: Final = (
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"\blet's\b"), "let us"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'d\b"), " would"),
    (re.compile(r"'s\b"), ""),  # possessive: the "is" forms were expanded first
)
WORD: Final = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")


def normalise(text: str) -> str:
    """NFKC, lower case, straight apostrophes, English contractions expanded
    ("what's" -> "what is", "don't" -> "do not", possessive "'s" dropped)."""
    out = unicodedata.normalize("NFKC", text).lower()
    out = _APOSTROPHES.sub("'", out)
    out = _IS_CONTRACTION.sub(r"\1 is", out)
    for pattern, replacement in _REWRITES:
        out = pattern.sub(replacement, out)
    return out


def words(text: str) -> list[str]:
    """Words and numbers of ``normalise(text)``; digits are split from letters
    ("python3" -> "python", "3") and numbers keep inner dots/commas ("3.11")."""
    return WORD.findall(normalise(text))
