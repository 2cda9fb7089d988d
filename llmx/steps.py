"""The request path, one function per step; each takes values and returns values.

How a request flows (``Client.plan`` / ``lookup`` / ``stream`` / ``generate`` run exactly
these steps, in this order; the CLI, the library, batch and ``llmx bench`` share them):

1. **plan** (``make_plan``): prepare once — check the call's options, compress the prompt,
   fit it into the context window, count its tokens — and compute its exact cache key,
   whether the cache is on or off. The result is a frozen ``Plan``; nothing prepares it again.
2. **join**: an identical call (same key, same cache policy) already in flight in this
   Client is shared (``llmx.flight``): no look-up and no second request (``follow``).
3. **look up** (``look_up``, synchronous): the exact key; only after an exact miss, the
   semantic tier, when it holds vectors and its embedder is local. A hit is replayed
   (``replay_hit``) and recorded; nothing is sent.
4. **send** (``drive``): a flight is opened when the call is made; the first of its calls to
   be iterated drives it: a provider embedder's semantic look-up (an HTTP call) first; with
   a shared (Redis) cache, a lease so that one process in the fleet sends it while the
   others wait for its stored answer (``llmx.cache.leases``); then the request (``send``:
   any API key the provider echoes is masked as the chunks arrive, ``llmx.scrub``); each
   chunk goes to its caller as it arrives, and to every follower.
5. **store** (``store``): after the last chunk was handed over, a complete answer
   (``llmx.cache.complete``) is written to the cache, with its prompt's vector when the
   semantic tier is on (computed now, after the answer, unless the look-up made it). The
   flight lands after the store, so a call made from then on finds the answer cached.
6. **record** (``record``): one line in the records log for the call that reached the
   provider or the cache, its error included (a follower writes none: its leader did).

An answer that came another way (a provider Batch API's line for a plan) runs steps 5 and 6
alone (``keep``), recorded at the price the provider charged for it.

Each generator (``replay_hit``, ``drive``, ``follow``) ends by yielding the call's
``Completion``; the ``Answer`` hands it to its caller. Errors end the generator in a
``try``/``except`` that records them and re-raises; nothing runs in a callback.

Answers before state: a cache or records failure costs one warning (``Parts.warnings``),
never the answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING

from llmx.answer import Tally, replay
from llmx.cache.complete import may_keep
from llmx.cache.keys import endpoint_of, exact_key
from llmx.cache.tiers import Hit, Keys, Policy, completion_from
from llmx.errors import LlmxError
from llmx.plan import NOT_LOOKED, Looked, Plan, Vector
from llmx.prepare import Call, prepare
from llmx.records import Record, error_name
from llmx.scrub import scrub, scrub_whole
from llmx.state import StateUnavailable
from llmx.types import Chunk, Completion, Request, Usage

if TYPE_CHECKING:
    from llmx.cache.leases import Lease
    from llmx.config.settings import Price
    from llmx.flight import Flight, Flights
    from llmx.wiring import Link, Parts

NO_CACHE = Policy(read=False, write=False)


def make_plan(parts: Parts, prompt: str, call: Call, *, stream: bool) -> Plan:
    """Step 1: prepare ``prompt`` and compute its keys."""
    profile = parts.profile
    prepared = prepare(profile, prompt, call, stream=stream, tokenizers=parts.tokenizers)
    if parts.cache is None:
        key = exact_key(prepared.request, provider=profile.provider,
                        endpoint=endpoint_of(profile.base_url), compressor=prepared.compressor)
        return Plan(prepared, key, call, None, NO_CACHE, parts.clock())
    keys = parts.cache.keys(prepared.request, prepared.compressor)
    policy = Policy.of(profile.cache.mode, no_cache=call.no_cache, refresh=call.refresh)
    return Plan(prepared, keys.exact, call, keys, policy, parts.clock())


def look_up(parts: Parts, plan: Plan) -> Looked:
    """Step 3 (synchronous): exact, then — after an exact miss only — semantic."""
    cache, keys = parts.cache, plan.keys
    if cache is None or keys is None or not plan.policy.read:
        return NOT_LOOKED
    started = parts.clock()
    hit = cache.exact(keys)
    vector, remote = None, False
    if hit is None and cache.semantic_on and keys.prompt and cache.may_match():
        if parts.profile.cache.embedder == "provider":
            remote = True  # asked by the driver, in ``look_further``
        else:  # the lexical gate makes the row only if an entry may match: else the store
            vector = None if cache.gated else cache.query_vector(keys)
            hit = _semantic(parts, keys, vector)
    return Looked(hit, vector, remote, (parts.clock() - started) * 1000)


def from_cache(parts: Parts, plan: Plan) -> Completion | None:
    """Step 3 alone (``Client.lookup``): the cached answer as a whole Completion, recorded."""
    looked = look_up(parts, plan)
    if looked.hit is None:
        return None
    completion = completion_from(looked.hit, looked.lookup_ms)
    record(parts, plan, completion, looked.hit, looked.lookup_ms)
    return completion


async def look_further(parts: Parts, plan: Plan, looked: Looked) -> Looked:
    """Step 3, asynchronous half: the semantic tier through a provider embedder."""
    if not looked.remote or parts.cache is None or plan.keys is None:
        return looked
    started = parts.clock()
    try:
        vector = await parts.cache.aquery_vector(plan.keys)
    except LlmxError:
        vector = None  # no embeddings today: answer without the semantic tier
    hit = _semantic(parts, plan.keys, vector)
    return Looked(hit, vector, False, looked.lookup_ms + (parts.clock() - started) * 1000)


def _semantic(parts: Parts, keys: Keys, vector: Vector | None) -> Hit | None:
    assert parts.cache is not None
    try:
        return parts.cache.semantic(keys, vector)
    except StateUnavailable as exc:
        parts.warnings.state_failed("search the semantic cache", exc)
        return None


async def send(link: Link | None, request: Request) -> AsyncGenerator[Chunk, None]:
    """Step 4: the provider's answer to ``request``, as Chunks, any API key it echoes
    masked (``llmx.scrub``) before the caller, the cache or the logs see it."""
    if link is None:
        raise RuntimeError("use `async with Client(...)` before sending requests")
    call = link.codec.build(request, link.api_key())
    if request.stream:
        async for chunk in scrub(link.engine.stream(link.endpoint, call, link.codec)):
            yield chunk
    else:
        yield scrub_whole(await link.engine.request(link.endpoint, call, link.codec))


async def store(parts: Parts, plan: Plan, looked: Looked, completion: Completion,
                pieces: list[str]) -> None:
    """Step 5: keep a complete answer in the cache, with its prompt's vector when the
    semantic tier is on (a provider embedder is asked now, after the answer)."""
    cache = parts.cache
    if (cache is None or plan.keys is None or not plan.policy.write
            or not may_keep(completion, plan.prepared.request)):
        return
    vector = looked.vector
    if vector is None and cache.semantic_on and parts.profile.cache.embedder == "provider":
        try:
            vector = await cache.aquery_vector(plan.keys)
        except LlmxError:
            vector = None  # no embeddings today: the answer is kept for exact hits only
    chunks = tuple(len(piece) for piece in pieces) if len(pieces) > 1 else ()
    try:
        cache.save(plan.keys, plan.prepared.request, completion, chunks, plan.call.kind, vector)
    except StateUnavailable as exc:
        parts.warnings.state_failed("save the answer to the cache", exc)


async def keep(parts: Parts, plan: Plan, completion: Completion, *, billed: float) -> None:
    """Steps 5 and 6 for an answer that came another way (a provider batch's line for
    ``plan``): stored when complete, and recorded at ``billed`` times the profile's price."""
    await store(parts, plan, NOT_LOOKED, completion, [completion.text])
    record(parts, plan, completion, None, 0.0, billed=billed)


