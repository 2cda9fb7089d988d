"""Every closed set of string choices, declared once: a ``Literal`` alias for the type checker
and the tuple of its values (``typing.get_args``) for checks, messages and help.

Standard library only and import-cheap (it is on the CLI's fast path). A module that needs a
set imports it from here; the order of a tuple is the order messages and help list it in.
"""

from __future__ import annotations

from typing import Final, Literal, TypeVar, get_args

_T = TypeVar("_T", bound=str)

Provider = Literal["openai", "anthropic", "ollama", "azure"]
"""The ``provider`` of a profile: which wire format (codec) it speaks."""
PROVIDERS: Final[tuple[Provider, ...]] = get_args(Provider)

OpenAIApi = Literal["chat", "responses"]
"""``api`` of an ``openai`` or ``azure`` profile: Chat Completions or the Responses API."""
OPENAI_APIS: Final[tuple[OpenAIApi, ...]] = get_args(OpenAIApi)

TokenParam = Literal["max_tokens", "max_completion_tokens"]
"""``token_param``: the Chat Completions field that carries ``max_tokens``."""
TOKEN_PARAMS: Final[tuple[TokenParam, ...]] = get_args(TokenParam)

CacheMode = Literal["read-write", "read", "write", "off"]
"""``cache.mode``: whether the cache is read, written, both or neither."""
CACHE_MODES: Final[tuple[CacheMode, ...]] = get_args(CacheMode)

CacheBackend = Literal["disk", "redis"]
"""``cache.backend``: where answers and vectors are kept (this machine, or a shared Redis)."""
CACHE_BACKENDS: Final[tuple[CacheBackend, ...]] = get_args(CacheBackend)

Embedder = Literal["auto", "lexical", "model", "provider"]
"""``cache.embedder``: how prompts become vectors for semantic hits."""
EMBEDDERS: Final[tuple[Embedder, ...]] = get_args(Embedder)

RuleMode = Literal["conservative", "aggressive"]
"""A set of compression rules (``llmx compress --mode``, ``compress.rules``)."""
RULE_MODES: Final[tuple[RuleMode, ...]] = get_args(RuleMode)

CompressionMode = Literal["off", RuleMode]
"""``compression.mode`` and ``--compress``: no compression, or a set of rules."""
COMPRESSION_MODES: Final[tuple[CompressionMode, ...]] = get_args(CompressionMode)

ContentKind = Literal["code", "json", "chat"]
"""What a prompt is (``cache.kinds.classify`` or a call's ``kind``); it picks the cache TTL."""
CONTENT_KINDS: Final[tuple[ContentKind, ...]] = get_args(ContentKind)

TtlKind = Literal["default", ContentKind]
"""The keys of ``cache.ttl``: a content kind, or ``default`` for kinds a profile does not list."""
TTL_KINDS: Final[tuple[TtlKind, ...]] = get_args(TtlKind)

ReasoningEffort = Literal["low", "medium", "high"]
"""``--reasoning-effort``: how hard a reasoning model thinks (``Request.reasoning_effort``)."""
REASONING_EFFORTS: Final[tuple[ReasoningEffort, ...]] = get_args(ReasoningEffort)

BatchMode = Literal["auto", "direct", "provider"]
"""``llmx batch --mode``: decide from ``--deadline`` and the estimated saving, one request per
line, or the provider's Batch API (``llmx.batch.choose``)."""
BATCH_MODES: Final[tuple[BatchMode, ...]] = get_args(BatchMode)

HitTier = Literal["exact", "semantic"]
"""How a cached answer was found: the same request, or a near-identical prompt."""
HIT_TIERS: Final[tuple[HitTier, ...]] = get_args(HitTier)

RecordTier = Literal[HitTier, "miss", "off"]
"""A request record's tier: a hit's, ``miss`` (looked up, not found) or ``off`` (the cache
was not consulted)."""
RECORD_TIERS: Final[tuple[RecordTier, ...]] = get_args(RecordTier)

EMBEDDED: Final = "embedded"
"""The ``base_url`` that asks for the embedded simulator (started for the command's duration)."""


def member(value: str, options: tuple[_T, ...]) -> _T | None:
    """``value`` typed as one of ``options`` (e.g. ``member(mode, RULE_MODES)`` is a
    ``RuleMode``), or ``None`` when it is not one of them."""
    for option in options:
        if option == value:
            return option
    return None
