"""The seed's claims (performance-guide.md, Pass 2 table and "Performance Targets (Pass 3)").

Each target is its text and a predicate on the optimised figure; a row whose claim the seed's
chosen table does not list gets ``None`` (shown as "not in seed") and no pass/fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Target:
    text: str
    check: Callable[[float], bool]


def _below(limit: float) -> Callable[[float], bool]:
    return lambda value: value < limit


def _at_least(limit: float) -> Callable[[float], bool]:
    return lambda value: value >= limit


SIMPLE_P50 = "simple request latency p50"
SIMPLE_P95 = "simple request latency p95"
COMPLEX_P50 = "complex request latency p50"
HIT_RATE = "cache hit rate"
FALSE_HITS = "cache false-hit rate"
CONCURRENCY = "concurrency (zero errors)"
THROUGHPUT = "throughput at that concurrency"
TTFT_P50 = "streaming TTFT p50 (uncached)"
TTFT_P95 = "streaming TTFT p95 (uncached)"
TTFT_CACHED = "streaming TTFT p50 (cached)"
TOKENS_CONS = "token reduction (conservative)"
TOKENS_AGGR = "token reduction (aggressive)"
COST = "cost saving"
LOOKUP_P50 = "cache lookup (exact) p50"
LOOKUP_P99 = "cache lookup (exact) p99"
STARTUP = "CLI start-up (--version)"


def seed_targets() -> dict[str, Target]:
    return {
        SIMPLE_P50: Target("< 1 s", _below(1000.0)),
        SIMPLE_P95: Target("< 1 s", _below(1000.0)),
        COMPLEX_P50: Target("< 5 s", _below(5000.0)),
        HIT_RATE: Target("> 30 %", lambda v: v > 30.0),
        CONCURRENCY: Target("100+", _at_least(100.0)),
        TTFT_P50: Target("< 200 ms", _below(200.0)),
        TTFT_P95: Target("< 200 ms", _below(200.0)),
        TTFT_CACHED: Target("< 200 ms", _below(200.0)),
        TOKENS_CONS: Target("20-30 %", _at_least(20.0)),
        TOKENS_AGGR: Target("20-30 %", _at_least(20.0)),
        COST: Target("~25 %", _at_least(25.0)),
        LOOKUP_P50: Target("< 10 ms", _below(10.0)),
        LOOKUP_P99: Target("< 10 ms", _below(10.0)),
    }


def pass3_targets() -> dict[str, Target]:
    """Pass 3 lists: <500 ms simple, >50 % hit rate (real embeddings), 500+ concurrent,
    <100 ms TTFT, 30-40 % token reduction. Nothing for complex requests, cost or lookup."""
    return {
        SIMPLE_P50: Target("< 500 ms", _below(500.0)),
        SIMPLE_P95: Target("< 500 ms", _below(500.0)),
        HIT_RATE: Target("> 50 %", lambda v: v > 50.0),
        CONCURRENCY: Target("500+", _at_least(500.0)),
        TTFT_P50: Target("< 100 ms", _below(100.0)),
        TTFT_P95: Target("< 100 ms", _below(100.0)),
        TTFT_CACHED: Target("< 100 ms", _below(100.0)),
        TOKENS_CONS: Target("30-40 %", _at_least(30.0)),
        TOKENS_AGGR: Target("30-40 %", _at_least(30.0)),
    }


def targets_for(name: str) -> dict[str, Target]:
    if name == "seed":
        return seed_targets()
    if name == "pass3":
        return pass3_targets()
    raise ValueError(f"unknown targets {name!r}: use 'seed' or 'pass3'")
