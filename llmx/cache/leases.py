"""Single flight across processes: with a shared store, one process sends a request and the
others wait for its answer in the cache.

``lead_or_wait(cache, keys)`` is called after a miss, before sending:

* ``None``: there is no shared store, or it cannot be reached: send as usual.
* a ``Lease``: this process sends. It renews the lease while the answer streams
  (``LEASE_MS``, renewed every third of it) and releases it after the answer was stored,
  or at once when it fails or is abandoned, so a waiter can take over.
* a ``Hit``: another process sent it; its stored answer is served from the cache.

Taking the lease and checking that no answer is stored are one atomic step in Redis
(``RedisStore.lead``): an answer stored after this process looked — a batch line waits in
its queue between its look-up and its turn — is served, never sent for again.
A waiter polls every ``POLL_S`` for the answer and for the lease. When the lease is gone
without an answer (the sender failed, was cancelled, its answer was not cacheable, or it
was killed and its lease expired), the waiter that takes the lease next sends itself. It
never serves anything but a complete answer that the cache stored. A waiter waits for the
whole answer (it does not see the sender's chunks as they arrive).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from llmx.cache.databases import CacheUnavailable

if TYPE_CHECKING:
    from llmx.cache.redis_store import RedisStore
    from llmx.cache.tiers import Hit, Keys, TieredCache

LEASE_MS = 15_000
POLL_S = 0.05


class Lease:
    """This process sends ``key``'s request; ``release`` when done (idempotent)."""

    __slots__ = ("_key", "_renewing", "_store", "_token")

    def __init__(self, store: RedisStore, key: str, token: str) -> None:
        self._store, self._key, self._token = store, key, token
        self._renewing = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        with contextlib.suppress(CacheUnavailable):
            while True:
                await asyncio.sleep(LEASE_MS / 3000)
                if not self._store.renew(self._key, self._token, LEASE_MS):
                    return

    def release(self) -> None:
        self._renewing.cancel()
        with contextlib.suppress(CacheUnavailable):
            self._store.release(self._key, self._token)


async def lead_or_wait(cache: TieredCache, keys: Keys) -> Lease | Hit | None:
    store = cache.shared_store()
    if store is None:
        return None
    try:
        while True:
            lead = store.lead(keys.exact, LEASE_MS)
            if isinstance(lead, str):
                return Lease(store, keys.exact, lead)
            if lead:  # stored since this process looked (e.g. a batch line in its queue)
                return cache.exact(keys)  # None only if it cannot be read: send without one
            await asyncio.sleep(POLL_S)
            hit = cache.exact(keys)
            if hit is not None:
                return hit
    except CacheUnavailable:
        return None  # no shared store today: send as usual (the store's warning says why)
