"""Retry policy: which failures retry, and how long to wait. Pure, no IO.

Backoff is exponential with full jitter (a uniform draw in ``[0, min(cap, base * 2**n)]``);
a server's ``retry-after-ms`` / ``retry-after`` wins over the computed delay. Every wait must
fit in the remaining time budget, otherwise the last error is final. In-band errors (an
error event inside a 200 stream) retry like the HTTP status they stand for, but only
while nothing has been handed to the caller (the HTTP engine decides that).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from llmx.errors import LlmxError, ProviderError, RateLimitError

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 2
    base_delay: float = 0.25
    max_delay: float = 8.0

    def delay(
        self, attempt: int, retry_after: float | None, rand: Callable[[], float]
    ) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return float(rand() * ceiling)


def should_retry_status(status: int, headers: Mapping[str, str]) -> bool:
    """Anthropic and OpenAI send ``x-should-retry``; when present it decides."""
    hint = headers.get("x-should-retry")
    if hint == "true":
        return True
    if hint == "false":
        return False
    return status in RETRYABLE_STATUS


def should_retry_error(error: LlmxError) -> bool:
    """Whether an error reported inside a 200 body (an in-band error) is worth another
    attempt: a rate limit, or a provider error standing for a retryable HTTP status."""
    if isinstance(error, RateLimitError):
        return True
    return isinstance(error, ProviderError) and error.status in RETRYABLE_STATUS


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Parse ``retry-after-ms`` (milliseconds) or ``retry-after`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
