"""A streamed answer: iterate it for Chunks, then ask it for the Completion.

``Answer`` is what ``Client.stream`` returns. It is made whole, once: what the call sends
(its ``Prepared`` request) and the request path's generator (``llmx.steps``), which yields
the answer's Chunks and, after the last one, the call's Completion. ``Tally`` is how a
generator turns the Chunks it saw into that Completion (text, usage, model, finish reason,
tool calls in the order they came, refusal text, reasoning text, latency and time to first
token: the first text or refusal piece; reasoning does not count as the first token).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING

from llmx.types import CacheTier, Chunk, Completion, ToolCall, Usage

if TYPE_CHECKING:
    from llmx.cache.tiers import Hit
    from llmx.prepare import Prepared


class Answer:
    """One call's answer. ``async for chunk in answer`` gives its Chunks (a cache hit replays
    the original ones); ``completion()`` is valid once the iteration has ended. ``cached``
    is known before the first chunk: the tier of the cache hit it replays, or False."""

    __slots__ = ("_completion", "_source", "cached", "prepared")

    def __init__(self, prepared: Prepared, source: AsyncGenerator[Chunk | Completion, None],
                 cached: CacheTier = False) -> None:
        self.prepared = prepared  # what is sent: compressed and fitted, with token counts
        self._source = source
        self.cached = cached
        self._completion: Completion | None = None

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[Chunk]:
        async with aclosing(self._source) as items:  # closing the Answer closes its source
            async for item in items:
                if isinstance(item, Completion):
                    self._completion = item
                else:
                    yield item

    def completion(self) -> Completion:
        """The whole answer; raises ``RuntimeError`` before the iteration has ended."""
        if self._completion is None:
            raise RuntimeError("iterate the Answer to its end before asking for its Completion")
        return self._completion

    async def collect(self) -> Completion:
        """Iterate to the end; the Completion."""
        async for _ in self:
            pass
        return self.completion()


class Tally:
    """The Completion of the Chunks ``add``-ed so far, timed from ``started``."""

    __slots__ = ("_calls", "_clock", "_finish_reason", "_model", "_provider", "_reasoning",
                 "_refusal", "_started", "_ttft", "_usage", "pieces")

    def __init__(self, provider: str, model: str, clock: Callable[[], float],
                 started: float) -> None:
        self._provider, self._model, self._clock, self._started = provider, model, clock, started
        self.pieces: list[str] = []
        self._ttft: float | None = None
        self._usage = Usage()
        self._finish_reason: str | None = None
        self._calls: list[ToolCall] = []
        self._refusal: list[str] = []
        self._reasoning: list[str] = []

    def add(self, chunk: Chunk) -> None:
        if chunk.text or chunk.refusal:
            if self._ttft is None:
                self._ttft = self._clock()
            if chunk.text:
                self.pieces.append(chunk.text)
            if chunk.refusal:
                self._refusal.append(chunk.refusal)
        if chunk.reasoning:
            self._reasoning.append(chunk.reasoning)
        if chunk.tool_calls:
            self._calls.extend(chunk.tool_calls)
        if chunk.usage is not None:
            self._usage = chunk.usage
        if chunk.model:
            self._model = chunk.model
        if chunk.finish_reason:
            self._finish_reason = chunk.finish_reason

    def completion(self, hit: Hit | None) -> Completion:
        """The answer as it stands now (``hit``: the cache entry it was replayed from)."""
        ttft = None if self._ttft is None else (self._ttft - self._started) * 1000
        return Completion(
            text="".join(self.pieces), model=self._model,
            provider=hit.entry.provider if hit else self._provider, usage=self._usage,
            latency_ms=(self._clock() - self._started) * 1000, ttft_ms=ttft,
            finish_reason=self._finish_reason, cached=hit.tier if hit else False,
            similarity=hit.similarity if hit else None, tool_calls=tuple(self._calls),
            refusal="".join(self._refusal), reasoning="".join(self._reasoning),
        )


async def replay(hit: Hit) -> AsyncGenerator[Chunk, None]:
    """A cache entry as the Chunks it was first streamed in (usage, tool calls and ending on
    the last), after one Chunk with its stored reasoning text, if any."""
    entry = hit.entry
    pieces = entry.pieces()
    usage = Usage(entry.input_tokens, entry.output_tokens)
    if entry.reasoning:
        yield Chunk(reasoning=entry.reasoning, model=entry.model)
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        yield Chunk(text=piece, usage=usage if last else None, model=entry.model,
                    finish_reason=entry.finish_reason if last else None,
                    tool_calls=entry.tool_calls if last else ())
    if not pieces:
        yield Chunk(usage=usage, model=entry.model, finish_reason=entry.finish_reason,
                    tool_calls=entry.tool_calls)
