"""Secrets a provider echoes, masked in its answers as they arrive. Pure.

A provider (or a proxy in front of it) may repeat the request's API key in an answer's text.
``Scrubber`` masks every registered secret (``llmx.errors.register_secret``: each API key
llmx resolves) in a stream of Chunks before anything else sees them — the caller, the
terminal, a batch's output file, the cache, the logs and a proxy's clients alike — so that
an answer stored or shown never holds one. A secret may be split across chunks: the end of
a chunk that could be the start of a secret is held back until the next chunk shows whether
it is (then masked) or not (then passed on), and is passed on with the last chunk at the
latest. Text that cannot be the start of a secret is never held, so a stream is not slowed.

With no secret registered (the embedded simulator, a local server without a key) ``scrub``
returns the stream itself: nothing is added on the path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection

from llmx.errors import mask, registered_secrets
from llmx.types import Chunk, ToolCall


class Scrubber:
    """Masks ``secrets`` in text fed piece by piece (``feed``, then ``flush`` at the end)."""

    __slots__ = ("_held", "_secrets")

    def __init__(self, secrets: Collection[str]) -> None:
        self._secrets = sorted(secrets, key=len, reverse=True)  # the longest first
        self._held = ""

    def feed(self, text: str) -> str:
        """What of ``self``'s text so far can be passed on now, masked."""
        text = self.whole(self._held + text)
        cut = self._hold_from(text)
        self._held = text[cut:]
        return text[:cut]

    def flush(self) -> str:
        """The text still held (the stream ended: it is no secret's start any more)."""
        held, self._held = self._held, ""
        return held

    def whole(self, text: str) -> str:
        """``text`` with every whole secret masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, mask(secret))
        return text

    def _hold_from(self, text: str) -> int:
        """Where the longest end of ``text`` that begins some secret starts (len: none)."""
        cut = len(text)
        for secret in self._secrets:
            start = max(0, len(text) - len(secret) + 1)
            at = text.find(secret[0], start)
            while at != -1 and at < cut:
                if secret.startswith(text[at:]):
                    cut = at
                    break
                at = text.find(secret[0], at + 1)
        return cut


def scrub_whole(chunk: Chunk, secrets: Collection[str] | None = None) -> Chunk:
    """A whole answer (one Chunk: a reply that was not streamed) with the registered
    secrets (or ``secrets``) masked."""
    known = registered_secrets() if secrets is None else secrets
    if not known:
        return chunk
    scrubber = Scrubber(known)
    return chunk._replace(text=scrubber.whole(chunk.text),
                          reasoning=scrubber.whole(chunk.reasoning),
                          refusal=scrubber.whole(chunk.refusal),
                          tool_calls=tuple(_call(scrubber, call) for call in chunk.tool_calls))


def scrub(chunks: AsyncIterator[Chunk], secrets: Collection[str] | None = None
          ) -> AsyncIterator[Chunk]:
    """``chunks`` with the registered secrets (or ``secrets``) masked; see the docstring."""
    known = registered_secrets() if secrets is None else secrets
    return chunks if not known else _scrubbed(chunks, known)


async def _scrubbed(chunks: AsyncIterator[Chunk], secrets: Collection[str]
                    ) -> AsyncIterator[Chunk]:
    text, reasoning, refusal = Scrubber(secrets), Scrubber(secrets), Scrubber(secrets)
    try:
        async for chunk in chunks:
            said, thought, refused = (text.feed(chunk.text), reasoning.feed(chunk.reasoning),
                                      refusal.feed(chunk.refusal))
            if chunk.finish_reason is not None:  # the answer's end: nothing is held past it
                said, thought, refused = (said + text.flush(), thought + reasoning.flush(),
                                          refused + refusal.flush())
            yield chunk._replace(text=said, reasoning=thought, refusal=refused,
                                 tool_calls=tuple(_call(text, c) for c in chunk.tool_calls))
    except Exception:  # a stream cut off: what was held is handed over before the error
        held = _rest(text, reasoning, refusal)
        if held is not None:
            yield held
        raise
    held = _rest(text, reasoning, refusal)
    if held is not None:
        yield held


def _rest(text: Scrubber, reasoning: Scrubber, refusal: Scrubber) -> Chunk | None:
    rest, thought, refused = text.flush(), reasoning.flush(), refusal.flush()
    return Chunk(text=rest, reasoning=thought, refusal=refused) if (
        rest or thought or refused) else None


def _call(scrubber: Scrubber, call: ToolCall) -> ToolCall:
    return call._replace(arguments=scrubber.whole(call.arguments))
