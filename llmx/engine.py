"""The pipeline as one async ``Client``. No printing: the CLI and library share it.

    async with Client(profile) as client:
        completion = await client.generate("hello")
        answer = client.stream("hello")
        async for chunk in answer:
            print(chunk.text, end="")
        answer.completion()          # text, usage, latency_ms, ttft_ms, cached

Every request goes: cache (exact, then semantic) -> HTTP engine -> cache write, and
appends one record (see ``llmx.records``). ``Client.cached`` is the synchronous cache-only
first half, so a caller can answer hits without starting an event loop or importing httpx.

Only complete answers are cached (``llmx.cache.complete``). Answers before state: when the
cache, the index or the records cannot be read or written, the answer is delivered anyway
and ``warn`` (see ``llmx.state``) gets one line for the whole run.

A profile whose ``base_url`` is ``"embedded"`` (the built-in ``sim`` profile) starts the
embedded simulator on a free loopback port for the life of the client.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from llmx.answer import Answer, replay
from llmx.cache.complete import is_complete
from llmx.cache.keys import endpoint_of, exact_key
from llmx.cache.setup import open_cache
from llmx.cache.tiers import Hit, Keys, Policy, TieredCache, completion_from
from llmx.errors import LlmxError
from llmx.paths import records_dir, state_dir
from llmx.prepare import Call, Prepared, prepare
from llmx.records import Record, RecordLog, error_name
from llmx.state import Once, StateUnavailable, Warn, to_stderr
from llmx.types import Chunk, Completion, Request, Usage

if TYPE_CHECKING:
    import numpy as np

    from llmx.batch.jobs import Job
    from llmx.batch.output import Result
    from llmx.config.profile import Profile
    from llmx.providers.base import Codec
    from llmx.providers.http import Endpoint, HttpEngine

EMBEDDED = "embedded"
MEMO_LIMIT = 4096  # prepared calls kept between cache_key() and their send


def endpoint_for(profile: Profile, base_url: str | None = None) -> Endpoint:
    from llmx.providers.http import Endpoint

    http = profile.http
    return Endpoint(
        base_url=base_url or profile.base_url, timeout=profile.timeout,
        connect_timeout=http.connect_timeout, read_timeout=http.read_timeout,
        retries=profile.retries, max_connections=http.max_connections,
        max_keepalive=http.max_keepalive, keepalive_expiry=http.keepalive_expiry, http2=http.http2,
    )


@dataclass(slots=True)
class _Probe:
    """The synchronous half of a cache lookup, carried into the asynchronous half."""

    keys: Keys | None
    hit: Hit | None
    vector: np.ndarray | None
    remote_semantic: bool  # a provider embedder still has to be asked
    lookup_ms: float
    read: bool = True  # the policy it was made under


class Client:
    """Async client for one profile. Use as ``async with Client(profile) as client``.

    ``state=False`` keeps the client from touching disk (no cache, no records). ``warn`` gets
    the client's warnings, one line each (default: ``warning: ...`` on stderr); pass one
    ``llmx.state.Once`` to several clients to say each kind of trouble once among them.
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
    ) -> None:
        self.profile = profile
        self._warnings = warn if isinstance(warn, Once) else Once(warn or to_stderr)
        self._env = os.environ if env is None else env
        self._engine = engine
        self._owns_engine = engine is None
        self._clock = clock
        self._wall = wall
        self._endpoint: Endpoint | None = None
        self._api_key: str | None = None
        self._key_resolved = False
        self._stack = AsyncExitStack()
        on = state and profile.cache.mode != "off"
        self._cache = (open_cache(profile, self._env, self._fetch_embeddings, wall,
                                  self._warnings.notice) if on else None)
        self._records = RecordLog(records_dir(self._env), group_s=1.0) if state else None
        self._last_probe: _Probe | None = None  # a miss, kept so stream() need not look again
        self._memo: dict[tuple[str, Call, bool], tuple[Prepared, Keys | None]] = {}
        self._tokenizers = state_dir(self._env) / "tokenizers" if state else None

    def __repr__(self) -> str:
        return f"Client(profile={self.profile.name!r}, provider={self.profile.provider!r})"

    async def __aenter__(self) -> Client:
        from llmx.providers.http import HttpEngine

        if self._engine is None:
            self._engine = HttpEngine()
        base_url = None
        if self.profile.base_url == EMBEDDED:
            from llmx.sim import SimOptions, SimServer

            sim = await self._stack.enter_async_context(SimServer(SimOptions()))
            base_url = sim.base_url + _embedded_path(self.profile.provider)
        self._endpoint = endpoint_for(self.profile, base_url)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._owns_engine and self._engine is not None:
            await self._engine.aclose()
        await self._stack.aclose()
        self.close()

    def close(self) -> None:
        """Release the cache's files, write queued records (``async with`` does this on exit)."""
        if self._cache is not None:
            self._cache.close()
        if self._records is not None:
            try:
                self._records.close()
            except (OSError, LlmxError) as exc:
                self._warnings.state_failed("write the request record", exc)

    # -- the cache half (synchronous) -------------------------------------------------------

    def cached(self, prompt: str, call: Call | None = None) -> Completion | None:
        """The answer from the cache (exact, then a local semantic match), or None.

        Synchronous: needs no event loop and never imports the HTTP stack. Records a hit.
        """
        call = call or Call()
        prepared, keys = self._prepared(prompt, call, False)
        probe = self._probe(prepared, keys, call)
        if probe.hit is None:
            return None
        completion = completion_from(probe.hit, probe.lookup_ms)
        self._record(completion, probe.hit, probe.lookup_ms, prepared)
        return completion

    def prepare(self, prompt: str, call: Call | None = None, *, stream: bool = False
                ) -> Prepared:
        """The Request this call would send: compressed and fitted, with its token counts."""
        return prepare(self.profile, prompt, call or Call(), stream=stream,
                       tokenizers=self._tokenizers)

    def cache_key(self, prompt: str, call: Call | None = None) -> str:
        """The exact cache key of this call, whether the cache is on or off: two calls with
        the same key get the same answer, so a batch can send them once."""
        prepared, keys = self._prepared(prompt, call or Call(), False, keep=True)
        if keys is not None:
            return keys.exact
        return exact_key(prepared.request, provider=self.profile.provider,
                         endpoint=endpoint_of(self.profile.base_url),
                         compressor=prepared.compressor)

    def _prepared(self, prompt: str, call: Call, stream: bool, *, keep: bool = False
                  ) -> tuple[Prepared, Keys | None]:
        """Prepare once per call: ``cache_key`` keeps its work for the send that follows."""
        memo = (prompt, call, stream)
        found = self._memo.get(memo) if keep else self._memo.pop(memo, None)
        if found is not None:
            return found
        prepared = self.prepare(prompt, call, stream=stream)
        keys = None if self._cache is None else self._cache.keys(prepared.request,
                                                                  prepared.compressor)
        if keep:
            if len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()
            self._memo[memo] = (prepared, keys)
        return prepared, keys

    def _probe(self, prepared: Prepared, keys: Keys | None, call: Call) -> _Probe:
        """Exact lookup, then semantic with a local embedder; remembered for the next call."""
        if self._cache is None or keys is None:
            return _Probe(None, None, None, False, 0.0)
        last = self._last_probe
        policy = self._policy(call)
        if last is not None and last.keys == keys and last.read == policy.read:
            return last
        started = self._clock()
        hit, vector = None, None
        if policy.read:
            hit = self._cache.exact(keys)
            if hit is None and not self._cache.embeds_async:
                vector = self._cache.query_vector(keys)
                hit = self._semantic(self._cache, keys, vector)
        probe = _Probe(keys, hit, vector, policy.read and hit is None and self._cache.embeds_async,
                       (self._clock() - started) * 1000, policy.read)
        self._last_probe = probe if hit is None else None
        return probe

    def _semantic(self, cache: TieredCache, keys: Keys, vector: np.ndarray | None
                  ) -> Hit | None:
        try:
            return cache.semantic(keys, vector)
        except StateUnavailable as exc:
            self._warnings.state_failed("search the semantic cache", exc)
            return None

    def _policy(self, call: Call) -> Policy:
        return Policy.of(self.profile.cache.mode, no_cache=call.no_cache, refresh=call.refresh)

    # -- the full pipeline -------------------------------------------------------------------

    async def generate(self, prompt: str, call: Call | None = None) -> Completion:
        """One answer, whole: from the cache, or from the provider (then cached)."""
        answer = self.stream(prompt, call, wire_stream=False)
        async for _ in answer:
            pass
        return answer.completion()

    def stream(self, prompt: str, call: Call | None = None, *, wire_stream: bool = True
               ) -> Answer:
        """Start an answer; iterate the returned Answer for Chunks (hits replay as chunks).

        ``wire_stream=False`` asks the provider for one JSON body instead of a stream.
        """
        call = call or Call()
        started = self._clock()  # latency includes preparing and the cache lookup
        prepared, keys = self._prepared(prompt, call, wire_stream)
        probe = self._probe(prepared, keys, call)
        answer = Answer(self.profile.provider, prepared.request.model, self._clock,
                        on_done=lambda a, e: self._finish(a, e, prepared, call, probe),
                        started=started)
        answer.prepared = prepared
        answer.source = self._answer(prepared.request, probe, answer)
        return answer

    async def _answer(self, request: Request, probe: _Probe, answer: Answer
                      ) -> AsyncIterator[Chunk]:
        hit = probe.hit
        if hit is None and probe.remote_semantic and self._cache is not None:
            assert probe.keys is not None
            started = self._clock()
            try:
                probe.vector = await self._cache.aquery_vector(probe.keys)
            except LlmxError:
                probe.vector = None  # no embeddings today: answer without the semantic tier
            hit = self._semantic(self._cache, probe.keys, probe.vector)
            probe.lookup_ms += (self._clock() - started) * 1000
        if hit is not None:
            answer.hit = hit
            async for chunk in replay(hit):
                yield chunk
            return
        async for chunk in self._send(request):
            yield chunk

    async def _send(self, request: Request) -> AsyncIterator[Chunk]:
        engine, endpoint, codec = self._transport()
        http_call = codec.build(request, self._key())
        if request.stream:
            async for chunk in engine.stream(endpoint, http_call, codec):
                yield chunk
        else:
            yield await engine.request(endpoint, http_call, codec)

    def _finish(self, answer: Answer, error: BaseException | None, prepared: Prepared,
                call: Call, probe: _Probe) -> None:
        """After the last chunk (or an error): cache a complete answer, record the request."""
        completion = answer.completion()
        cache = self._cache
        if (answer.hit is None and cache is not None and probe.keys is not None
                and self._policy(call).write
                and is_complete(completion.text, completion.finish_reason, error)):
            chunks = tuple(len(p) for p in answer.pieces) if len(answer.pieces) > 1 else ()
            try:
                cache.save(probe.keys, prepared.request, completion, chunks, call.kind,
                           probe.vector)
            except StateUnavailable as exc:
                self._warnings.state_failed("save the answer to the cache", exc)
            self._last_probe = None
        self._record(completion, answer.hit, probe.lookup_ms, prepared, error)

    def _record(self, completion: Completion, hit: Hit | None, lookup_ms: float,
                prepared: Prepared, error: BaseException | None = None) -> None:
        if self._records is None:
            return
        tier = hit.tier if hit else ("miss" if self._cache is not None else "off")
        usage = completion.usage
        cost = self._cost(usage)
        spent = None if cost is None else (0.0 if hit else cost)
        saved = cost if hit else None
        record = Record(
            ts=self._wall(), profile=self.profile.name, provider=completion.provider,
            model=completion.model, tier=tier, similarity=hit.similarity if hit else None,
            lookup_ms=lookup_ms, latency_ms=completion.latency_ms, ttft_ms=completion.ttft_ms,
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            tokens_saved=prepared.tokens_saved,
            cost=spent, cost_saved=saved, status="ok" if error is None else "error",
            error=None if error is None else error_name(error))
        try:
            self._records.append(record)
        except (OSError, LlmxError) as exc:  # a full or read-only disk, a file in the way
            self._warnings.state_failed("write the request record", exc)

    async def provider_batch(self, jobs: Sequence[Job],
                             on_status: Callable[[str, Mapping[str, Any]], None] | None = None
                             ) -> list[Result]:
        """Answer ``jobs`` through the provider's Batch API (OpenAI, Anthropic): cheaper, slower."""
        from llmx.batch.jobs import call_for
        from llmx.batch.provider import run_provider_batch

        engine, endpoint, _ = self._transport()
        return await run_provider_batch(
            jobs, provider=self.profile.provider, engine=engine, endpoint=endpoint,
            api_key=self._key(), model=self.profile.model, on_status=on_status,
            to_request=lambda job: self.prepare(job.prompt or "", call_for(job)).request)

    async def _fetch_embeddings(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """Vectors from the profile's embeddings API (OpenAI /embeddings, Ollama /api/embed)."""
        from llmx.providers import ollama, openai

        engine, endpoint, codec = self._transport()
        module = ollama if self.profile.provider == "ollama" else openai
        body = await engine.request_body(
            endpoint, module.build_embeddings(model, list(texts), self._key()), codec)
        vectors: list[list[float]] = module.parse_embeddings(body)
        return vectors

    def _cost(self, usage: Usage) -> float | None:
        """Estimated money for these tokens at the profile's price (per 1M tokens)."""
        price = self.profile.price
        if price is None:
            return None
        return (usage.input_tokens * price.input + usage.output_tokens * price.output) / 1e6

    def _transport(self) -> tuple[HttpEngine, Endpoint, Codec]:
        if self._engine is None or self._endpoint is None:
            raise RuntimeError("use `async with Client(...)` before sending requests")
        from llmx.providers.registry import codec_for

        return self._engine, self._endpoint, codec_for(self.profile.provider)

    def _key(self) -> str | None:
        if not self._key_resolved:
            from llmx.config.secrets import resolve_api_key

            self._api_key = resolve_api_key(self.profile, self._env)
            self._key_resolved = True
        return self._api_key

    def stats(self) -> dict[str, int]:
        return {} if self._engine is None else self._engine.stats.as_dict()


def _embedded_path(provider: str) -> str:
    """The simulator serves every wire format; OpenAI-style base URLs end in /v1."""
    return "/v1" if provider == "openai" else ""
