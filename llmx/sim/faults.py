"""Seeded decisions: which fault a request gets, and how long it takes.

Faults, jitter and reply shapes (refusals, in-band errors: ``shape``) use separate RNGs so
that turning one on does not change which requests get the others. Each rate is an
independent probability, checked in a fixed order (rate limit, failure, stall, mid-stream
stall, cut); a rate of 1.0 gives every request that fault.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from llmx.sim.common import Fault
from llmx.sim.options import SimOptions


@dataclass(frozen=True, slots=True)
class Plan:
    """Delays for one response, in seconds."""

    header_delay: float  # before the status line
    first_token_delay: float  # after the headers, before the first token (streams)
    token_interval: float  # between tokens; 0 = as fast as possible

    def total(self, tokens: int) -> float:
        return self.header_delay + self.first_token_delay + tokens * self.token_interval


class Dice:
    """The simulator's RNGs (one instance per server)."""

    def __init__(self, opts: SimOptions) -> None:
        self._opts = opts
        self._faults = random.Random(opts.seed)
        self._jitter = random.Random(opts.seed + 0x5EED)
        self._shapes = random.Random(opts.seed + 0x5A9E)

    def shape(self, dialect: str) -> str | None:
        """A directive name (``refusal``, ``error_after_text``) for this request, by
        ``refusal_rate`` then ``inband_error_rate``; None for a plain answer."""
        from llmx.sim.directives import supports

        o, r = self._opts, self._shapes
        for name, rate in (("refusal", o.refusal_rate), ("error_after_text",
                                                          o.inband_error_rate)):
            if rate > 0 and r.random() < rate and supports(dialect, name):
                return name
        return None

    def fault(self) -> Fault:
        o = self._opts
        r = self._faults
        if o.rate_limit_rate > 0 and r.random() < o.rate_limit_rate:
            return Fault.RATE_LIMIT
        if o.fail_rate > 0 and r.random() < o.fail_rate:
            return Fault.FAIL_500 if r.random() < 0.5 else Fault.FAIL_503
        if o.stall_rate > 0 and r.random() < o.stall_rate:
            return Fault.STALL
        if o.midstream_stall_rate > 0 and r.random() < o.midstream_stall_rate:
            return Fault.STALL_MID
        if o.cut_rate > 0 and r.random() < o.cut_rate:
            return Fault.CUT
        return Fault.NONE

    def break_point(self, pieces: int) -> int:
        """After how many pieces a cut or stalled stream stops (at least one)."""
        if pieces <= 1:
            return pieces
        return self._faults.randint(1, pieces - 1)

    def plan(self, input_tokens: int) -> Plan:
        o = self._opts
        scale = 1.0
        if o.jitter > 0:
            scale = 1.0 + o.jitter * (2.0 * self._jitter.random() - 1.0)
        first = (o.ttft_ms + input_tokens * o.per_input_token_ms) * scale / 1000.0
        interval = scale / o.tokens_per_s if o.tokens_per_s > 0 else 0.0
        return Plan(o.latency_ms * scale / 1000.0, first, interval)

    def embed_plan(self, input_tokens: int) -> Plan:
        o = self._opts
        scale = 1.0
        if o.jitter > 0:
            scale = 1.0 + o.jitter * (2.0 * self._jitter.random() - 1.0)
        prompt = input_tokens * o.per_input_token_ms * scale / 1000.0
        return Plan(o.latency_ms * scale / 1000.0, prompt, 0.0)
