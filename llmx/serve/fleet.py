"""``/metrics`` for a fleet: every ``llmx serve`` sharing one Redis adds its counts to one set
of counters there, and each proxy's ``/metrics`` shows their sum.

A proxy reports what it counted since its last report (deltas, ``HINCRBYFLOAT`` into the hash
``llmx:m:serve``, read back whole in the same round trip) every ``REPORT_S`` seconds, when it
is scraped, and when it shuts down: never a round trip per request, so the hot path does not
see Redis at all. The sum only grows (a proxy that restarts adds to it, it does not reset it),
as Prometheus counters must; the other proxies' counts are at most ``REPORT_S`` old.

Without a shared store ``/metrics`` is the proxy's own counters. When Redis cannot be reached,
``warn`` says so once and the proxy shows its own counters from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from llmx.cache.databases import CacheUnavailable
from llmx.serve.metrics import Metrics

REPORT_S = 1.0
HASH = "m:serve"
FLEET_NOTE = "# llmx: the fleet's counters, summed over every llmx serve sharing this Redis\n"


class Counts(Protocol):
    """What the fleet needs of a shared store (``RedisStore.add_counts``)."""

    def add_counts(self, name: str, deltas: dict[str, float]) -> dict[str, float]: ...


class Fleet:
    """This proxy's ``metrics``, reported to a shared store's sum (``store`` None: alone)."""

    __slots__ = ("_reporting", "_sent", "_store", "_warn", "metrics")

    def __init__(self, metrics: Metrics, store: Counts | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self.metrics = metrics
        self._store = store
        self._warn = warn
        self._sent: dict[str, float] = {}
        self._reporting: asyncio.Task[None] | None = None

    def report(self) -> Metrics | None:
        """Add the counts not reported yet to the fleet's; the fleet's sum (None: alone)."""
        if self._store is None:
            return None
        now = self.metrics.fields()
        deltas = {name: value - self._sent.get(name, 0.0) for name, value in now.items()
                  if value != self._sent.get(name, 0.0)}
        try:
            totals = self._store.add_counts(HASH, deltas)
        except CacheUnavailable as exc:
            self._store = None
            if self._warn is not None:
                self._warn(f"{exc.message}; /metrics shows this proxy alone")
            return None
        self._sent = now
        return Metrics.of(totals)

    def text(self) -> str:
        """The Prometheus text of ``/metrics``: the fleet's sum, or this proxy's own."""
        fleet = self.report()
        return self.metrics.text() if fleet is None else FLEET_NOTE + fleet.text()

    def start(self) -> None:
        """Report every ``REPORT_S`` from now on (on the running event loop)."""
        if self._store is not None and self._reporting is None:
            self._reporting = asyncio.get_running_loop().create_task(self._every())

    async def stop(self) -> None:
        """Stop reporting, after a last report."""
        if self._reporting is not None:
            self._reporting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reporting
            self._reporting = None
        self.report()

    async def _every(self) -> None:
        while self._store is not None:
            await asyncio.sleep(REPORT_S)
            self.report()
