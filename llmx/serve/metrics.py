"""The proxy's figures in the Prometheus text format (``GET /metrics``). Pure: no IO.

Counters: ``llmx_requests_total{route,status}``, ``llmx_cache_hits_total{tier}``,
``llmx_coalesced_requests_total``, ``llmx_tokens_total{direction}`` (input tokens sent
upstream and output tokens received, cache hits excluded), ``llmx_cost_usd_total{kind}``
(``spent`` on answers from the provider, ``saved`` by hits: the original answer's usage),
estimated at the profile's ``price`` (answers of a profile without one count 0).
Histograms (milliseconds): ``llmx_upstream_latency_ms`` and ``llmx_upstream_ttft_ms``, of
the answers that reached the provider. Labels carry no secret: a route, a status code, a cache tier.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping

BUCKETS_MS = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0)


class Histogram:
    __slots__ = ("counts", "total", "values")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS_MS) + 1)
        self.total = 0.0
        self.values = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(BUCKETS_MS, value)] += 1
        self.total += value
        self.values += 1

    def fields(self, name: str) -> dict[str, float]:
        out = {f"{name}:b:{i}": float(count) for i, count in enumerate(self.counts)}
        return {**out, f"{name}:sum": self.total, f"{name}:count": float(self.values)}

    def load(self, name: str, fields: Mapping[str, float]) -> None:
        self.counts = [int(fields.get(f"{name}:b:{i}", 0)) for i in range(len(self.counts))]
        self.total = fields.get(f"{name}:sum", 0.0)
        self.values = int(fields.get(f"{name}:count", 0))

    def lines(self, name: str) -> list[str]:
        out, running = [f"# TYPE {name} histogram"], 0
        for bound, count in zip((*map(_number, BUCKETS_MS), "+Inf"), self.counts, strict=True):
            running += count
            out.append(f'{name}_bucket{{le="{bound}"}} {running}')
        out += [f"{name}_sum {_number(self.total)}", f"{name}_count {self.values}"]
        return out


class Metrics:
    __slots__ = ("coalesced", "cost", "hits", "latency", "requests", "tokens", "ttft")

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.hits: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        self.cost: dict[str, float] = {"spent": 0.0, "saved": 0.0}
        self.coalesced = 0
        self.latency = Histogram()
        self.ttft = Histogram()

    def request(self, route: str, status: int) -> None:
        self.requests[(route, status)] += 1

    def answered(self, tier: str, *, input_tokens: int, output_tokens: int,
                 latency_ms: float, ttft_ms: float | None, cost: float = 0.0) -> None:
        """One answer: a cache hit of ``tier``, or (``"miss"``) one from the provider;
        ``cost``: its estimated money (a hit's is what it saved)."""
        if tier != "miss":
            self.hits[tier] += 1
            self.cost["saved"] += cost
            return
        self.cost["spent"] += cost
        self.tokens["input"] += input_tokens
        self.tokens["output"] += output_tokens
        self.latency.observe(latency_ms)
        if ttft_ms is not None:
            self.ttft.observe(ttft_ms)

    def fields(self) -> dict[str, float]:
        """Every counter as one flat ``name: value`` map (what a fleet sums, field by field:
        ``llmx.serve.fleet``); ``Metrics.of(fields)`` reads it back."""
        out = {f"requests:{route}:{status}": float(count)
               for (route, status), count in self.requests.items()}
        out.update({f"hits:{tier}": float(count) for tier, count in self.hits.items()})
        out.update({f"tokens:{d}": float(count) for d, count in self.tokens.items()})
        out.update({f"cost:{kind}": value for kind, value in self.cost.items()})
        out["coalesced"] = float(self.coalesced)
        return {**out, **self.latency.fields("latency"), **self.ttft.fields("ttft")}

    @classmethod
    def of(cls, fields: Mapping[str, float]) -> Metrics:
        metrics = cls()
        for name, value in fields.items():
            kind, _, rest = name.partition(":")
            if kind == "requests":
                route, _, status = rest.rpartition(":")
                metrics.requests[(route, int(status))] = int(value)
            elif kind in ("hits", "tokens"):
                getattr(metrics, kind)[rest] = int(value)
            elif kind == "cost":
                metrics.cost[rest] = value
        metrics.coalesced = int(fields.get("coalesced", 0))
        metrics.latency.load("latency", fields)
        metrics.ttft.load("ttft", fields)
        return metrics

    def text(self) -> str:
        lines = ["# TYPE llmx_requests_total counter"]
        lines += [f'llmx_requests_total{{route="{route}",status="{status}"}} {count}'
                  for (route, status), count in sorted(self.requests.items())]
        lines.append("# TYPE llmx_cache_hits_total counter")
        lines += [f'llmx_cache_hits_total{{tier="{tier}"}} {self.hits[tier]}'
                  for tier in ("exact", "semantic")]
        lines += ["# TYPE llmx_coalesced_requests_total counter",
                  f"llmx_coalesced_requests_total {self.coalesced}",
                  "# TYPE llmx_tokens_total counter"]
        lines += [f'llmx_tokens_total{{direction="{d}"}} {self.tokens[d]}'
                  for d in ("input", "output")]
        lines.append("# TYPE llmx_cost_usd_total counter")
        lines += [f'llmx_cost_usd_total{{kind="{kind}"}} {value:.6f}'
                  for kind, value in self.cost.items()]
        lines += self.latency.lines("llmx_upstream_latency_ms")
        lines += self.ttft.lines("llmx_upstream_ttft_ms")
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))
