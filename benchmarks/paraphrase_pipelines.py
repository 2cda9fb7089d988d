"""The matching pipelines ``cache_paraphrase.py`` compares, over precomputed cosines.

Every pipeline sees a query as its row of cosines against the stored entries and returns
the entry it would serve, or None:

* ``single`` — today's semantic tier: the best 5 entries at or above the threshold, best
  first; the first one the veto lets through is served (a vetoed best falls through).
* ``two_stage`` — the issue's design: the lexical gate (cosine >= 0.5) proposes its best
  5, the model re-scores them, and ``llmx.cache.rerank.choose`` serves the best one only
  if it clears the threshold (or, with ``near``, is a lexical near-duplicate), the veto and
  (when set) the margin. Entries or queries the
  model does not see whole score None, exactly as ``ModelScorer`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from llmx.cache.candidates import Candidate
from llmx.cache.rerank import choose

Matrix = npt.NDArray[np.float32]
Veto = Callable[[str, str], bool]  # (query, stored prompt) -> vetoed?
GATE = 0.5
TOP = 5


class Scores(NamedTuple):
    """Cosines of every query with every entry, and whether the model saw each text whole."""

    cosines: Matrix                 # (queries, entries)
    query_whole: Sequence[bool]
    entry_whole: Sequence[bool]


def top(row: npt.NDArray[np.float32], floor: float, k: int = TOP) -> list[int]:
    """Indices of the ``k`` highest values >= ``floor``, best first (ties: lower index)."""
    above = np.flatnonzero(row >= floor)
    if above.size == 0:
        return []
    order = np.lexsort((above, -row[above]))[:k]
    return [int(i) for i in above[order]]


def single(query: int, text: str, cos: Matrix, prompts: Sequence[str], *, threshold: float,
           veto: Veto | None) -> int | None:
    for entry in top(cos[query], threshold):
        if veto is None or not veto(text, prompts[entry]):
            return entry
    return None


def two_stage(query: int, text: str, lexical: Matrix, model: Scores, prompts: Sequence[str], *,
              threshold: float, margin: float | None, veto: Veto,
              near: float | None = None) -> int | None:
    gate = top(lexical[query], GATE)
    if not gate:
        return None
    candidates = [Candidate(str(e), prompts[e], float(lexical[query, e])) for e in gate]

    def scorer(_: str, found: Sequence[Candidate]) -> list[float | None]:
        if not model.query_whole[query]:
            return [None] * len(found)
        return [float(model.cosines[query, int(c.key)]) if model.entry_whole[int(c.key)]
                else None for c in found]

    chosen = choose(text, candidates, scorer, threshold=threshold, margin=margin, veto=veto,
                    near=near)
    return None if chosen is None else int(chosen[0].key)
