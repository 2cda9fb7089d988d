"""What ``llmx stats`` reports, computed from request records. Pure: no IO.

``summarize(records, now=..., by=..., start=...)`` folds ``llmx.records.Record``s into a
``Summary``: one ``Group`` for all records (``total``) and, with ``by="model"`` or
``by="profile"``, one per model or profile. Definitions:

* tiers: requests per cache tier. ``exact`` and ``semantic`` are hits, ``miss`` went to
  the provider after a cache lookup, ``off`` went to the provider without one.
* hit rate: ``(exact + semantic) / (exact + semantic + miss)``; ``off`` is counted but is
  not part of any rate. Per-tier rates share that denominator. None when it is 0.
* lookup_ms p50 / p99: over every request that consulted the cache (tier not ``off``).
* latency_ms p50 / p95 and ttft_ms p50, split into ``hit`` (exact, semantic) and ``miss``
  (answered by the provider: tiers ``miss`` and ``off``), over successful requests only.
* tokens input / output: tokens of requests the provider answered (``miss``, ``off``);
  ``saved_by_cache``: input + output tokens of hits; ``saved_by_compression``: the records'
  ``tokens_saved`` summed over all requests.
* cost spent / saved: sums of the records' ``cost`` / ``cost_saved`` where known;
  ``priced_requests`` counts records with a known cost. Both are None ("n/a") when no
  record carries a price.
* percentiles are nearest-rank: the p-th percentile of n sorted values is the value at
  rank ``ceil(p / 100 * n)`` (1-based), always a value that occurred; None when n is 0.
* latency histogram: successful requests by latency in fixed 1-2-5 log-spaced buckets
  ``[0, 1), [1, 2), [2, 5), [5, 10), ... [20000, 50000), [50000, inf)`` milliseconds.
* hits over time: requests and hits per time bucket from the window start (``start``, else
  the oldest record) to ``now``; the bucket length is the shortest of 1 min, 5 min, 15 min,
  1 h, 3 h, 6 h, 12 h, 1 day, 7 days, 30 days giving at most 48 buckets; buckets are
  aligned to multiples of their length since the Unix epoch.

``Summary.to_json()`` schema (version 1; times are unix seconds, durations ms). ``start``
is the window start: the ``--since`` cutoff, else the oldest record (null when none)::

    {"schema": 1, "now": float, "start": float | null, "by": null | "model" | "profile",
     "total": GROUP, "groups": [GROUP, ...],            # [] unless "by" is set
     "skipped_lines": int,                              # records lines that could not be read
     "latency_histogram": [{"lo_ms": float, "hi_ms": float | null, "count": int}, ...],
     "hits_over_time": {"bucket_s": int,
                        "points": [{"start": float, "requests": int, "hits": int}, ...]}}
    GROUP = {"name": str,                               # "all" for the total
             "requests": int, "errors": int,
             "tiers": {"exact": int, "semantic": int, "miss": int, "off": int},
             "hit_rate": {"exact": R, "semantic": R, "total": R},     # R = float | null
             "lookup_ms": {"p50": M, "p99": M},                       # M = float | null
             "latency_ms": {"hit": {"p50": M, "p95": M}, "miss": {"p50": M, "p95": M}},
             "ttft_ms": {"hit": {"p50": M}, "miss": {"p50": M}},
             "tokens": {"input": int, "output": int,
                        "saved_by_compression": int, "saved_by_cache": int},
             "cost": {"spent": float | null, "saved": float | null, "priced_requests": int}}
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from llmx.choices import HIT_TIERS
from llmx.errors import UsageError
from llmx.records import Record, Skipped

SCHEMA_VERSION = 1
GROUP_BY = ("model", "profile")
TOTAL_NAME = "all"
LATENCY_EDGES_MS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0,
                    1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0, 50_000.0)
SERIES_STEPS_S = (60, 300, 900, 3_600, 10_800, 21_600, 43_200, 86_400, 604_800, 2_592_000)
MAX_POINTS = 48
_UNITS_S = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_SINCE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_since(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"24h"``, ``"7d"``, ``"2w"`` -> seconds; ``UsageError`` otherwise."""
    match = _SINCE.fullmatch(text.strip())
    seconds = float(match.group(1)) * _UNITS_S[match.group(2)] if match else 0.0
    if seconds <= 0:
        raise UsageError(f"invalid --since value {text!r}",
                         hint="use a positive number and a unit: 90s, 30m, 24h, 7d, 2w")
    return seconds


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of ``values`` (any order); None when empty."""
    return _nearest_rank(sorted(values), p)


def _nearest_rank(ordered: Sequence[float], p: float) -> float | None:
    if not ordered:
        return None
    rank = math.ceil(round(p * len(ordered) / 100, 9))
    return ordered[min(len(ordered), max(1, rank)) - 1]


@dataclass(frozen=True, slots=True)
class TierCounts:
    exact: int = 0
    semantic: int = 0
    miss: int = 0
    off: int = 0

    @property
    def hits(self) -> int:
        return self.exact + self.semantic

    @property
    def consulted(self) -> int:
        """Requests that looked in the cache."""
        return self.exact + self.semantic + self.miss

    def rate(self, count: int) -> float | None:
        return count / self.consulted if self.consulted else None

    @property
    def hit_rate(self) -> float | None:
        return self.rate(self.hits)


@dataclass(frozen=True, slots=True)
class Group:
    """The numbers of one group of records (see the module docstring)."""

    name: str
    requests: int
    errors: int
    tiers: TierCounts
    lookup_p50: float | None
    lookup_p99: float | None
    latency_hit_p50: float | None
    latency_hit_p95: float | None
    latency_miss_p50: float | None
    latency_miss_p95: float | None
    ttft_hit_p50: float | None
    ttft_miss_p50: float | None
    input_tokens: int
    output_tokens: int
    saved_by_compression: int
    saved_by_cache: int
    cost_spent: float | None
    cost_saved: float | None
    priced_requests: int

    def to_json(self) -> dict[str, Any]:
        tiers = self.tiers
        return {
            "name": self.name,
            "requests": self.requests,
            "errors": self.errors,
            "tiers": {"exact": tiers.exact, "semantic": tiers.semantic,
                      "miss": tiers.miss, "off": tiers.off},
            "hit_rate": {"exact": tiers.rate(tiers.exact),
                         "semantic": tiers.rate(tiers.semantic), "total": tiers.hit_rate},
            "lookup_ms": {"p50": self.lookup_p50, "p99": self.lookup_p99},
            "latency_ms": {"hit": {"p50": self.latency_hit_p50, "p95": self.latency_hit_p95},
                           "miss": {"p50": self.latency_miss_p50,
                                    "p95": self.latency_miss_p95}},
            "ttft_ms": {"hit": {"p50": self.ttft_hit_p50}, "miss": {"p50": self.ttft_miss_p50}},
            "tokens": {"input": self.input_tokens, "output": self.output_tokens,
                       "saved_by_compression": self.saved_by_compression,
                       "saved_by_cache": self.saved_by_cache},
            "cost": {"spent": self.cost_spent, "saved": self.cost_saved,
                     "priced_requests": self.priced_requests},
        }


@dataclass(frozen=True, slots=True)
class Bucket:
    """Successful requests with ``lo_ms <= latency < hi_ms`` (``hi_ms`` None: no bound)."""

    lo_ms: float
    hi_ms: float | None
    count: int


@dataclass(frozen=True, slots=True)
class Point:
    """Requests and cache hits in ``[start, start + bucket_s)``."""

    start: float
    requests: int
    hits: int


@dataclass(frozen=True, slots=True)
class Summary:
    now: float
    start: float | None
    by: str | None
    total: Group
    groups: tuple[Group, ...]
    histogram: tuple[Bucket, ...]
    bucket_s: int
    series: tuple[Point, ...]
    skipped_lines: int = 0  # records lines the reader could not use (``records.Skipped``)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "now": self.now,
            "start": self.start,
            "by": self.by,
            "total": self.total.to_json(),
            "groups": [group.to_json() for group in self.groups],
            "skipped_lines": self.skipped_lines,
            "latency_histogram": [{"lo_ms": b.lo_ms, "hi_ms": b.hi_ms, "count": b.count}
                                  for b in self.histogram],
            "hits_over_time": {
                "bucket_s": self.bucket_s,
                "points": [{"start": p.start, "requests": p.requests, "hits": p.hits}
                           for p in self.series],
            },
        }


class _Tally:
    """Running sums and samples of one group while the records stream by."""

    def __init__(self) -> None:
        self.requests = self.errors = 0
        self.tiers = {"exact": 0, "semantic": 0, "miss": 0, "off": 0}
        self.lookups: list[float] = []
        self.latency: dict[bool, list[float]] = {True: [], False: []}  # keyed by "is a hit"
        self.ttft: dict[bool, list[float]] = {True: [], False: []}
        self.tokens_in = self.tokens_out = self.saved_compression = self.saved_cache = 0
        self.spent = self.saved = 0.0
        self.priced = 0
        self.any_price = False

    def add(self, record: Record) -> None:
        self.requests += 1
        self.tiers[record.tier] += 1
        hit = record.tier in HIT_TIERS
        if record.tier != "off":
            self.lookups.append(record.lookup_ms)
        if record.status == "ok":
            self.latency[hit].append(record.latency_ms)
            if record.ttft_ms is not None:
                self.ttft[hit].append(record.ttft_ms)
        else:
            self.errors += 1
        if hit or record.shared:  # a shared answer cost no request either
            self.saved_cache += record.input_tokens + record.output_tokens
        else:
            self.tokens_in += record.input_tokens
            self.tokens_out += record.output_tokens
        self.saved_compression += record.tokens_saved
        self._add_money(record)

    def _add_money(self, record: Record) -> None:
        if record.cost is not None:
            self.spent += record.cost
            self.priced += 1
        if record.cost_saved is not None:
            self.saved += record.cost_saved
        self.any_price = self.any_price or record.cost is not None or record.cost_saved is not None

    def freeze(self, name: str) -> Group:
        lookups = sorted(self.lookups)
        hit_latency, miss_latency = sorted(self.latency[True]), sorted(self.latency[False])
        money = self.any_price
        return Group(
            name=name, requests=self.requests, errors=self.errors,
            tiers=TierCounts(**self.tiers),
            lookup_p50=_nearest_rank(lookups, 50), lookup_p99=_nearest_rank(lookups, 99),
            latency_hit_p50=_nearest_rank(hit_latency, 50),
            latency_hit_p95=_nearest_rank(hit_latency, 95),
            latency_miss_p50=_nearest_rank(miss_latency, 50),
            latency_miss_p95=_nearest_rank(miss_latency, 95),
            ttft_hit_p50=percentile(self.ttft[True], 50),
            ttft_miss_p50=percentile(self.ttft[False], 50),
            input_tokens=self.tokens_in, output_tokens=self.tokens_out,
            saved_by_compression=self.saved_compression, saved_by_cache=self.saved_cache,
            cost_spent=round(self.spent, 12) if money else None,
            cost_saved=round(self.saved, 12) if money else None,
            priced_requests=self.priced,
        )


def summarize(records: Iterable[Record], *, now: float, by: str | None = None,
              start: float | None = None, skipped: Skipped | None = None) -> Summary:
    """Fold ``records`` into a ``Summary``; ``start`` is the window start for the time
    series (default: the oldest record). Records are not filtered here. ``skipped`` is the
    tally the reader of ``records`` counts its bad lines in: read once they are all folded."""
    if by is not None and by not in GROUP_BY:
        raise UsageError(f"cannot group by {by!r}", hint="use --by model or --by profile")
    total = _Tally()
    groups: dict[str, _Tally] = {}
    latencies: list[float] = []
    moments: list[tuple[float, bool]] = []
    for record in records:
        total.add(record)
        if by is not None:
            key = record.model if by == "model" else record.profile
            groups.setdefault(key, _Tally()).add(record)
        if record.status == "ok":
            latencies.append(record.latency_ms)
        moments.append((record.ts, record.tier in HIT_TIERS))
    ordered = sorted(groups.items(), key=lambda item: (-item[1].requests, item[0]))
    window_start = start if start is not None else min((ts for ts, _ in moments), default=None)
    bucket_s, series = _series(moments, window_start, now)
    return Summary(
        now=now, start=start if start is not None else window_start, by=by,
        total=total.freeze(TOTAL_NAME),
        groups=tuple(tally.freeze(name) for name, tally in ordered),
        histogram=latency_histogram(latencies), bucket_s=bucket_s, series=series,
        skipped_lines=0 if skipped is None else skipped.lines,
    )


def latency_histogram(latencies_ms: Iterable[float]) -> tuple[Bucket, ...]:
    """Counts per bucket of ``LATENCY_EDGES_MS`` (see the module docstring)."""
    counts = [0] * (len(LATENCY_EDGES_MS) + 1)
    for value in latencies_ms:
        counts[_bucket_index(value)] += 1
    lows = (0.0, *LATENCY_EDGES_MS)
    highs: tuple[float | None, ...] = (*LATENCY_EDGES_MS, None)
    return tuple(Bucket(lo, hi, n) for lo, hi, n in zip(lows, highs, counts, strict=True))


def _bucket_index(value: float) -> int:
    """Index of the first edge above ``value`` (binary search over the sorted edges)."""
    lo, hi = 0, len(LATENCY_EDGES_MS)
    while lo < hi:
        mid = (lo + hi) // 2
        if LATENCY_EDGES_MS[mid] <= value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def series_step(start: float, now: float) -> int:
    """The shortest bucket length in ``SERIES_STEPS_S`` that covers the window in
    at most ``MAX_POINTS`` aligned buckets."""
    for step in SERIES_STEPS_S:
        first = math.floor(start / step) * step
        if math.floor((now - first) / step) + 1 <= MAX_POINTS:
            return step
    return SERIES_STEPS_S[-1]


def _series(moments: Sequence[tuple[float, bool]], start: float | None,
            now: float) -> tuple[int, tuple[Point, ...]]:
    if start is None:
        return SERIES_STEPS_S[0], ()
    end = max(now, start)
    step = series_step(start, end)
    first = math.floor(start / step) * step
    size = math.floor((end - first) / step) + 1
    requests, hits = [0] * size, [0] * size
    for ts, hit in moments:
        index = min(size - 1, max(0, math.floor((ts - first) / step)))
        requests[index] += 1
        hits[index] += hit
    return step, tuple(Point(float(first + i * step), requests[i], hits[i]) for i in range(size))
