"""Build a profile's ``TieredCache``: where it lives and which embedder it uses."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from llmx.cache.keys import endpoint_of
from llmx.cache.tiers import TieredCache
from llmx.paths import cache_dir
from llmx.state import Warn

if TYPE_CHECKING:
    from llmx.cache.embed import Embedder
    from llmx.config.profile import Profile

# (model, texts) -> one vector per text, from the profile's embeddings endpoint
FetchEmbeddings = Callable[[str, Sequence[str]], Awaitable[list[list[float]]]]

DEFAULT_EMBEDDING_MODELS = {"openai": "text-embedding-3-small", "ollama": "nomic-embed-text"}
EMBEDDINGS_NAMESPACE = "embeddings"


def open_cache(profile: Profile, env: Mapping[str, str], fetch: FetchEmbeddings,
               wall: Callable[[], float] = time.time, warn: Warn | None = None) -> TieredCache:
    cache: TieredCache | None = None

    def embedder() -> Embedder:
        assert cache is not None
        return make_embedder(profile, cache, fetch)

    cache = TieredCache(profile.cache, cache_dir(env), provider=profile.provider,
                        endpoint=endpoint_of(profile.base_url), embedder=embedder, wall=wall,
                        warn=warn)
    return cache


def make_embedder(profile: Profile, cache: TieredCache, fetch: FetchEmbeddings) -> Embedder:
    """``lexical`` (local, numpy) or ``provider`` (the profile's embeddings API, cached)."""
    if profile.cache.embedder != "provider":
        from llmx.cache.embed import LexicalEmbedder

        return LexicalEmbedder()
    from llmx.batch.microbatch import MicroBatcher
    from llmx.cache.embed import ProviderEmbedder

    model = profile.cache.embedding_model or DEFAULT_EMBEDDING_MODELS[profile.provider]
    store = cache.store

    async def fetch_model(texts: Sequence[str]) -> list[list[float]]:
        return await fetch(model, texts)

    # Lookups that want a vector at the same moment (a batch run) share one request.
    grouped: MicroBatcher[str, list[float]] = MicroBatcher(
        fetch_model, max_batch_size=profile.batch.max_batch_size,
        max_wait_ms=profile.batch.max_wait_ms)
    return ProviderEmbedder(
        f"provider:{profile.provider}:{model}", grouped,
        cache_get=lambda key: store.get_aux(EMBEDDINGS_NAMESPACE, key),
        cache_set=lambda key, value: store.set_aux(EMBEDDINGS_NAMESPACE, key, value),
    )
