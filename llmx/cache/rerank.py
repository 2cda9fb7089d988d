"""Stage 2 of semantic matching: re-score the lexical gate's candidates, serve one or none.

``choose(query, candidates, scorer, threshold=, margin=, veto=)`` asks ``scorer`` for one
score per candidate (``None``: the scorer cannot judge that pair) and serves the best
judged candidate only when all of these hold:

* its score is at least ``threshold`` — or, with ``near`` set, its lexical score is at
  least ``near`` (a near-duplicate the lexical tier alone would serve: the model scores
  some case and contraction rewrites just under the threshold);
* ``veto(query, prompt)`` is false for it — a vetoed best candidate is a miss: the next
  one is never tried (it is almost always a different question);
* with ``margin`` set, it beats every other judged candidate the veto lets through (and
  whose prompt is not the same text) by at least ``margin``.

The score returned is the one that cleared the line: the model's, or, for a near-duplicate
the model put under ``threshold``, the lexical one. Ties go to the higher lexical score,
then to the earlier candidate. A candidate the scorer
does not judge is never served, not even by ``near``: when the query is longer than the
model sees, it is a miss (only the exact tier answers it), because two long prompts that
share a long opening are also close lexically ("<the same 200 lines of code> why does it
fail?" / "... add tests for it"). ``choose`` itself is pure: the model work is the scorer's.

``ModelScorer`` is the scorer for ``ModelEmbedder`` (``llmx.cache.model``). It loads the
model on its first call that has candidates (so building one, and writing answers, never
does), embeds the query and the candidates whose vectors it does not have in one batch,
and keeps each stored entry's vector under ``embedder name + entry key`` through injected
``get``/``put`` callables (the response store's aux values) and a bounded in-process
memory. It judges only prompts the model sees whole (``sees_whole``): a query or entry
longer than the model's window scores ``None``, so two long prompts that share their first
128 tokens never match; ``judges(query)`` tells the caller in advance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from llmx.cache.candidates import Candidate

if TYPE_CHECKING:
    from llmx.cache.model import ModelEmbedder

Scorer = Callable[[str, Sequence[Candidate]], Sequence[float | None]]
Veto = Callable[[str, str], bool]

# The defaults, from benchmarks/cache_paraphrase.py (GPTCache pairs, veto on): at 0.91 with
# the 0.02 margin, 57.8 % of matched queries are served their own entry and 1.4 % of all
# queries get a wrong one, 0 of 96 probes; at 0.90, 62.7 % / 2.3 %. The higher one is kept
# because a held-back human-labelled set allows 2 % false hits, and the margin because it
# removes most wrong-entry hits (1.1 % -> 0.2 % at 0.90) for a 2.7-point loss of hits.
DEFAULT_THRESHOLD: Final = 0.91
DEFAULT_MARGIN: Final = 0.02
DEFAULT_NEAR: Final = 0.92  # the lexical tier's own threshold: 0 false hits there
MODEL_VECTORS: Final = "model-vectors"  # the aux namespace of entry vectors
MEMORY_LIMIT: Final = 20_000  # entry vectors kept in process (1.5 KiB each)
TOO_LONG: Final = b""  # stored for an entry the model does not see whole


def choose(query: str, candidates: Sequence[Candidate], scorer: Scorer, *, threshold: float,
           margin: float | None, veto: Veto | None,
           near: float | None = None) -> tuple[Candidate, float] | None:
    """The candidate to serve and its score, or None. See the module docstring."""
    if not candidates:
        return None
    scores = list(scorer(query, candidates))
    if len(scores) != len(candidates):
        raise ValueError(f"scorer gave {len(scores)} scores for {len(candidates)} candidates")
    ranked = sorted(((score, -candidates[i].lexical, i) for i, score in enumerate(scores)
                     if score is not None), key=lambda item: (-item[0], item[1], item[2]))
    if not ranked:
        return None
    best_score, _, best_index = ranked[0]
    best = candidates[best_index]
    clears = best_score >= threshold or (near is not None and best.lexical >= near)
    if not clears or (veto is not None and veto(query, best.prompt)):
        return None
    if margin is not None:
        runners_up = [(score, candidates[index]) for score, _, index in ranked[1:]]
        if not _clear_lead(query, best, best_score, runners_up, margin, veto):
            return None
    return best, (best_score if best_score >= threshold else best.lexical)


def _clear_lead(query: str, best: Candidate, score: float,
                runners_up: Sequence[tuple[float, Candidate]], margin: float,
                veto: Veto | None) -> bool:
    """``best`` leads the first runner-up that is another text the veto lets through."""
    for other_score, other in runners_up:
        if other.prompt == best.prompt or (veto is not None and veto(query, other.prompt)):
            continue
        return score - other_score >= margin
    return True


class VectorStore(Protocol):
    def __call__(self, key: str) -> Any: ...


class ModelScorer:
    """A ``Scorer`` backed by the model; entry vectors cached. See the module docstring.

    ``load()`` returns the ``ModelEmbedder`` (``llmx.cache.model.load_model``); it is called
    once, on the first call with candidates, and may raise ``ModelUnavailable``.
    ``get(key)`` returns what ``put(key, value)`` stored (bytes), or None.
    """

    def __init__(self, load: Callable[[], ModelEmbedder], *, get: VectorStore,
                 put: Callable[[str, bytes], None], memory: int = MEMORY_LIMIT) -> None:
        self._load = load
        self._model: ModelEmbedder | None = None
        self._get = get
        self._put = put
        self._memory: dict[str, bytes] = {}
        self._limit = memory
        self._last: tuple[str, Any] | None = None  # the last query and its row (None: too long)

    @property
    def model(self) -> ModelEmbedder:
        if self._model is None:
            self._model = self._load()
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def judges(self, query: str) -> bool:
        """True when the model sees all of ``query`` (loads the model)."""
        return self.model.sees_whole(query)

    def __call__(self, query: str, candidates: Sequence[Candidate]) -> list[float | None]:
        if not candidates:
            return []
        model = self.model
        known = {c.key: self._cached(model, c.key) for c in candidates}
        missing = list(dict.fromkeys(c.key for c in candidates if known[c.key] is None))
        prompts = {c.key: c.prompt for c in candidates}
        if self._last is not None and self._last[0] == query and not missing:
            query_row = self._last[1]  # the same query again (a look-up repeated by a caller)
        else:
            vectors, whole = model.embed_checked([query, *(prompts[key] for key in missing)])
            for offset, key in enumerate(missing, start=1):
                raw = vectors[offset].astype("<f4").tobytes() if whole[offset] else TOO_LONG
                known[key] = raw
                self._remember(model.name, key, raw)
            query_row = vectors[0] if whole[0] else None
            self._last = (query, query_row)
        if query_row is None:
            return [None] * len(candidates)
        return [_score(query_row, known[c.key]) for c in candidates]

    def _cached(self, model: ModelEmbedder, key: str) -> bytes | None:
        slot = f"{model.name}\x00{key}"
        raw = self._memory.get(slot)
        if raw is None:
            value = self._get(slot)
            if isinstance(value, bytes) and (value == TOO_LONG or len(value) == 4 * model.dims):
                raw = value
                self._keep(slot, raw)
        return raw

    def _remember(self, name: str, key: str, raw: bytes) -> None:
        slot = f"{name}\x00{key}"
        self._keep(slot, raw)
        self._put(slot, raw)

    def _keep(self, slot: str, raw: bytes) -> None:
        if len(self._memory) >= self._limit:
            self._memory.clear()
        self._memory[slot] = raw


class AuxStore(Protocol):
    """The part of ``llmx.cache.store.CacheStore`` the scorer keeps entry vectors in."""

    def get_aux(self, namespace: str, key: str) -> Any | None: ...

    def set_aux(self, namespace: str, key: str, value: Any,
                expire: float | None = None) -> None: ...


def store_scorer(store: AuxStore, load: Callable[[], ModelEmbedder] | None = None) -> ModelScorer:
    """A ``ModelScorer`` keeping entry vectors as the store's aux values (``MODEL_VECTORS``).

    ``load`` defaults to ``llmx.cache.model.load_model`` (imported when first called).
    """
    def default_load() -> ModelEmbedder:
        from llmx.cache.model import load_model

        return load_model()

    return ModelScorer(load or default_load,
                       get=lambda key: store.get_aux(MODEL_VECTORS, key),
                       put=lambda key, raw: store.set_aux(MODEL_VECTORS, key, raw))


def _score(query_row: Any, raw: bytes | None) -> float | None:
    import numpy as np

    if not raw:
        return None
    return float(np.frombuffer(raw, dtype="<f4") @ query_row)
