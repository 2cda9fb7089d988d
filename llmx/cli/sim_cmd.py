"""``llmx sim``: run the embedded simulator until Ctrl-C / SIGTERM."""

from __future__ import annotations

from typing import Any

from llmx.cli._io import Io
from llmx.errors import UsageError


def run_sim(options: dict[str, Any], io: Io) -> int:
    from llmx.sim import SimOptions, run_forever

    rates = ("fail_rate", "rate_limit_rate", "cut_rate", "stall_rate", "midstream_stall_rate",
             "jitter")
    for name in rates:
        if not 0.0 <= options[name] <= 1.0:
            raise UsageError(f"--{name.replace('_', '-')} must be between 0 and 1")
    for name in ("latency_ms", "ttft_ms", "tokens_per_s", "per_input_token_ms", "batch_delay_s"):
        if options[name] < 0:
            raise UsageError(f"--{name.replace('_', '-')} must not be negative")
    run_forever(SimOptions(**options), io.stdout)
    return 0
