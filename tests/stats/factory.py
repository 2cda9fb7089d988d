"""Hand-made records for the stats tests."""

from __future__ import annotations

from typing import Any

from llmx.records import Record

BASE_TS = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def record(**fields: Any) -> Record:
    """A successful cache miss with round numbers; any field can be overridden."""
    values: dict[str, Any] = {
        "ts": BASE_TS, "profile": "default", "provider": "openai", "model": "gpt-x",
        "tier": "miss", "similarity": None, "lookup_ms": 1.0, "latency_ms": 100.0,
        "ttft_ms": 50.0, "input_tokens": 10, "output_tokens": 5, "tokens_saved": 0,
        "cost": None, "cost_saved": None, "status": "ok", "error": None,
    }
    values.update(fields)
    return Record(**values)
