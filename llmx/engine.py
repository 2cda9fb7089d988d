"""The library's ``Client``: the request path of ``llmx.steps`` over the parts of ``llmx.wiring``.

    async with Client(profile) as client:
        completion = await client.generate("hello")
        answer = client.stream("hello")
        async for chunk in answer:
            print(chunk.text, end="")
        answer.completion()          # text, usage, latency_ms, ttft_ms, cached

        plan = client.plan("hello")  # prepared once; plan.key is its exact cache key
        client.lookup(plan)          # a cache hit or None: synchronous, no HTTP stack
        await client.generate(plan)  # sends that plan, not a second preparation

How a request flows is told at the top of ``llmx.steps`` (plan -> join -> look up -> send
or replay -> store -> record); each public method below is those steps in that order.

Concurrent identical calls in one Client (same exact key and cache policy, with the cache on
or off) are sent once: the others follow the first and get the same chunks; if it fails they
get its error, or ``llmx.flight.FlightCancelled`` when its caller abandoned it — never a
second charge, never a partial answer as if whole (``llmx.flight``).

Only complete answers are cached (``llmx.cache.complete``). Answers before state: when the
cache, the index or the records cannot be read or written, the answer is delivered anyway
and ``warn`` (see ``llmx.state``) gets one line for the whole run. A profile whose
``base_url`` is ``"embedded"`` (the built-in ``sim`` profile) starts the embedded simulator
on a free loopback port for the life of the client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any

from llmx.answer import Answer
from llmx.cache.types import Policy
from llmx.counters import Counts, counters_dir, pool_counts
from llmx.counters import append as append_counts
from llmx.errors import LlmxError
from llmx.flight import Flights
from llmx.plan import Plan
from llmx.prepare import Call, Prepared
from llmx.refresh import Refresher, due
from llmx.state import Once, Warn
from llmx.stats_figures import Figures
from llmx.steps import fly, from_cache, keep, look_up, make_plan, replay_hit
from llmx.types import Completion
from llmx.wiring import Link, connect, fetch_embeddings, open_parts

if TYPE_CHECKING:
    from llmx.cache.types import Hit
    from llmx.config.profile import Profile
    from llmx.providers.http import HttpEngine

__all__ = ["Client", "Plan"]


class Client:
    """Async client for one profile. Use as ``async with Client(profile) as client``.

    ``state=False`` keeps the client from touching disk (no cache, no records). ``warn`` gets
    the client's warnings, one line each (default: ``warning: ...`` on stderr); pass one
    ``llmx.state.Once`` to several clients to say each kind of trouble once among them.
    ``warm``: entering opens the cache's store and semantic index, so that the first request
    pays for neither; a one-shot caller that has already looked up (the CLI) passes False.
    ``refresh_ahead``: with the profile's ``cache.refresh_ahead`` set, an exact hit in the
    last share of its life is asked again in the background (``llmx.refresh``); leaving the
    client waits for those answers. A one-shot caller (the CLI's ``ask``) passes False.
    """

    def __init__(
        self,
        profile: Profile,
        *,
        engine: HttpEngine | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        wall: Callable[[], float] = time.time,
        state: bool = True,
        warn: Warn | Once | None = None,
        warm: bool = True,
        refresh_ahead: bool = True,
    ) -> None:
        self.profile = profile
        self._parts = open_parts(profile, env=env, state=state, warn=warn, clock=clock,
                                 wall=wall, fetch=self._fetch_embeddings)
        self._engine = engine
        self._warm = warm
        self._stack = AsyncExitStack()
        self._link: Link | None = None  # set when entered
        self._flights = Flights()
        self._refresher = (Refresher(self._refresh_failed)
                           if refresh_ahead and profile.cache.refresh_ahead > 0 else None)

    def __repr__(self) -> str:
        return f"Client(profile={self.profile.name!r}, provider={self.profile.provider!r})"

    async def __aenter__(self) -> Client:
        self._link = await connect(self._parts, self._stack, self._engine, warm=self._warm)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._refresher is not None:
            await self._refresher.close()
        if self._link is not None and self._engine is None:  # its own engine's pool (an
            # engine passed in is counted by its owner), read before the engine closes
            self._parts.counts.update(pool_counts(self._link.engine.counters()))
        await self._stack.aclose()
        self.close()

    def close(self) -> None:
        """Release the cache's files, write queued records (``async with`` does this on exit)."""
        parts = self._parts
        if parts.cache is not None:
            parts.cache.close()
            parts.counts.update(parts.cache.counts())
        if parts.records is not None:
            try:
                parts.records.close()
                append_counts(counters_dir(parts.env), self.profile.name, parts.counts)
            except (OSError, LlmxError) as exc:
                parts.warnings.state_failed("write the request record", exc)

    @property
    def figures(self) -> Figures:
        """This Client's records so far, folded into the monitoring figures' sums."""
        return self._parts.figures

    @property
    def counts(self) -> Counts:
        """This Client's counters (``llmx.counters``), written once when it closes."""
        return self._parts.counts

    def live_counts(self) -> dict[str, int]:
        """``counts`` now, with what closing adds to them (its own engine's pool, the cache's
        writes and evictions) read so far; ``counts`` is left as it is."""
        now = Counts()
        now.update(self._parts.counts.nonzero())
        if self._parts.cache is not None:
            now.update(self._parts.cache.counts())
        if self._link is not None and self._engine is None:
            now.update(pool_counts(self._link.engine.counters()))
        return now.nonzero()

    # -- the steps, as public calls ---------------------------------------------------------

    def plan(self, prompt: str, call: Call | None = None, *, stream: bool = True) -> Plan:
        """Prepare ``prompt`` once (compression, fit, token counts) and compute its keys;
        ``plan.key`` is the exact cache key, whether the cache is on or off."""
        return make_plan(self._parts, prompt, call or Call(), stream=stream)

    def prepare(self, prompt: str, call: Call | None = None, *, stream: bool = False
                ) -> Prepared:
        """The Request this call would send: compressed and fitted, with its token counts."""
        return self.plan(prompt, call, stream=stream).prepared

    def lookup(self, plan: Plan) -> Completion | None:
        """The answer from the cache (exact, then a local semantic match), or None.

        Synchronous: needs no event loop and never imports the HTTP stack. Records a hit."""
        return from_cache(self._parts, plan)

    def cached(self, prompt: str, call: Call | None = None) -> Completion | None:
        """``lookup(plan(prompt, call))``."""
        return self.lookup(self.plan(prompt, call, stream=False))

    async def keep(self, plan: Plan, completion: Completion, *, billed: float = 1.0) -> None:
        """Cache (when complete) and record an answer to ``plan`` that was not asked through
        this Client — a provider batch's line, billed at ``billed`` times the price."""
        await keep(self._parts, plan, completion, billed=billed)

    def in_flight(self, plan: Plan) -> bool:
        """Would a call of ``plan`` made now share a request already in flight?"""
        return plan.flight_key in self._flights

    def stream(self, prompt: str | Plan, call: Call | None = None, *, wire_stream: bool = True
               ) -> Answer:
        """Start an answer; iterate the returned Answer for Chunks (hits replay as chunks).

        The call is planned (unless given a Plan), joined to an identical call in flight or
        looked up, when ``stream`` is called; iterating sends it. ``wire_stream=False`` asks
        the provider for one JSON body instead of a stream.
        """
        started = self._parts.clock()  # latency includes preparing and the cache lookup
        plan = (prompt if isinstance(prompt, Plan)
                else self.plan(prompt, call, stream=wire_stream)).sent_as(wire_stream)
        if plan.at:  # planned earlier (a batch line, when it was read): its wait until now
            plan = plan._replace(queued_ms=max(0.0, (started - plan.at) * 1000.0))
        parts, flight, looked = self._parts, self._flights.find(plan.flight_key), None
        if flight is None:
            looked = look_up(parts, plan)
            if looked.hit is not None:
                self._refresh_if_due(plan, looked.hit)
                return Answer(plan.prepared, replay_hit(parts, plan, looked, started),
                              looked.hit.tier)
            flight = self._flights.board(plan.flight_key)
        return Answer(plan.prepared, fly(parts, self._link, plan, looked, flight, started,
                                          self._flights))

    def generate(self, prompt: str | Plan, call: Call | None = None
                 ) -> Coroutine[Any, Any, Completion]:
        """One answer, whole: from the cache, or from the provider (then cached). Await it.

        Like ``stream``, the call is planned and looked up (or joins its identical call in
        flight) when ``generate`` is called."""
        return self.stream(prompt, call, wire_stream=False).collect()

    def _refresh_if_due(self, plan: Plan, hit: Hit) -> None:
        """Start a background refresh of ``plan``'s entry when ``hit`` is due for one."""
        cache, refresher = self.profile.cache, self._refresher
        if refresher is None or not due(hit, cache.refresh_ahead, cache.ttl_for(hit.entry.kind),
                                        self._parts.wall()):
            return
        fresh = plan._replace(call=plan.call._replace(refresh=True),
                              policy=Policy.of(cache.mode, refresh=True))
        try:
            refresher.start(plan.key, lambda: self.generate(fresh))
        except RuntimeError:
            return  # no event loop runs (a synchronous caller): nothing can run after it

    def _refresh_failed(self, error: BaseException) -> None:
        self._parts.warnings.state_failed("refresh a cached answer ahead of its expiry", error)

    # -- parts the request path borrows -------------------------------------------------------

    def link(self) -> Link:
        """How this Client reaches its provider (once entered)."""
        if self._link is None:
            raise RuntimeError("use `async with Client(...)` before sending requests")
        return self._link

    async def _fetch_embeddings(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        self._parts.counts.add("embed_requests")
        self._parts.counts.add("embed_texts", len(texts))
        return await fetch_embeddings(self.link(), self.profile.provider, model, texts)

    async def embed(self, texts: Sequence[str], model: str | None = None) -> list[list[float]]:
        """One vector per text from the profile's embeddings API (``model``: the profile's
        ``cache.embedding_model``, else the provider's default); ``UsageError`` for a
        provider without one (Anthropic)."""
        from llmx.cache.setup import DEFAULT_EMBEDDING_MODELS
        from llmx.errors import UsageError

        provider = self.profile.provider
        chosen = model or self.profile.cache.embedding_model or DEFAULT_EMBEDDING_MODELS.get(
            provider)
        if chosen is None or provider == "anthropic":
            raise UsageError(f"profile {self.profile.name!r} ({provider}) has no embeddings API")
        return await self._fetch_embeddings(chosen, texts)

    def stats(self) -> dict[str, int]:
        """The HTTP engine's counters (requests, retries, ..., and the pool's
        ``connections_*``: ``HttpEngine.counters``); empty before entering."""
        return {} if self._link is None else self._link.engine.counters()
