"""Writing queued cache writes, and keeping the store within its limits.

Each step is one transaction per database (diskcache's ``transact()``); the order of the
steps is what keeps a crash harmless: the LRU order is written before the entries it ranks,
and entries are deleted before their order rows (either way a crash leaves order rows
without entries, which the next walk drops, or entries unknown to the order, which count as
the least recently used). Database failures surface as ``CacheUnavailable`` (``Moved``
when a damaged database was moved aside: ``CacheStore`` then retries once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from llmx.cache import recency, rows
from llmx.cache.databases import RECENCY, RESPONSES, VECTORS, CacheUnavailable, Databases
from llmx.cache.queue import Queued

_BYTE_PASSES: Final = 8  # culls by size per write, each one transaction


@dataclass(frozen=True, slots=True)
class Limits:
    """At most ``max_entries`` entries, and a responses database of at most ``max_bytes``."""

    max_entries: int
    max_bytes: int


def write_entries(dbs: Databases, entries: dict[str, Queued], touched: dict[str, int],
                  limits: Limits) -> None:
    """The LRU order first (a crash before the entries commit leaves order rows for
    entries that are not there: harmless), then the entries, then the limits."""
    stamp = recency.next_stamp()
    with dbs.failing(RESPONSES):
        responses = dbs.writer(RESPONSES)
    with dbs.failing(RECENCY):
        order = dbs.writer(RECENCY)
        with order.transact():
            recency.record(order, {**touched, **dict.fromkeys(entries, stamp)},
                           lambda key: key in entries or key in responses)
    with dbs.failing(RESPONSES):
        with responses.transact():
            for key, queued in entries.items():
                responses.set(key, queued.value, expire=queued.expire)
            responses.expire()
        if len(responses) > limits.max_entries or responses.volume() > limits.max_bytes:
            enforce_limits(dbs, responses, limits)


def write_vectors(dbs: Databases, vectors: dict[str, list[bytes]]) -> dict[str, int]:
    """Rows numbered from each embedder's counter, in one transaction; returns the last
    number written per embedder."""
    tops: dict[str, int] = {}
    with dbs.failing(VECTORS):
        cache = dbs.writer(VECTORS)
        with cache.transact():
            for embedder, payloads in vectors.items():
                try:
                    top = int(cache.incr(rows.counter_key(embedder), len(payloads)))
                except (TypeError, ValueError):
                    raise CacheUnavailable("the vector log's counter is damaged") from None
                for offset, payload in enumerate(payloads, top - len(payloads) + 1):
                    cache.set(rows.vector_key(embedder, offset), payload)
                tops[embedder] = top
    return tops


def enforce_limits(dbs: Databases, responses: Any, limits: Limits) -> int:
    """Evict beyond ``max_entries`` (LRU), then cull while over ``max_bytes``; returns the
    number of entries removed."""
    removed = _drop(dbs, responses, len(responses) - limits.max_entries)
    for _ in range(_BYTE_PASSES):
        volume, count = responses.volume(), len(responses)
        if volume <= limits.max_bytes or count == 0:
            break
        removed += _drop(dbs, responses, max(1, math.ceil(
            count * (volume - limits.max_bytes) / volume)))
    return removed


def _drop(dbs: Databases, responses: Any, count: int) -> int:
    """Delete the ``count`` least recently used entries (one transaction per database)."""
    if count <= 0:
        return 0
    with dbs.failing(RECENCY):
        order = dbs.writer(RECENCY)
        victims, dead = recency.oldest(order, lambda key: key in responses, count)
        if len(victims) < count:
            victims += recency.unknown(responses.iterkeys(), order, count - len(victims),
                                       set(victims))
    with responses.transact():
        for key in victims:
            responses.delete(key)
    with dbs.failing(RECENCY), order.transact():
        for row in dead:
            order.delete(row)
    return len(victims)

