"""``llmx bench``: the seed's metrics table, measured (baseline against optimised).

    result = run_bench(BenchOptions(quick=True), progress=print)
    print(result.to_json())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["BenchOptions", "BenchResult", "LatencyModel", "PriceTable", "Row", "run_bench"]

if TYPE_CHECKING:
    from llmx.bench.model import BenchOptions, BenchResult, LatencyModel, PriceTable, Row
    from llmx.bench.runner import run_bench


def __getattr__(name: str) -> Any:
    import importlib

    if name == "run_bench":
        return importlib.import_module("llmx.bench.runner").run_bench
    if name in __all__:
        return getattr(importlib.import_module("llmx.bench.model"), name)
    raise AttributeError(f"module 'llmx.bench' has no attribute {name!r}")
