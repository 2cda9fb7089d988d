"""The two cache tiers behind one object: exact keys first, then semantic matches.

``TieredCache`` composes the store (diskcache), the content-kind classifier, the embedder,
the vector index and the veto. It does no HTTP: a provider embedder is handed in already
wired to the HTTP engine. Nothing heavy is imported unless the profile's cache is on.

Semantic matching (``semantic``): with every embedder but ``provider``, stage 1 is the
lexical gate (``candidates``: ``llmx.cache.gate``, pure Python, no numpy — a miss with no
candidate costs a few SQLite reads) and the stages behind ``cache.embedder`` are
``llmx.cache.gate_stages``; the prompt's lexical row is written to the vector log without
numpy too, and computed once: by the look-up when some entry may reach the gate, else by
the store after the answer (the gate keeps the last row and recent texts' words). The gate indexes
this process's rows after the store's flush (``store.on_flush``), not during a look-up. A
provider embedder's vectors are searched by ``llmx.cache.vectors``.

Writes are grouped: ``save`` may queue (``llmx.cache.queue``); ``flush`` writes the queue
now, ``close`` always does. An exact hit performs no database write and no fsync (its use is
noted for the LRU order: ``llmx.cache.recency``).

State failures: ``exact`` never raises (a store that cannot be read is a miss);
``semantic``, ``save`` and ``flush`` raise ``CacheUnavailable`` (an
``llmx.state.StateUnavailable``) when the index or the store cannot be read or written; the
Client answers on without them. A damaged database is moved aside by the store, which says
so through ``warn``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from llmx.cache.keys import exact_key, scope_key
from llmx.cache.kinds import classify
from llmx.cache.types import Entry, Hit, Keys, Policy
from llmx.choices import HitTier
from llmx.errors import LlmxError
from llmx.state import Warn
from llmx.types import Completion, Request, Usage

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from llmx.cache.candidates import Candidate
    from llmx.cache.embed import Embedder
    from llmx.cache.gate import LexicalGate
    from llmx.cache.gate_stages import Stages
    from llmx.cache.redis_store import RedisStore
    from llmx.cache.store import CacheStore
    from llmx.cache.vectors import VectorIndex

    Store = CacheStore | RedisStore
    from llmx.config.profile import CacheSettings

__all__ = ["Hit", "Keys", "Policy", "Tier", "TieredCache", "completion_from"]

Tier = HitTier
VECTORS_DIR = "vectors"  # llmx.cache.store.VECTORS: the vectors database's directory
_NO_KEY = "-"  # never an exact key
LEXICAL_NAME = "lexical-v1-256"  # llmx.cache.embed: LexicalEmbedder().name (its vector log)
LEXICAL_DIMS = 256


class TieredCache:
    def __init__(
        self,
        settings: CacheSettings,
        directory: Path,
        *,
        provider: str,
        endpoint: str,
        embedder: Callable[[], Embedder] | None,
        wall: Callable[[], float] = time.time,
        warn: Warn | None = None,
    ) -> None:
        self.settings = settings
        self._directory = directory
        self._provider = provider
        self._endpoint = endpoint
        self._warn = warn
        self._embedder_factory = embedder if settings.semantic else None
        self._wall = wall
        self._store: Store | None = None
        self._embedder: Embedder | None = None
        self._index: VectorIndex | None = None
        self._lexical: LexicalGate | None = None
        self._picker: Stages | None = None
        self._remote: bool | None = None  # is the embedder remote (asked once)

    def keys(self, request: Request, compressor: str | None = None) -> Keys:
        """Keys of the request as it will be sent (after compression, by ``compressor``)."""
        provider, endpoint = self._provider, self._endpoint
        return Keys(
            exact=exact_key(request, provider=provider, endpoint=endpoint, compressor=compressor),
            scope=scope_key(request, provider=provider, endpoint=endpoint, compressor=compressor),
            prompt=_last_user_text(request),
        )

    @property
    def store(self) -> Store:
        """The disk store, or with ``cache.backend = "redis"`` the shared one
        (``llmx.cache.redis_store``: the same surface)."""
        if self._store is None:
            if self.settings.backend == "redis":
                from llmx.cache.shared import open_redis

                self._store = open_redis(self.settings, self._directory, clock=self._wall,
                                         warn=self._warn)
            else:
                from llmx.cache.store import CacheStore

                self._store = CacheStore(self._directory,
                                         max_entries=self.settings.max_entries,
                                         max_bytes=self.settings.max_bytes, clock=self._wall,
                                         warn=self._warn, grouping=True)  # Grouping() defaults
        return self._store

    def shared_store(self) -> RedisStore | None:
        """The shared store (``cache.backend = "redis"``) that leases requests across
        processes (``llmx.cache.leases``), else None."""
        if self.settings.backend != "redis" or self.settings.mode != "read-write":
            return None
        from llmx.cache.redis_store import RedisStore

        store = self.store
        return store if isinstance(store, RedisStore) else None

    def exact(self, keys: Keys) -> Hit | None:
        entry = self.store.get(keys.exact)
        return None if entry is None else Hit(entry, "exact", None)

    @property
    def semantic_on(self) -> bool:
        return self._embedder_factory is not None

    def warm(self) -> None:
        """Open now what a look-up will need — the store and, when the semantic tier holds
        vectors and embeds locally, its embedder and index — so that the first look-up pays
        for none of it. Never raises: the look-up meets (and reports) the same trouble."""
        try:
            self.store.get(_NO_KEY)  # a miss that opens the database (keys are sha256 hex)
            if self.semantic_on and self.may_match() and self.gated:
                self._gate().warm()
            elif self.semantic_on and self.may_match() and not self.embeds_async:
                len(self._vectors(self._embed().dims))  # loads the index
        except (OSError, LlmxError):
            return

    def may_match(self) -> bool:
        """False when no vector was ever stored here (no vectors database): a semantic
        look-up would find nothing, so the embedder and the index (numpy) need not load."""
        return (self._index is not None or self._lexical is not None
                or self.settings.backend == "redis"  # a shared log: others may have written
                or (self._directory / VECTORS_DIR).exists())

    @property
    def gated(self) -> bool:
        """Stage 1 is the lexical gate (``llmx.cache.gate``: pure Python, no numpy): every
        embedder but ``provider``, whose vectors are searched by ``llmx.cache.vectors``."""
        return self.semantic_on and self.settings.embedder != "provider"

    @property
    def embeds_async(self) -> bool:
        """A provider embedder: query vectors need ``aquery_vector`` (an HTTP call)."""
        if self._remote is None:
            self._remote = False
            if self.semantic_on and not self.gated:
                from llmx.cache.embed import ProviderEmbedder

                self._remote = isinstance(self._embed(), ProviderEmbedder)
        return self._remote

    def query_vector(self, keys: Keys) -> np.ndarray | dict[int, float] | None:
        """The prompt's vector from a local embedder; None when off or embedding is remote.
        With the lexical gate: the sparse lexical row (``gate_features``), no numpy."""
        if not self.semantic_on or not keys.prompt or self.embeds_async:
            return None
        if self.gated:
            return self._gate().row(keys.prompt)
        row: np.ndarray = self._embed().embed([keys.prompt])[0]
        return row

    async def aquery_vector(self, keys: Keys) -> np.ndarray | dict[int, float] | None:
        """The prompt's vector from any embedder (a remote one is awaited)."""
        if not self.semantic_on or not keys.prompt or self.gated:
            return self.query_vector(keys)
        from llmx.cache.embed import ProviderEmbedder

        embedder = self._embed()
        if not isinstance(embedder, ProviderEmbedder):
            return self.query_vector(keys)
        row: np.ndarray = (await embedder.aembed([keys.prompt]))[0]
        return row

    def candidates(self, keys: Keys, *, limit: int = 5, gate: float = 0.5) -> list[Candidate]:
        """Stage 1: entries of the query's scope whose lexical cosine with its prompt is >=
        ``gate``, best first, at most ``limit`` (``llmx.cache.gate``); imports no numpy."""
        if not self.semantic_on or not keys.prompt or not self.may_match():
            return []
        return self._gate().candidates(keys.scope, keys.prompt, limit=limit, gate=gate)

    def semantic(self, keys: Keys, vector: np.ndarray | dict[int, float] | None) -> Hit | None:
        """Best non-vetoed entry in the same scope at or above the threshold. With the
        lexical gate the candidates come from ``candidates`` (``vector`` is not needed)."""
        if self.gated:
            stages, threshold = self._stages(), self.settings.threshold
            found = self.candidates(keys, gate=stages.gate(threshold))
            return self._first_stored(keys, stages.pick(keys.prompt, found, threshold))
        if vector is None or isinstance(vector, dict):
            return None
        near = self._vectors(len(vector)).search(keys.scope, vector, self.settings.threshold)
        if not near:
            return None
        from llmx.cache.veto import vetoed

        return self._first_stored(keys, [(key, similarity) for key, similarity in near
                                         if not vetoed(keys.prompt, self._prompt_of(key))])

    def _first_stored(self, keys: Keys, found: list[tuple[str, float]]) -> Hit | None:
        """The first of ``found`` whose entry is still stored in this scope."""
        for key, similarity in found:
            entry = self.store.get(key)
            if entry is not None and entry.scope == keys.scope:
                return Hit(entry, "semantic", similarity)
        return None

    def _prompt_of(self, key: str) -> str:
        entry = self.store.get(key)
        return "" if entry is None else entry.prompt

    def save(self, keys: Keys, request: Request, completion: Completion,
             chunks: tuple[int, ...], kind: str | None = None,
             vector: np.ndarray | dict[int, float] | None = None) -> None:
        """Store an answer (and its prompt's vector, when semantic matching is on); raises
        ``CacheUnavailable`` when the store cannot be written."""
        content_kind = kind or classify(keys.prompt, request.system)
        entry = Entry(
            text=completion.text, chunks=chunks, model=completion.model,
            provider=completion.provider, input_tokens=completion.usage.input_tokens,
            output_tokens=completion.usage.output_tokens, finish_reason=completion.finish_reason,
            prompt=keys.prompt, scope=keys.scope, kind=content_kind, created=self._wall(),
            tool_calls=completion.tool_calls, reasoning=completion.reasoning,
        )
        self.store.set(keys.exact, entry, expire=self.settings.ttl_for(content_kind))
        vector = self.query_vector(keys) if vector is None else vector
        if isinstance(vector, dict):
            self._save_lexical(keys, vector)
        elif vector is not None:
            self._vectors(len(vector)).add(keys.exact, keys.scope, vector)

    def _save_lexical(self, keys: Keys, row: dict[int, float]) -> None:
        """Append the lexical row to the vector log (the bytes ``LexicalEmbedder`` gives)."""
        from llmx.cache.gate_features import row_bytes

        gate = self._gate()
        gate.queued(keys.exact, keys.scope, keys.prompt, row)  # indexed after the flush
        try:
            self.store.append_vector(keys.exact, keys.scope, LEXICAL_NAME,
                                     row_bytes(row, LEXICAL_DIMS))
        except BaseException:
            gate.forget(keys.exact)
            raise

    def flush(self) -> None:
        """Write the queued cache writes now; raises ``CacheUnavailable`` (they are lost)."""
        if self._store is not None:
            self._store.flush()

    def counts(self) -> dict[str, int]:
        """What the store counted (``llmx.counters`` names): entries written and evicted."""
        store = self._store
        return {"cache_stored": getattr(store, "stored", 0),
                "cache_evicted": getattr(store, "evicted", 0)}

    def close(self) -> None:
        """Write what is queued (a failure costs one ``warn`` line) and release the files;
        the gate, when open, indexes the rows that flush wrote (the next process need not)."""
        if self._store is not None:
            self._store.close()
        if self._lexical is not None:
            self._lexical.close()

    def _embed(self) -> Embedder:
        if self._embedder is None:
            assert self._embedder_factory is not None
            self._embedder = self._embedder_factory()
        return self._embedder

    def _stages(self) -> Stages:
        if self._picker is None:
            from llmx.cache.gate_stages import Stages

            store = self.store
            self._picker = Stages(self.settings.embedder, get=store.get_aux, put=store.set_aux,
                                  note=self._warn)
        return self._picker

    def _gate(self) -> LexicalGate:
        if self._lexical is None:
            from llmx.cache.gate import LexicalGate

            store = self.store

            def prompt(key: str, scope: str) -> str | None:
                entry = store.get(key)
                return entry.prompt if entry is not None and entry.scope == scope else None

            self._lexical = LexicalGate(store.snapshot_dir / f"gate-{LEXICAL_NAME}.db", store,
                                        prompt, LEXICAL_NAME, LEXICAL_DIMS)
            store.on_flush = self._lexical.caught_up  # this process's rows: off the look-up
        return self._lexical

    def _vectors(self, dims: int) -> VectorIndex:
        if self._index is None:
            from llmx.cache.vectors import VectorIndex

            self._index = VectorIndex(self.store, self._embed().name, dims)
        return self._index


def completion_from(hit: Hit, latency_ms: float) -> Completion:
    entry = hit.entry
    return Completion(
        text=entry.text, model=entry.model, provider=entry.provider,
        usage=Usage(entry.input_tokens, entry.output_tokens), latency_ms=latency_ms,
        ttft_ms=latency_ms, finish_reason=entry.finish_reason, cached=hit.tier,
        similarity=hit.similarity, tool_calls=entry.tool_calls, reasoning=entry.reasoning,
    )


def _last_user_text(request: Request) -> str:
    for message in reversed(request.messages):
        if message.role == "user":
            return message.content
    return ""
