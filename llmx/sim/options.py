"""The simulator's knobs: one frozen value, validated on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

_RATES = (
    "jitter",
    "fail_rate",
    "rate_limit_rate",
    "cut_rate",
    "stall_rate",
    "midstream_stall_rate",
    "refusal_rate",
    "inband_error_rate",
)
_NON_NEGATIVE = (
    "latency_ms",
    "ttft_ms",
    "tokens_per_s",
    "per_input_token_ms",
    "retry_after_s",
    "batch_delay_s",
    "connect_delay_ms",
    "idle_close_ms",
)


@dataclass(frozen=True)
class SimOptions:
    """How the simulated provider behaves.

    Delays are in milliseconds, rates are probabilities in ``[0, 1]`` drawn
    from RNGs seeded with ``seed`` (so a run is reproducible request by
    request). ``tokens_per_s = 0`` means output is produced instantly.

    Faults: ``fail_rate`` answers 500 or 503 and ``rate_limit_rate`` 429, both
    with the provider's error body; ``cut_rate`` closes the connection after
    part of the body (some tokens of a stream, half of a whole body);
    ``stall_rate`` never sends the status line; ``midstream_stall_rate`` sends
    part of the body (as a cut does) and then goes silent. A stalled request
    holds its connection until the client gives up or the server stops.
    ``refusal_rate`` answers a refusal and ``inband_error_rate`` some text and then an
    in-band error (``event: error`` / ``data: {"error": ...}``; a whole reply gets the HTTP
    500 it stands for), each in the request's dialect, as the ``refusal`` and
    ``error_after_text`` directives do (``llmx.sim.directives``); a dialect without such a
    reply (Ollama has no refusal) answers normally.

    Connections: ``connect_delay_ms`` holds every new connection that long before the
    server reads from it (what DNS, TCP and a TLS handshake cost over a real network: the
    first request on a fresh connection waits, a request on a connection opened earlier does
    not); ``idle_close_ms`` closes a connection that has carried no request for that long
    (0 = never), as a server's keep-alive timeout does; a request that arrives as it closes
    meets a closed socket.

    ``batch_delay_s`` (seconds) is how long after its creation a provider
    batch (OpenAI Batch API, Anthropic Message Batches) completes.
    """

    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: float = 0.0
    ttft_ms: float = 0.0
    tokens_per_s: float = 0.0
    per_input_token_ms: float = 0.0
    jitter: float = 0.0
    fail_rate: float = 0.0
    rate_limit_rate: float = 0.0
    cut_rate: float = 0.0
    stall_rate: float = 0.0
    midstream_stall_rate: float = 0.0
    refusal_rate: float = 0.0
    inband_error_rate: float = 0.0
    seed: int = 0
    max_tokens_default: int = 64
    retry_after_s: float = 0.05
    embedding_dims: int = 256
    max_tracked_prompts: int = 10_000
    batch_delay_s: float = 0.2  # how long a provider batch (OpenAI, Anthropic) takes
    connect_delay_ms: float = 0.0  # a new connection is read from only after this long
    idle_close_ms: float = 0.0  # an idle connection is closed after this long (0 = never)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{f.name} must be a finite number, got {value!r}")
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        for name in _NON_NEGATIVE:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port!r}")
        if self.max_tokens_default < 1:
            raise ValueError("max_tokens_default must be >= 1")
        if not 1 <= self.embedding_dims <= 8192:
            raise ValueError("embedding_dims must be between 1 and 8192")
        if self.max_tracked_prompts < 0:
            raise ValueError("max_tracked_prompts must be >= 0")
