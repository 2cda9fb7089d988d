"""Writing queued cache writes, and keeping the store within its limits.

Each step is one transaction (diskcache's ``transact()``): a process killed meanwhile
leaves the database as it was before the step (SQLite rolls the step back). The LRU order
is diskcache's insertion order (``llmx.cache.recency``). Database failures surface as
``CacheUnavailable`` (``Moved`` when a damaged database was moved aside: ``CacheStore``
then retries once).
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any, Final, NamedTuple

from llmx.cache import rows
from llmx.cache.databases import RESPONSES, VECTORS, CacheUnavailable, Databases
from llmx.cache.queue import Queued

_BYTE_PASSES: Final = 8  # culls by size per write, each one transaction


class Limits(NamedTuple):
    """At most ``max_entries`` entries, and a responses database of at most ``max_bytes``."""

    max_entries: int
    max_bytes: int


def write_entries(dbs: Databases, entries: dict[str, Queued], used: list[str],
                  limits: Limits) -> int:
    """One transaction: drop expired rows, move the ``used`` entries (oldest use first) to
    the back of the LRU order, then write ``entries`` behind them; then keep the limits.
    Returns how many entries were evicted to keep them (expired rows not counted)."""
    with dbs.failing(RESPONSES):
        responses = dbs.writer(RESPONSES)
        with responses.transact():
            now = time.time()
            responses.expire(now)
            for key in used:
                if key not in entries:
                    _move_to_back(responses, key, now)
            for key, queued in entries.items():
                if not responses.add(key, queued.value, expire=queued.expire):
                    responses.delete(key)  # a rewrite is a use: to the back
                    responses.set(key, queued.value, expire=queued.expire)
            evicted = _evict(responses, len(responses) - limits.max_entries)
        if responses.volume() > limits.max_bytes:  # the file shrinks when a delete commits
            evicted += enforce_limits(dbs, responses, limits)
    return evicted


def _move_to_back(responses: Any, key: str, now: float) -> None:
    try:
        value, expire_time = responses.get(key, expire_time=True)
    except (ValueError, RecursionError):
        return  # undecodable: left where it is (``get`` and ``prune`` delete it)
    if value is None:
        return
    responses.delete(key)
    responses.set(key, value, expire=None if expire_time is None else expire_time - now)


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
    """Delete the ``count`` least recently used entries, in one transaction."""
    if count <= 0:
        return 0
    with dbs.failing(RESPONSES), responses.transact():
        return _evict(responses, count)


def _evict(responses: Any, count: int) -> int:
    """Delete up to ``count`` entries from the front of the LRU order (inside the caller's
    transaction); returns how many. Nothing to delete costs no query (diskcache's
    ``iter`` starts one as soon as it is made)."""
    if count <= 0:
        return 0
    victims = list(itertools.islice(iter(responses), count))
    for key in victims:
        responses.delete(key)
    return len(victims)
