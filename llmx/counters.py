"""Process counters: what a Client's parts counted while it lived, one line when it closes.

Records say what happened to each request; some of the seed's monitoring figures are about
the machinery instead (the cache's evictions, grouped embedding requests, provider batches,
the pool's connections, the pipe writer's writes). A Client adds them up in ``Counts`` and,
when it closes having counted anything, appends one line to
``counters_dir(env)/counters-YYYY-MM.jsonl``, beside the records (0600, one ``write()``
on an ``O_APPEND`` file, so processes never interleave)::

    {"v": 1, "ts": float, "profile": str, "counts": {NAME: int, ...}}   # zeros left out

``read_totals`` sums the lines from ``since`` on (``peak`` names take the maximum instead,
and ``pool_utilisation`` is the highest ``conn_peak / conn_capacity`` of one line); a line
that does not parse is skipped. A Client that counted nothing (an exact hit) writes nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

COUNTER_VERSION: Final = 1
FILE_PREFIX: Final = "counters-"
NAMES: Final = (
    "cache_stored",  # answers written to the cache
    "cache_evicted",  # entries removed to keep cache.max_entries / max_bytes
    "embed_requests",  # embeddings requests sent for the semantic cache (micro-batched)
    "embed_texts",  # texts in those requests
    "provider_batches",  # provider Batch API jobs submitted
    "provider_batch_lines",  # requests in those jobs
    "stream_chunks",  # pieces of a provider's stream handed to the pipe writer (llmx ask)
    "stream_writes",  # write() calls the pipe writer made for them
    "conn_opened",  # connections the pool opened
    "conn_reused",  # requests sent on a kept-alive connection
    "conn_failed",  # connections that failed (connect errors, resets, broken reads)
    "conn_discarded",  # kept-alive connections dropped as unusable before reuse
    "conn_peak",  # the most connections the busiest pool had in use at once (a maximum)
    "conn_capacity",  # that pool's max_connections (a maximum, not a sum)
)
PEAKS: Final = frozenset({"conn_peak", "conn_capacity"})
_OPEN_FLAGS: Final = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


class Counts:
    """Counters of one Client (names from ``NAMES``; ``KeyError`` for another)."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values = dict.fromkeys(NAMES, 0)

    def add(self, name: str, amount: int = 1) -> None:
        if name not in self._values:
            raise KeyError(name)
        if name in PEAKS:
            self._values[name] = max(self._values[name], amount)
        else:
            self._values[name] += amount

    def update(self, values: Mapping[str, int]) -> None:
        """Add ``values``; their ``conn_peak`` and ``conn_capacity`` are one pool's pair and
        replace the pair here when that pool was the busier (a higher share in use, then
        more in use), so the pair stays one pool's (several Clients of one batch run)."""
        for name, amount in values.items():
            if name not in PEAKS:
                self.add(name, amount)
        peak, capacity = values.get("conn_peak", 0), values.get("conn_capacity", 0)
        if (peak or capacity) and busier(peak, capacity, self._values["conn_peak"],
                                          self._values["conn_capacity"]):
            self._values["conn_peak"], self._values["conn_capacity"] = peak, capacity

    def nonzero(self) -> dict[str, int]:
        return {name: value for name, value in self._values.items() if value}


def busier(peak: int, capacity: int, peak_b: int, capacity_b: int) -> bool:
    """Whether a pool with ``peak`` of ``capacity`` in use (0: no limit) was busier than
    another: a higher share in use, then more in use, then the larger."""
    share = peak / capacity if capacity else 0.0
    share_b = peak_b / capacity_b if capacity_b else 0.0
    return (share, peak, capacity) > (share_b, peak_b, capacity_b)


_POOL_NAMES: Final = {"connections_opened": "conn_opened", "connections_reused": "conn_reused",
                      "connections_failed": "conn_failed",
                      "connections_discarded": "conn_discarded",
                      "connections_peak": "conn_peak",
                      "connections_capacity": "conn_capacity"}


def pool_counts(engine_counters: Mapping[str, int]) -> dict[str, int]:
    """The names here of an ``HttpEngine.counters()``'s pool counts (none for routes over
    httpx, whose pool exposes no counts)."""
    return {ours: engine_counters[theirs] for theirs, ours in _POOL_NAMES.items()
            if theirs in engine_counters}


def sink_counts(sink: object) -> dict[str, int]:
    """A pipe writer's pieces and writes (``PipeSink.chunks`` / ``.writes``) under the names
    here; none for a sink that does not count them (Markdown on a terminal)."""
    chunks, writes = getattr(sink, "chunks", None), getattr(sink, "writes", None)
    if not isinstance(chunks, int) or not isinstance(writes, int):
        return {}
    return {"stream_chunks": chunks, "stream_writes": writes}


def counters_dir(env: Mapping[str, str]) -> Path:
    """Beside the records directory (its own, so readers of records never meet these)."""
    from llmx.paths import records_dir

    return records_dir(env).parent / "counters"


def append(directory: Path, profile: str, counts: Counts, now: float | None = None) -> bool:
    """One line for ``counts`` in this month's file; False (nothing written) when all are 0.
    Raises ``OSError`` when the directory or file cannot be written."""
    from llmx.paths import ensure_private_dir

    values = counts.nonzero()
    if not values:
        return False
    ts = time.time() if now is None else now
    line = json.dumps({"v": COUNTER_VERSION, "ts": ts, "profile": profile, "counts": values},
                      separators=(",", ":")) + "\n"
    ensure_private_dir(directory)
    path = directory / f"{FILE_PREFIX}{time.strftime('%Y-%m', time.gmtime(ts))}.jsonl"
    fd = os.open(path, _OPEN_FLAGS, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return True


def read_totals(directory: Path, since: float | None = None) -> dict[str, float]:
    """Every name of ``NAMES`` summed (peaks: their maximum) over the lines at or after
    ``since``, plus ``pool_utilisation`` (see the module docstring)."""
    totals: dict[str, float] = dict.fromkeys(NAMES, 0)
    totals["pool_utilisation"] = 0.0
    for counts in _lines(directory, since):
        for name, value in counts.items():
            if name in PEAKS:
                totals[name] = max(totals[name], value)
            elif name in totals:
                totals[name] += value
        capacity = counts.get("conn_capacity", 0)
        if capacity:
            share = counts.get("conn_peak", 0) / capacity
            totals["pool_utilisation"] = max(totals["pool_utilisation"], share)
    return totals


def _lines(directory: Path, since: float | None) -> Iterator[Mapping[str, int]]:
    try:
        files = sorted(directory.glob(f"{FILE_PREFIX}*.jsonl"))
    except OSError:
        return
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            counts = _parse(line, since)
            if counts is not None:
                yield counts


def _parse(line: str, since: float | None) -> Mapping[str, int] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("v") != COUNTER_VERSION:
        return None
    ts, counts = data.get("ts"), data.get("counts")
    if not isinstance(ts, (int, float)) or not isinstance(counts, dict):
        return None
    if since is not None and ts < since:
        return None
    return {name: value for name, value in counts.items()
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0}
