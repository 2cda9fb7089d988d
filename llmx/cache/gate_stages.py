"""The semantic tier's glue: stage 1 (the lexical gate) then, for ``cache.embedder =
"model"`` / ``"auto"`` with the model installed, stage 2 (``llmx.cache.rerank.choose``).

``Stages.pick(query, candidates, threshold)`` returns ``(key, similarity)`` pairs to try in
order, for ``TieredCache.semantic``:

* ``lexical`` (also ``auto`` without the model): today's single-stage rule — every
  candidate at or above the lexical ``threshold`` that the veto lets through, best first
  (the caller serves the first whose entry is still stored);
* ``model``: the candidates of the lexical gate (cosine >= ``GATE``) re-scored by the
  model; at most one is returned, only if it clears the model's threshold (or is a lexical
  near-duplicate at ``threshold``, which the model may score just under its own line: case,
  punctuation), the veto and the margin (``rerank.DEFAULT_THRESHOLD`` / ``DEFAULT_MARGIN``);
  a query the model does not see whole keeps the lexical rule. The model loads on the first
  query that has candidates the veto does not all refuse (when it refuses every one, the
  answer is a miss whatever the model says), never on a write.

``llmx.cache.rerank`` and ``llmx.cache.model`` are imported only when the model stage
runs; when they are absent (or the model cannot load) the lexical rule answers and
``note`` says so once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, Final

from llmx.cache.candidates import Candidate

GATE: Final = 0.5  # stage 1's lexical cosine for the model stage (issue 11)
LIMIT: Final = 5
MODEL_VECTORS: Final = "model-vectors"  # the store's aux namespace for entry vectors

Get = Callable[[str, str], Any]
Put = Callable[[str, str, bytes], None]


class Stages:
    """The stages one cache runs. See the module docstring."""

    __slots__ = ("_choice", "_failed", "_get", "_note", "_put", "_rerank", "_scorer",
                 "_unavailable")

    def __init__(self, choice: str, *, get: Get, put: Put,
                 note: Callable[[str], None] | None = None) -> None:
        self._choice = choice
        self._get, self._put, self._note = get, put, note
        self._scorer: Any = None
        self._rerank: Any = None
        self._unavailable: type[Exception] = ImportError
        self._failed = choice == "lexical" or choice == "provider"

    def gate(self, threshold: float) -> float:
        """The lexical cosine stage 1 needs: ``GATE`` with a model stage, else
        ``threshold`` itself."""
        return threshold if self._failed else min(GATE, threshold)

    def pick(self, query: str, candidates: Sequence[Candidate],
             threshold: float) -> list[tuple[str, float]]:
        if not candidates:  # the common miss: nothing to judge, and no veto to import
            return []
        from llmx.cache.veto import vetoed

        if all(vetoed(query, c.prompt) for c in candidates):
            return []  # whatever the model said, each candidate would be refused: no model
        if not self._failed and self._ready():
            try:
                if self._scorer.judges(query):
                    return self._two_stage(query, candidates, threshold)
            except self._unavailable as exc:  # the model's files are missing or altered
                self._give_up(str(exc))
        return [(c.key, c.lexical) for c in candidates
                if c.lexical >= threshold and not vetoed(query, c.prompt)]

    def _two_stage(self, query: str, candidates: Sequence[Candidate],
                   near: float) -> list[tuple[str, float]]:
        from llmx.cache.veto import vetoed

        rerank = self._rerank
        chosen = rerank.choose(query, candidates, self._scorer,
                               threshold=rerank.DEFAULT_THRESHOLD,
                               margin=rerank.DEFAULT_MARGIN, veto=vetoed, near=near)
        return [] if chosen is None else [(chosen[0].key, float(chosen[1]))]

    def _ready(self) -> bool:
        """The scorer, built once; False (and one note) when the model stage is absent."""
        if self._scorer is not None:
            return True
        try:
            model = importlib.import_module("llmx.cache.model")
            choice, reason = model.resolve_embedder(self._choice)
            if choice != "model":
                raise ImportError(reason or "the model embedder is not installed")
            self._unavailable = model.ModelUnavailable
            self._rerank = importlib.import_module("llmx.cache.rerank")
            get, put = self._get, self._put
            self._scorer = self._rerank.ModelScorer(
                model.load_model, get=lambda key: get(MODEL_VECTORS, key),
                put=lambda key, value: put(MODEL_VECTORS, key, value))
        except ImportError as exc:
            self._give_up(str(exc))
            return False
        return True

    def _give_up(self, reason: str) -> None:
        self._failed = True
        if self._note is not None and self._choice == "model":
            self._note(f"semantic cache: lexical only ({reason})")
