"""The bench's values: options, the latency model, rows, the result and its JSON schema.

JSON schema 1 (``BenchResult.to_json``)::

    {"schema": 1, "date": ISO-8601 UTC, "machine": {"platform", "cpus", "python"},
     "target": {"kind": "embedded simulator" | "profile", "latency_model": {...}},
     "workload": {...declared proportions and sizes...}, "targets": "seed" | "pass3",
     "price": {"input", "output", "per": "1M tokens", "batch_discount"},
     "duration_s": float,
     "rows": [{"name", "target", "baseline", "optimised", "unit", "improvement",
               "pass": bool | null, "note"}]}

``baseline`` / ``optimised`` / ``improvement`` are numbers or null (not measured or not
applicable); ``target`` is the seed's text or null when the seed names none.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

SCHEMA = 1

if TYPE_CHECKING:
    from llmx.config.profile import Profile


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """The simulator's knobs, resembling a hosted model.

    ``connect_ms``: a new connection is read from only after this long (``llmx sim
    --connect-delay-ms``): TCP's handshake and TLS 1.3's each take one round trip before the
    first request byte, so 20 ms is two round trips at 10 ms, a client in the provider's
    region (across regions, round trips of 20-100 ms make it 40-200 ms). Loopback alone
    would price a new connection at ~1 ms, which no hosted provider offers; ``llmx bench
    --connect-ms 0`` measures that case."""

    latency_ms: float = 0.0
    ttft_ms: float = 150.0
    tokens_per_s: float = 60.0
    per_input_token_ms: float = 0.02
    jitter: float = 0.1
    connect_ms: float = 20.0

    def argv(self) -> list[str]:
        return ["--latency-ms", str(self.latency_ms), "--ttft-ms", str(self.ttft_ms),
                "--tokens-per-s", str(self.tokens_per_s),
                "--per-input-token-ms", str(self.per_input_token_ms),
                "--jitter", str(self.jitter), "--connect-delay-ms", str(self.connect_ms)]


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Money per 1M tokens; ``batch_discount`` is the provider batch API's discount."""

    input: float = 0.15
    output: float = 0.60
    batch_discount: float = 0.5


@dataclass(frozen=True, slots=True)
class BenchOptions:
    quick: bool = False
    targets: str = "seed"  # "seed" | "pass3"
    model: LatencyModel = field(default_factory=LatencyModel)
    price: PriceTable = field(default_factory=PriceTable)
    seed: int = 7
    profile: Profile | None = None  # a real provider instead of the embedded simulator
    pairs: int | None = None  # test-only: requests per side in the simple and TTFT pairs

    @property
    def max_tokens(self) -> int:
        return 8 if self.quick else 32

    @property
    def samples(self) -> int:
        """Requests per side in each latency pair (simple, TTFT): enough that the p95 of
        nearest rank is not the largest one (20: the 19th of 20). ``pairs`` overrides it
        (the tests' second, slow-model run; neither the CLI nor the defaults set it)."""
        if self.pairs is not None:
            return self.pairs
        return 20 if self.quick else 40

    @property
    def complex_samples(self) -> int:
        return 3 if self.quick else 8

    @property
    def mix_size(self) -> int:
        return 40 if self.quick else 120

    @property
    def log_lines(self) -> int:
        return 260 if self.quick else 400

    @property
    def levels(self) -> tuple[int, ...]:
        # A real provider's rate limits (and bill) make hundreds of parallel requests unwise.
        return (10, 50, 100, 200) if self.profile is None else (2, 5, 10)

    def requests(self) -> int:
        """How many requests a run sends in all (for the cost estimate before a real run)."""
        per_side = self.samples * 2 + self.complex_samples + sum(self.levels)
        return 1 + self.mix_size + 2 * per_side


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    target: str | None
    baseline: float | None
    optimised: float | None
    unit: str
    improvement: float | None
    passed: bool | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "baseline": _num(self.baseline),
                "optimised": _num(self.optimised), "unit": self.unit,
                "improvement": _num(self.improvement), "pass": self.passed, "note": self.note}


@dataclass(frozen=True, slots=True)
class BenchResult:
    date: str
    machine: dict[str, Any]
    target: dict[str, Any]
    workload: dict[str, Any]
    targets: str
    price: PriceTable
    duration_s: float
    rows: tuple[Row, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "date": self.date, "machine": self.machine,
                "target": self.target, "workload": self.workload, "targets": self.targets,
                "price": {**asdict(self.price), "per": "1M tokens"},
                "duration_s": round(self.duration_s, 2),
                "rows": [row.as_dict() for row in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def row(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)


def _num(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


def improvement_lower(baseline: float | None, optimised: float | None) -> float | None:
    """Percent saved when lower is better (latency, tokens, cost)."""
    if baseline is None or optimised is None or baseline <= 0:
        return None
    return (baseline - optimised) / baseline * 100.0
