"""The composition root: the one place that decides which parts a Client's requests use.

``open_parts`` builds what a Client needs before any event loop exists (the cache, the
records log, the warnings, the clocks); ``connect`` builds what needs one (the HTTP engine,
the endpoint, the provider codec, and the embedded simulator when the profile's base URL is
``"embedded"``), and opens the cache's store and semantic index ahead of the first request
(``TieredCache.warm``) and, when the profile sets ``http.min_connections``, that many
connections (``HttpEngine.warm``, in the background). The request path (``llmx.steps``)
takes these as values and never builds a part itself. Nothing heavy is imported here at
module level: httpx when connecting, the cache's store on first use, the simulator only
for an ``"embedded"`` profile.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from llmx.choices import EMBEDDED
from llmx.counters import Counts
from llmx.paths import records_dir, state_dir
from llmx.records import RecordLog
from llmx.state import Once, Warn, to_stderr
from llmx.stats_figures import Figures
from llmx.values import frozen

if TYPE_CHECKING:
    from contextlib import AsyncExitStack
    from pathlib import Path

    from llmx.cache.setup import FetchEmbeddings
    from llmx.cache.tiers import TieredCache
    from llmx.config.profile import Profile
    from llmx.providers.base import Codec
    from llmx.providers.http import Endpoint, HttpEngine

RECORDS_GROUP_S = 1.0  # records are written in groups at most this old (see llmx.records)


@frozen  # not a dataclass: every ``llmx ask``, a cache hit included, builds one
class Parts:
    """What every request of one Client shares, decided once when the Client is made."""

    profile: Profile
    env: Mapping[str, str]
    cache: TieredCache | None  # None: the cache is off (profile mode, or state=False)
    records: RecordLog | None  # None: state=False
    warnings: Once
    clock: Callable[[], float]  # durations (perf_counter)
    wall: Callable[[], float]  # record and entry times (time.time)
    tokenizers: Path | None  # where tokenizer files are kept (None: state=False)
    counts: Counts  # the machinery's counters, one line when the Client closes
    figures: Figures  # this Client's records, folded (``llmx.stats_figures``)


@frozen
class Link:
    """How to reach the provider: made when the Client is entered."""

    engine: HttpEngine
    endpoint: Endpoint
    codec: Codec
    api_key: Callable[[], str | None]  # resolved on first use, then remembered


def open_parts(profile: Profile, *, env: Mapping[str, str] | None, state: bool,
               warn: Warn | Once | None, clock: Callable[[], float] = time.perf_counter,
               wall: Callable[[], float] = time.time,
               fetch: FetchEmbeddings | None = None) -> Parts:
    """The parts of a Client. ``state=False``: no cache, no records, no tokenizer files.
    ``fetch`` asks the profile's embeddings API (for a ``provider`` embedder)."""
    environ = os.environ if env is None else env
    warnings = warn if isinstance(warn, Once) else Once(warn or to_stderr)
    cache = None
    if state and profile.cache.mode != "off":
        from llmx.cache.setup import open_cache

        cache = open_cache(profile, environ, fetch or _no_fetch, wall, warnings.notice)
    records = RecordLog(records_dir(environ), group_s=RECORDS_GROUP_S) if state else None
    return Parts(
        profile=profile, env=environ, cache=cache, records=records, warnings=warnings,
        clock=clock, wall=wall, tokenizers=state_dir(environ) / "tokenizers" if state else None,
        counts=Counts(), figures=Figures())


async def connect(parts: Parts, stack: AsyncExitStack, engine: HttpEngine | None, *,
                  warm: bool = True) -> Link:
    """The HTTP side (a new ``HttpEngine`` unless one is given; closed by ``stack`` only when
    made here), and the embedded simulator for an ``"embedded"`` profile (stopped by
    ``stack``). ``warm``: open the cache's store and index now, not on the first request."""
    from llmx.providers.http import HttpEngine
    from llmx.providers.registry import codec_for_profile

    profile = parts.profile
    if warm and parts.cache is not None:
        parts.cache.warm()  # the first request pays for no database open or index load
    base_url = None
    if profile.base_url == EMBEDDED:
        from llmx.sim import SimOptions, SimServer

        sim = await stack.enter_async_context(SimServer(SimOptions()))
        base_url = sim.base_url + ("/v1" if profile.provider == "openai" else "")
    if engine is None:  # closed before the simulator stops: its connections go first
        engine = HttpEngine()
        stack.push_async_callback(engine.aclose)
    endpoint = endpoint_for(profile, base_url)
    if endpoint.min_connections > 0:
        engine.warm(endpoint)  # in the background: a request meanwhile waits for one
    return Link(engine=engine, endpoint=endpoint, codec=codec_for_profile(profile),
                api_key=functools.cache(lambda: _api_key(profile, parts.env)))


def endpoint_for(profile: Profile, base_url: str | None = None) -> Endpoint:
    """The profile's HTTP settings as an ``Endpoint`` (``base_url`` overrides its own)."""
    from llmx.providers.http import Endpoint
    from llmx.values import names

    pool = {name: getattr(profile.http, name) for name in names(type(profile.http))}
    return Endpoint(base_url=base_url or profile.base_url, timeout=profile.timeout,
                    retries=profile.retries, **pool)


async def fetch_embeddings(link: Link, provider: str, model: str, texts: Sequence[str]
                           ) -> list[list[float]]:
    """Vectors from the provider's embeddings API (OpenAI /embeddings, Ollama /api/embed)."""
    from llmx.providers import ollama, openai

    module = ollama if provider == "ollama" else openai
    body = await link.engine.request_body(
        link.endpoint, module.build_embeddings(model, list(texts), link.api_key()), link.codec)
    vectors: list[list[float]] = module.parse_embeddings(body)
    return vectors


def _api_key(profile: Profile, env: Mapping[str, str]) -> str | None:
    from llmx.config.secrets import resolve_api_key

    return resolve_api_key(profile, env)


async def _no_fetch(model: str, texts: Sequence[str]) -> list[list[float]]:
    raise RuntimeError("this Client was made without an embeddings fetch")
