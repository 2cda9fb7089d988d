"""Counters behind ``GET /sim/stats`` (one instance per server)."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import asdict
from typing import Any

from llmx.sim.options import SimOptions
from llmx.sim.text import prompt_key

_RECENT_PROMPTS = 16
_RECENT_PROMPT_CHARS = 2000


class SimStats:
    """What the server has done since it started or was last reset.

    ``prompts`` counts requests per ``prompt_key(last user message)``; it holds
    at most ``max_tracked_prompts`` distinct keys (later new keys are counted in
    ``prompts_untracked``). ``recent_prompts`` keeps the last few last-user
    messages, truncated, for debugging and end-to-end checks.
    """

    def __init__(self, opts: SimOptions) -> None:
        self._opts = opts
        self._started = time.monotonic()
        self.open_connections = 0
        self.open_streams = 0
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.connections = 0
        self.streams = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.internal_errors = 0
        self.batch_requests = 0  # requests answered inside provider batches
        self.idle_closed = 0  # connections closed for idling (``idle_close_ms``)
        self.by_endpoint: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.faults: Counter[str] = Counter()
        self.prompts: dict[str, int] = {}
        self.prompts_untracked = 0
        self.recent_prompts: deque[str] = deque(maxlen=_RECENT_PROMPTS)

    def record_prompt(self, text: str) -> None:
        key = prompt_key(text)
        count = self.prompts.get(key)
        if count is not None:
            self.prompts[key] = count + 1
        elif len(self.prompts) < self._opts.max_tracked_prompts:
            self.prompts[key] = 1
        else:
            self.prompts_untracked += 1
        self.recent_prompts.append(text[:_RECENT_PROMPT_CHARS])

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_endpoint": dict(self.by_endpoint),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "faults": dict(self.faults),
            "streams": self.streams,
            "connections": self.connections,
            "open_connections": self.open_connections,
            "open_streams": self.open_streams,
            "in_flight": self.in_flight,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "internal_errors": self.internal_errors,
            "batch_requests": self.batch_requests,
            "idle_closed": self.idle_closed,
            "prompts": dict(self.prompts),
            "prompts_untracked": self.prompts_untracked,
            "recent_prompts": list(self.recent_prompts),
            "uptime_s": round(time.monotonic() - self._started, 3),
            "options": asdict(self._opts),
        }
