"""A streamed answer: iterate it for Chunks, then ask it for the Completion."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from llmx.types import Chunk, Completion, Usage

if TYPE_CHECKING:
    from llmx.cache.tiers import Hit
    from llmx.prepare import Prepared


class Answer:
    """A streamed answer: iterate it for Chunks, then ask for the Completion."""

    def __init__(self, provider: str, model: str, clock: Callable[[], float],
                 on_done: Callable[[Answer, BaseException | None], None] | None = None,
                 started: float | None = None) -> None:
        self.source: AsyncIterator[Chunk] | None = None  # set by the Client
        self.hit: Hit | None = None  # set when the answer comes from the cache
        self.prepared: Prepared | None = None  # what was sent (compressed, fitted)
        self._provider = provider
        self._model = model
        self._clock = clock
        self._on_done = on_done
        self._started = clock() if started is None else started
        self.pieces: list[str] = []
        self._ttft: float | None = None
        self._usage = Usage()
        self._finish_reason: str | None = None
        self._done: float | None = None

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Chunk]:
        if self.source is None:
            raise RuntimeError("an Answer is made by Client.stream()")
        try:
            async for chunk in self.source:
                self._absorb(chunk)
                yield chunk
        except BaseException as exc:
            self._end(exc)
            raise
        self._end(None)

    def _end(self, error: BaseException | None) -> None:
        self._done = self._clock()
        if self._on_done is not None:
            self._on_done(self, error)

    def _absorb(self, chunk: Chunk) -> None:
        if chunk.text:
            if self._ttft is None:
                self._ttft = self._clock()
            self.pieces.append(chunk.text)
        if chunk.usage is not None:
            self._usage = chunk.usage
        if chunk.model:
            self._model = chunk.model
        if chunk.finish_reason:
            self._finish_reason = chunk.finish_reason

    def completion(self) -> Completion:
        end = self._done if self._done is not None else self._clock()
        ttft = None if self._ttft is None else (self._ttft - self._started) * 1000
        hit = self.hit
        return Completion(
            text="".join(self.pieces), model=self._model,
            provider=hit.entry.provider if hit else self._provider,
            usage=self._usage, latency_ms=(end - self._started) * 1000, ttft_ms=ttft,
            finish_reason=self._finish_reason, cached=hit.tier if hit else False,
            similarity=hit.similarity if hit else None,
        )


async def replay(hit: Hit) -> AsyncIterator[Chunk]:
    entry = hit.entry
    pieces = entry.pieces()
    usage = Usage(entry.input_tokens, entry.output_tokens)
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        yield Chunk(text=piece, usage=usage if last else None, model=entry.model,
                    finish_reason=entry.finish_reason if last else None)
    if not pieces:
        yield Chunk(usage=usage, model=entry.model, finish_reason=entry.finish_reason)
