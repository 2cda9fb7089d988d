"""What stage 1 of semantic matching hands to stage 2 (the contract between them).

``TieredCache.candidates(keys, limit=..., gate=...)`` returns ``Candidate``s:
entries of the query's scope whose lexical cosine with the query is at least the
gate, best first (highest ``lexical``; ties by key), at most ``limit``. ``key`` is
the response-store key of the entry, ``prompt`` the text that was embedded when
it was stored (what stage 2 re-scores), ``lexical`` that cosine in [gate, 1].

This module imports nothing heavy: it sits on the miss path.
"""

from __future__ import annotations

from typing import NamedTuple


class Candidate(NamedTuple):
    """One stored entry that passed the lexical gate. See the module docstring."""

    key: str
    prompt: str
    lexical: float