def record(parts: Parts, plan: Plan, completion: Completion, hit: Hit | None,
           lookup_ms: float, error: BaseException | None = None, *,
           shared: bool = False, billed: float = 1.0) -> None:
    """Step 6: one line in the records log (nothing with ``state=False``). ``shared``: the
    call followed an identical one in flight (no request, no look-up of its own).
    ``billed``: the share of the price the provider charges (a Batch API's discount)."""
    if parts.records is None:
        return
    tier = hit.tier if hit else ("miss" if plan.policy.read and not shared else "off")
    saved = hit is not None or shared
    usage = completion.usage
    cost = _cost(parts, completion)
    cost = None if cost is None else cost * billed
    record = Record(
        ts=parts.wall(), profile=parts.profile.name, provider=completion.provider,
        model=completion.model, tier=tier, similarity=hit.similarity if hit else None,
        lookup_ms=lookup_ms, latency_ms=completion.latency_ms, ttft_ms=completion.ttft_ms,
        input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens, tokens_saved=plan.prepared.tokens_saved,
        cost=None if cost is None else (0.0 if saved else cost),
        cost_saved=cost if saved else None,
        status="ok" if error is None else "error",
        error=None if error is None else error_name(error),
        queue_ms=plan.queued_ms, shared=shared)
    parts.figures.add(record)
    try:
        parts.records.append(record)
    except (OSError, LlmxError) as exc:  # a full or read-only disk, a file in the way
        parts.warnings.state_failed("write the request record", exc)


def _cost(parts: Parts, completion: Completion) -> float | None:
    """Estimated money for these tokens at the profile's price (per 1M tokens)."""
    price = parts.profile.price
    return None if price is None else cost_of(price, completion.usage)


def cost_of(price: Price, usage: Usage) -> float:
    """Money for ``usage`` at ``price`` (per 1M tokens): prompt tokens read from or written
    to the provider's prompt cache at their own rates (the input rate when none is set),
    the rest of the prompt at the input rate, every answer token (reasoning included) at
    the output rate."""
    read, write = usage.cache_read_tokens, usage.cache_write_tokens
    plain = max(usage.input_tokens - read - write, 0)
    cached = price.input if price.cached_input is None else price.cached_input
    written = price.input if price.cache_write is None else price.cache_write
    return (plain * price.input + read * cached + write * written
            + usage.output_tokens * price.output) / 1e6


