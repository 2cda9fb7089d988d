"""Why one side of a latency pair is faster: its requests' parts, side by side.

``parts`` gives a side's mean time per request in each part (``llmx.bench.paired.Sample``);
the parts add up to the mean wall time, so the differences the note states add up to the
measured difference of the two sides. Means, not medians: a median of sums is not the sum
of medians, and the note is about where the time went.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import NamedTuple

from llmx.bench.paired import Sample, Timed

Measure = Callable[[Sample], float | None]


def by_wall(sample: Sample) -> float | None:
    return sample.wall_ms


def by_ttft(sample: Sample) -> float | None:
    return sample.ttft_ms


SETUP, PREPARE, LOOKUP, PROVIDER, AFTER = ("new client", "prepare", "cache look-up",
                                           "provider call", "after the last chunk")
PARTS = (SETUP, PREPARE, LOOKUP, PROVIDER, AFTER)
FAIRNESS = ("baseline = a new client per request with no cache and no compression (what "
            "a caller without llmx's pool and cache runs, e.g. one process or one "
            "httpx.post per request); the simulator holds each new connection for the "
            "latency model's new-connection cost (the header's; a hosted provider's TCP + "
            "TLS handshake), which the baseline pays on every request and the optimised side "
            "once per pooled connection")


def parts(samples: list[Sample]) -> dict[str, float]:
    """Mean ms per request in each part; their sum is the mean wall time."""
    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else 0.0

    return {SETUP: mean([s.setup_ms for s in samples]),
            PREPARE: mean([s.prepare_ms for s in samples]),
            LOOKUP: mean([s.lookup_ms for s in samples]),
            PROVIDER: mean([s.provider_ms for s in samples]),
            AFTER: mean([s.after_ms for s in samples])}


def saved(base: Timed, opt: Timed) -> dict[str, float]:
    """Per part, the baseline's mean minus the optimised side's (positive: saved)."""
    b, o = parts(base.samples), parts(opt.samples)
    return {name: b[name] - o[name] for name in PARTS}


class Paired(NamedTuple):
    """Pairs by position (the twins' i-th requests had the same simulated latency)."""

    faster: int  # pairs in which the optimised side took less
    pairs: int
    median: float  # of the differences, baseline minus optimised (ms)
    low: float  # the middle half of the differences spans low..high (quartiles)
    high: float


def paired(base: Timed, opt: Timed, measure: Measure = by_wall) -> Paired:
    """``measure`` compared pair by pair."""
    deltas = sorted(b - o for b, o in ((measure(x), measure(y)) for x, y in
                                       zip(base.samples, opt.samples, strict=False))
                    if b is not None and o is not None)
    if not deltas:
        return Paired(0, 0, 0.0, 0.0, 0.0)
    quartiles = statistics.quantiles(deltas, n=4) if len(deltas) > 1 else [deltas[0]] * 3
    return Paired(sum(d > 0 for d in deltas), len(deltas), statistics.median(deltas),
                  quartiles[0], quartiles[2])


def why(base: Timed, opt: Timed, measure: Measure = by_wall) -> str:
    """The note: each part's mean on both sides, what each saved or cost, and the total
    (= the sum of the parts); the paired view of ``measure`` (wall time unless told); the
    work moved after the answer, and the fairness clause."""
    if not base.samples or not opt.samples:
        return "why: not measured"
    b, o = parts(base.samples), parts(opt.samples)
    diff = saved(base, opt)
    tokens = (sum(c.usage.input_tokens for c in base.completions)
              - sum(c.usage.input_tokens for c in opt.completions))
    provider_cause = "connection reuse" + (" + compression" if tokens > 0 else "")
    named = {SETUP: "new client set-up", PREPARE: "prepare (optimised compresses)",
             LOOKUP: "cache look-up", PROVIDER: f"provider call ({provider_cause})",
             AFTER: "after the last chunk (baseline: close; optimised: cache store + record)"}
    listed = "; ".join(f"{named[name]} {b[name]:.2f} vs {o[name]:.2f} ms "
                       f"({_signed(diff[name])})" for name in PARTS)
    total = sum(diff.values())
    idle = statistics.median(s.idle_ms for s in opt.samples)
    pair = paired(base, opt, measure)
    text = (f"why (mean ms per request, baseline vs optimised): {listed}; in all "
            f"{sum(b.values()):.2f} vs {sum(o.values()):.2f} ms, {_signed(total)} = the sum "
            f"of the parts; paired request by request, the optimised side was faster in "
            f"{pair.faster} of {pair.pairs} pairs, by {pair.median:.2f} ms at the median "
            f"(the middle half of the differences: {pair.low:.2f} to {pair.high:.2f} ms); "
            f"the cache's grouped disk write "
            f"runs after the answer is handed over ({idle:.2f} ms median loop turn between "
            f"requests, outside both timers)")
    if tokens > 0:
        text += f"; compression sent {tokens:,} fewer input tokens"
    extra = o[LOOKUP] + o[AFTER] + max(0.0, o[PREPARE] - b[PREPARE])
    text += (f"; against a client reused without a cache (not a side here) a miss would cost "
             f"the optimised side about {extra:.2f} ms more (look-up, store, compression)")
    return (text + "; twin simulators give both sides the same simulated latencies; "
            + FAIRNESS)


def _signed(delta: float) -> str:
    return f"saved {delta:.2f} ms" if delta >= 0 else f"cost {-delta:.2f} ms"
