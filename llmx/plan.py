"""The request path's values (``llmx.steps``): a call's options (``Call``), the request it
prepares to (``Prepared``, by ``llmx.prepare``), the ``Plan`` (a call prepared once, with
its keys) and what a look-up found (``Looked``). Named tuples: ``x._replace(...)`` gives a
changed copy; equality is by value.
"""

# No ``from __future__ import annotations`` here: a named tuple's string annotations are
# compiled when its class is made (the first compile of a process costs ~3 ms, and a
# cache hit imports this module).

from typing import Any, NamedTuple

from llmx.cache.types import Hit, Keys, Policy
from llmx.types import Image, Message, Request

__all__ = ["NOT_LOOKED", "Call", "FlightKey", "Looked", "Plan", "Prepared", "Vector"]


class Call(NamedTuple):
    """One call's options; None means "the profile's value"."""

    system: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    no_cache: bool = False
    refresh: bool = False
    kind: str | None = None
    compress: str | None = None  # one of choices.COMPRESSION_MODES, checked by check_call
    history: tuple[Message, ...] = ()
    tools: str | None = None  # Request.tools: canonical JSON (llmx.tooling.canonical_tools)
    tool_choice: str | None = None  # "auto" | "required" | "none" | a tool's name
    schema: str | None = None  # Request.schema: canonical JSON (tooling.canonical_schema)
    reasoning_effort: str | None = None  # one of choices.REASONING_EFFORTS, checked by check_call
    images: tuple[Image, ...] = ()  # attached to the prompt's message (``-a``; llmx.attach)


class Prepared(NamedTuple):
    """A request ready to look up and send, and what preparing it did."""

    request: Request
    tokens_before: int | None = None  # prompt tokens before compression (None: not counted)
    tokens_after: int | None = None
    compressor: str | None = None  # "<mode>:<version>" when compressed; part of the cache key
    omitted_tokens: int = 0  # dropped to fit the context window
    approximate: bool = False  # counted with a stand-in encoding

    @property
    def tokens_saved(self) -> int:
        if self.tokens_before is None or self.tokens_after is None:
            return 0
        return self.tokens_before - self.tokens_after

Vector = Any  # a numpy row; numpy is imported by the cache's semantic tier only
FlightKey = tuple[str, bool, bool]


class Plan(NamedTuple):
    """A call prepared once: what is sent, and the keys it is known by."""

    prepared: Prepared
    key: str  # the exact cache key, with the cache on or off: equal keys, equal answers
    call: Call
    keys: Keys | None  # the cache's keys; None when this Client has no cache
    policy: Policy  # what this call may do with the cache
    at: float = 0.0  # the Client's clock when it was planned (0: unknown)
    queued_ms: float = 0.0  # from planning to sending, set when it is sent (batch: the queue)

    @property
    def flight_key(self) -> FlightKey:
        """Calls share a flight only with the same key and the same cache policy: a
        ``--refresh`` or ``--no-cache`` call is never answered from a flight that may read
        (or write) the cache."""
        return (self.key, self.policy.read, self.policy.write)

    def sent_as(self, stream: bool) -> "Plan":
        """This plan asking the provider for a stream (True) or one body (False)."""
        request = self.prepared.request
        if request.stream == stream:
            return self
        return self._replace(prepared=self.prepared._replace(
            request=request._replace(stream=stream)))


class Looked(NamedTuple):
    """What a look-up found."""

    hit: Hit | None = None
    vector: Vector | None = None  # the prompt's vector, when the semantic tier made one
    remote: bool = False  # a provider embedder still has to be asked (asynchronous)
    lookup_ms: float = 0.0


NOT_LOOKED = Looked()
