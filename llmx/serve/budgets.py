"""Per-client budgets of ``llmx serve``: requests and tokens a minute, from ``[serve.clients]``.

Each budget is a token bucket holding one minute's worth (``rpm`` requests, ``tpm`` tokens),
refilled continuously. ``admit`` is called before a request is served: it takes one request
from the rpm bucket when the client has one left and its tpm bucket is not in debt, else it
takes nothing and says which budget is spent and how many seconds until it is not (the 429's
``retry-after``). ``charge`` is called after an answer with the tokens the provider sent and
received for it (a cache hit costs none): the tpm bucket may go into debt, which holds the
client's next requests back until it is paid.

With a shared store (the default profile's ``cache.backend = "redis"``) the buckets live in
Redis (``RedisStore.admit``: one round trip a request, atomic there, by the Redis server's
clock), so every proxy using that Redis holds a client to one budget. When Redis cannot be
reached, ``warn`` says so once and each proxy keeps the budgets alone from then on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, Protocol

from llmx.batch.limits import TokenBucket
from llmx.cache.databases import CacheUnavailable

if TYPE_CHECKING:
    from llmx.config.serve import ClientSettings


class Refused(NamedTuple):
    """A request over budget: which one (``requests`` | ``tokens``), its limit a minute, and
    the seconds until the client may ask again."""

    what: str
    limit: int
    retry_after: float

    @property
    def retry_after_s(self) -> int:
        """Whole seconds, rounded up (the ``retry-after`` header): at least 1."""
        return max(1, math.ceil(self.retry_after))


class Shared(Protocol):
    """What the budgets need of a shared store (``llmx.cache.redis_store.RedisStore``)."""

    def admit(self, buckets: list[tuple[str, float, float, float, float]], ttl_ms: int
              ) -> tuple[int, float]: ...
    def bucket(self, name: str, per_second: float, capacity: float, amount: float
               ) -> float: ...


class Budgets:
    """The budgets of every configured client, by client name."""

    def __init__(self, clients: dict[str, ClientSettings], *, shared: Shared | None = None,
                 warn: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = {name: (c.rpm, c.tpm) for name, c in clients.items() if c.rpm or c.tpm}
        self._shared = shared
        self._warn = warn
        self._local: dict[tuple[str, str], TokenBucket] = {
            (name, what): TokenBucket(limit, capacity=float(limit), clock=clock)
            for name, limits in self._limits.items()
            for what, limit in zip(("requests", "tokens"), limits, strict=True) if limit}

    def limited(self, client: str) -> bool:
        return client in self._limits

    def admit(self, client: str) -> Refused | None:
        """Take one request of ``client``'s budget, or say why not (taking nothing)."""
        if client not in self._limits:
            return None
        wanted = self._wanted(client)
        if self._shared is not None:
            try:
                return self._admit_shared(client, wanted)
            except CacheUnavailable as exc:
                self._give_up(exc.message)
        return self._admit_local(client, wanted)

    def charge(self, client: str, tokens: int) -> None:
        """Count ``tokens`` against ``client``'s tpm budget (it may go into debt)."""
        if tokens <= 0 or (client, "tokens") not in self._local:
            return
        if self._shared is not None:
            limit = float(self._limits[client][1] or 0)
            try:
                self._shared.bucket(_name(client, "tokens"), limit / 60.0, limit, tokens)
                return
            except CacheUnavailable as exc:
                self._give_up(exc.message)
        self._local[(client, "tokens")].reserve(tokens)

    def _wanted(self, client: str) -> list[tuple[str, int, float, float]]:
        """(budget, limit, need, take) of each budget the client has."""
        rpm, tpm = self._limits[client]
        out = [("requests", rpm, 1.0, 1.0)] if rpm else []
        return out + ([("tokens", tpm, 1.0, 0.0)] if tpm else [])

    def _admit_local(self, client: str, wanted: list[tuple[str, int, float, float]]
                     ) -> Refused | None:
        buckets = [(self._local[(client, what)], what, limit, need, take)
                   for what, limit, need, take in wanted]
        waits = [(max(0.0, (need - bucket.tokens) / bucket.rate), what, limit)
                 for bucket, what, limit, need, _ in buckets]
        wait, what, limit = max(waits)
        if wait > 0:
            return Refused(what, limit, wait)
        for bucket, _, _, _, take in buckets:
            if take:
                bucket.reserve(take)
        return None

    def _admit_shared(self, client: str, wanted: list[tuple[str, int, float, float]]
                      ) -> Refused | None:
        assert self._shared is not None
        buckets = [(_name(client, what), limit / 60.0, float(limit), need, take)
                   for what, limit, need, take in wanted]
        short, wait = self._shared.admit(buckets, ttl_ms=120_000)  # idle buckets go away
        if short == 0:
            return None
        what, limit, _, _ = wanted[short - 1]
        return Refused(what, limit, wait)

    def _give_up(self, message: str) -> None:
        self._shared = None
        if self._warn is not None:
            self._warn(f"{message}; client budgets are kept by this proxy alone")


def _name(client: str, what: str) -> str:
    return f"serve:{what}:{client}"
