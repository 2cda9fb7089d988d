"""The two cache tiers behind one object: exact keys first, then semantic matches.

``TieredCache`` composes the store (diskcache), the content-kind classifier, the embedder,
the vector index and the veto. It does no HTTP: a provider embedder is handed in already
wired to the HTTP engine. Nothing heavy is imported unless the profile's cache is on.

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

    from llmx.cache.embed import Embedder
    from llmx.cache.store import CacheStore
    from llmx.cache.vectors import VectorIndex
    from llmx.config.profile import CacheSettings

__all__ = ["Hit", "Keys", "Policy", "Tier", "TieredCache", "completion_from"]

Tier = HitTier
VECTORS_DIR = "vectors"  # llmx.cache.store.VECTORS: the vectors database's directory
_NO_KEY = "-"  # never an exact key


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
        self._store: CacheStore | None = None
        self._embedder: Embedder | None = None
        self._index: VectorIndex | None = None
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
    def store(self) -> CacheStore:
        if self._store is None:
            from llmx.cache.store import CacheStore

            self._store = CacheStore(self._directory, max_entries=self.settings.max_entries,
                                     max_bytes=self.settings.max_bytes, clock=self._wall,
                                     warn=self._warn, grouping=True)  # Grouping()'s defaults
        return self._store

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
            if self.semantic_on and self.may_match() and not self.embeds_async:
                len(self._vectors(self._embed().dims))  # loads the index
        except (OSError, LlmxError):
            return

    def may_match(self) -> bool:
        """False when no vector was ever stored here (no vectors database): a semantic
        look-up would find nothing, so the embedder and the index (numpy) need not load."""
        return self._index is not None or (self._directory / VECTORS_DIR).exists()

    @property
    def embeds_async(self) -> bool:
        """A provider embedder: query vectors need ``aquery_vector`` (an HTTP call)."""
        if self._remote is None:
            self._remote = False
            if self.semantic_on:
                from llmx.cache.embed import ProviderEmbedder

                self._remote = isinstance(self._embed(), ProviderEmbedder)
        return self._remote

    def query_vector(self, keys: Keys) -> np.ndarray | None:
        """The prompt's vector from a local embedder; None when off or embedding is remote."""
        if not self.semantic_on or not keys.prompt or self.embeds_async:
            return None
        row: np.ndarray = self._embed().embed([keys.prompt])[0]
        return row

    async def aquery_vector(self, keys: Keys) -> np.ndarray | None:
        """The prompt's vector from any embedder (a remote one is awaited)."""
        from llmx.cache.embed import ProviderEmbedder

        if not self.semantic_on or not keys.prompt:
            return None
        embedder = self._embed()
        if not isinstance(embedder, ProviderEmbedder):
            return self.query_vector(keys)
        row: np.ndarray = (await embedder.aembed([keys.prompt]))[0]
        return row

    def semantic(self, keys: Keys, vector: np.ndarray | None) -> Hit | None:
        """Best non-vetoed entry in the same scope at or above the threshold."""
        if vector is None:
            return None
        from llmx.cache.veto import vetoed

        for key, similarity in self._vectors(len(vector)).search(
                keys.scope, vector, self.settings.threshold):
            entry = self.store.get(key)
            if entry is not None and entry.scope == keys.scope and not vetoed(keys.prompt,
                                                                               entry.prompt):
                return Hit(entry, "semantic", similarity)
        return None

    def save(self, keys: Keys, request: Request, completion: Completion,
             chunks: tuple[int, ...], kind: str | None = None,
             vector: np.ndarray | None = None) -> None:
        """Store an answer (and its prompt's vector, when semantic matching is on); raises
        ``CacheUnavailable`` when the store cannot be written."""
        content_kind = kind or classify(keys.prompt, request.system)
        entry = Entry(
            text=completion.text, chunks=chunks, model=completion.model,
            provider=completion.provider, input_tokens=completion.usage.input_tokens,
            output_tokens=completion.usage.output_tokens, finish_reason=completion.finish_reason,
            prompt=keys.prompt, scope=keys.scope, kind=content_kind, created=self._wall(),
        )
        self.store.set(keys.exact, entry, expire=self.settings.ttl_for(content_kind))
        vector = self.query_vector(keys) if vector is None else vector
        if vector is not None:
            self._vectors(len(vector)).add(keys.exact, keys.scope, vector)

    def flush(self) -> None:
        """Write the queued cache writes now; raises ``CacheUnavailable`` (they are lost)."""
        if self._store is not None:
            self._store.flush()

    def close(self) -> None:
        """Write what is queued (a failure costs one ``warn`` line) and release the files."""
        if self._store is not None:
            self._store.close()

    def _embed(self) -> Embedder:
        if self._embedder is None:
            assert self._embedder_factory is not None
            self._embedder = self._embedder_factory()
        return self._embedder

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
        similarity=hit.similarity,
    )


def _last_user_text(request: Request) -> str:
    for message in reversed(request.messages):
        if message.role == "user":
            return message.content
    return ""