def tally(parts: Parts, plan: Plan, started: float) -> Tally:
    return Tally(parts.profile.provider, plan.prepared.request.model, parts.clock, started)


async def replay_hit(parts: Parts, plan: Plan, looked: Looked, started: float
                     ) -> AsyncGenerator[Chunk | Completion, None]:
    """A hit: replay its chunks, record it; then its Completion."""
    assert looked.hit is not None
    seen = tally(parts, plan, started)
    try:
        async for chunk in replay(looked.hit):
            seen.add(chunk)
            yield chunk
    except BaseException as exc:
        record(parts, plan, seen.completion(looked.hit), looked.hit, looked.lookup_ms, exc)
        raise
    completion = seen.completion(looked.hit)
    record(parts, plan, completion, looked.hit, looked.lookup_ms)
    yield completion


async def fly(parts: Parts, link: Link | None, plan: Plan, looked: Looked | None,
              flight: Flight, started: float, flights: Flights | None = None
              ) -> AsyncGenerator[Chunk | Completion, None]:
    """The first call of a flight to be iterated drives it; the others follow it. A
    follower whose driver failed before any chunk reached it, with an error worth trying
    again (its caller walked away, 429, 5xx, a connection error: ``llmx.fallback``), drives
    a new flight of ``flights`` once, which the other such followers join."""
    driving = flight.claim()
    source = (drive(parts, link, plan, looked, flight, started) if driving
              else follow(parts, plan, flight, started))
    handed = False
    try:
        async with aclosing(source) as items:
            async for item in items:
                handed = handed or isinstance(item, Chunk)
                yield item
    except LlmxError as exc:
        if driving or handed or flights is None or not _worth_again(exc):
            raise
        again = fly(parts, link, plan, None, flights.board(plan.flight_key), started)
        async with aclosing(again) as items:
            async for item in items:
                yield item


def _worth_again(error: LlmxError) -> bool:
    from llmx.fallback import may_fall_back

    return may_fall_back(error)


async def drive(parts: Parts, link: Link | None, plan: Plan, looked: Looked | None,
                flight: Flight, started: float) -> AsyncGenerator[Chunk | Completion, None]:
    """Look further (or up, for a call that joined without looking), send, hand each chunk
    to the caller and the flight; then store and record; then the Completion."""
    seen = tally(parts, plan, started)
    hit: Hit | None = None
    lease: Lease | None = None
    try:
        looked = look_up(parts, plan) if looked is None else looked
        if looked.remote:  # a provider embedder: its semantic look-up is an HTTP call
            looked = await look_further(parts, plan, looked)
        hit = looked.hit
        if hit is None and _shared(parts, plan):  # another process may be sending it: wait
            hit, lease = await _lead_or_wait(parts, plan)
        chunks = replay(hit) if hit is not None else send(link, plan.prepared.request)
        async with aclosing(chunks) as arriving:
            async for chunk in arriving:
                seen.add(chunk)
                flight.publish(chunk)
                yield chunk
        completion = seen.completion(hit)
        if hit is None:
            await store(parts, plan, looked, completion, seen.pieces)
    except BaseException as exc:
        flight.fail(exc)
        record(parts, plan, seen.completion(hit), hit, 0.0 if looked is None
               else looked.lookup_ms, exc)
        raise
    finally:
        if lease is not None:
            lease.release()  # after the store: a waiter now finds the answer, or sends
    flight.land(hit)  # after the store: a call made from now on finds the answer cached
    record(parts, plan, completion, hit, looked.lookup_ms)
    yield completion


def _shared(parts: Parts, plan: Plan) -> bool:
    """Does ``plan`` go through a shared (Redis) cache that leases requests across
    processes (a call that both reads and writes it)?"""
    cache = parts.cache
    return (cache is not None and plan.keys is not None and cache.settings.backend == "redis"
            and plan.policy.read and plan.policy.write)


async def _lead_or_wait(parts: Parts, plan: Plan) -> tuple[Hit | None, Lease | None]:
    """Across processes (``llmx.cache.leases``), for a ``_shared`` plan: (another process's
    answer, None), or (None, the lease to send under)."""
    cache, keys = parts.cache, plan.keys
    assert cache is not None and keys is not None
    from llmx.cache.leases import Lease, lead_or_wait

    won = await lead_or_wait(cache, keys)
    return (None, won) if isinstance(won, Lease) else (won, None)


async def follow(parts: Parts, plan: Plan, flight: Flight, started: float
                 ) -> AsyncGenerator[Chunk | Completion, None]:
    """A follower: the flight's chunks as they come (its error, if it fails); then the
    Completion, timed from this call's start, and its record (``shared``: it cost no
    request; tier ``off``: it looked nothing up)."""
    seen = tally(parts, plan, started)
    async for chunk in flight.replay():
        seen.add(chunk)
        yield chunk
    completion = seen.completion(flight.hit)
    record(parts, plan, completion, None, 0.0, shared=True)
    yield completion
