"""The pipeline as one async ``Client``. No printing: the CLI and library share it.

    async with Client(profile) as client:
        completion = await client.generate("hello")
        answer = client.stream("hello")
        async for chunk in answer:
            print(chunk.text, end="")
        answer.completion()          # text, usage, latency_ms, ttft_ms

A profile whose ``base_url`` is ``"embedded"`` (the built-in ``sim`` profile) starts the
embedded simulator on a free loopback port for the life of the client.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, aclosing
from types import TracebackType
from typing import TYPE_CHECKING, Any

from llmx.config.secrets import resolve_api_key
from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.registry import codec_for
from llmx.types import Chunk, Completion, Message, Request, Usage

if TYPE_CHECKING:
    from llmx.config.profile import Profile

EMBEDDED = "embedded"


def endpoint_for(profile: Profile, base_url: str | None = None) -> Endpoint:
    http = profile.http
    return Endpoint(
        base_url=base_url or profile.base_url,
        timeout=profile.timeout,
        connect_timeout=http.connect_timeout,
        read_timeout=http.read_timeout,
        retries=profile.retries,
        max_connections=http.max_connections,
        max_keepalive=http.max_keepalive,
        keepalive_expiry=http.keepalive_expiry,
        http2=http.http2,
    )


def build_request(
    profile: Profile,
    prompt: str | None = None,
    *,
    messages: tuple[Message, ...] = (),
    system: str | None = None,
    model: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    stream: bool = True,
) -> Request:
    """A Request from a prompt and/or messages; call values win over the profile's."""
    if prompt is not None:
        messages = (*messages, Message("user", prompt))
    return Request(
        model=model or profile.model,
        messages=messages,
        system=system,
        temperature=profile.temperature if temperature is None else temperature,
        max_tokens=profile.max_tokens if max_tokens is None else max_tokens,
        stream=stream,
    )


class Answer:
    """A streamed answer: iterate it for Chunks, then ask for the Completion."""

    def __init__(self, chunks: AsyncIterator[Chunk], provider: str, model: str,
                 clock: Callable[[], float]) -> None:
        self._chunks = chunks
        self._provider = provider
        self._model = model
        self._clock = clock
        self._started = clock()
        self._parts: list[str] = []
        self._ttft: float | None = None
        self._usage = Usage()
        self._finish: str | None = None
        self._done: float | None = None

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Chunk]:
        async with aclosing(self._chunks) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                self._absorb(chunk)
                yield chunk
        self._done = self._clock()

    def _absorb(self, chunk: Chunk) -> None:
        if chunk.text:
            if self._ttft is None:
                self._ttft = self._clock()
            self._parts.append(chunk.text)
        if chunk.usage is not None:
            self._usage = chunk.usage
        if chunk.model:
            self._model = chunk.model
        if chunk.finish_reason:
            self._finish = chunk.finish_reason

    def completion(self) -> Completion:
        end = self._done if self._done is not None else self._clock()
        ttft = None if self._ttft is None else (self._ttft - self._started) * 1000
        return Completion(
            text="".join(self._parts), model=self._model, provider=self._provider,
            usage=self._usage, latency_ms=(end - self._started) * 1000, ttft_ms=ttft,
            finish_reason=self._finish,
        )


class Client:
    """Async client for one profile. Use as ``async with Client(profile) as client``."""

    def __init__(
        self,
        profile: Profile,
        *,
        engine: HttpEngine | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.profile = profile
        self._engine = engine if engine is not None else HttpEngine()
        self._owns_engine = engine is None
        self._env = os.environ if env is None else env
        self._clock = clock
        self._codec = codec_for(profile.provider)
        self._endpoint: Endpoint | None = None
        self._api_key: str | None = None
        self._key_resolved = False
        self._stack = AsyncExitStack()

    def __repr__(self) -> str:
        return f"Client(profile={self.profile.name!r}, provider={self.profile.provider!r})"

    async def __aenter__(self) -> Client:
        base_url = None
        if self.profile.base_url == EMBEDDED:
            from llmx.sim import SimOptions, SimServer

            sim = await self._stack.enter_async_context(SimServer(SimOptions()))
            base_url = sim.base_url + _embedded_path(self.profile.provider)
        self._endpoint = endpoint_for(self.profile, base_url)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._owns_engine:
            await self._engine.aclose()
        await self._stack.aclose()

    def _key(self) -> str | None:
        if not self._key_resolved:
            self._api_key = resolve_api_key(self.profile, self._env)
            self._key_resolved = True
        return self._api_key

    def _ep(self) -> Endpoint:
        if self._endpoint is None:
            raise RuntimeError("use `async with Client(...)` before sending requests")
        return self._endpoint

    async def generate(self, prompt: str | None = None, **options: Any) -> Completion:
        """Send one non-streamed request and return the whole Completion."""
        request = build_request(self.profile, prompt, stream=False, **options)
        call = self._codec.build(request, self._key())
        started = self._clock()
        chunk = await self._engine.request(self._ep(), call, self._codec)
        latency = (self._clock() - started) * 1000
        return Completion(
            text=chunk.text, model=chunk.model or request.model, provider=self.profile.provider,
            usage=chunk.usage or Usage(), latency_ms=latency, ttft_ms=latency,
            finish_reason=chunk.finish_reason,
        )

    def stream(self, prompt: str | None = None, **options: Any) -> Answer:
        """Start a streamed request; iterate the returned Answer for Chunks."""
        request = build_request(self.profile, prompt, stream=True, **options)
        call = self._codec.build(request, self._key())
        chunks = self._engine.stream(self._ep(), call, self._codec)
        return Answer(chunks, self.profile.provider, request.model, self._clock)

    def stats(self) -> dict[str, int]:
        return self._engine.stats.as_dict()


def _embedded_path(provider: str) -> str:
    """The simulator serves every wire format; OpenAI-style base URLs end in /v1."""
    return "/v1" if provider == "openai" else ""
