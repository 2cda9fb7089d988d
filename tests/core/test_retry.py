from __future__ import annotations

import email.utils

import pytest

from llmx.errors import AuthError, LlmxError, ProviderError, RateLimitError, StreamError
from llmx.providers.retry import (
    RetryPolicy,
    retry_after_seconds,
    should_retry_error,
    should_retry_status,
)


def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    policy = RetryPolicy(retries=5, base_delay=0.5, max_delay=3.0)
    assert policy.delay(0, None, lambda: 1.0) == pytest.approx(0.5)
    assert policy.delay(2, None, lambda: 1.0) == pytest.approx(2.0)
    assert policy.delay(6, None, lambda: 1.0) == pytest.approx(3.0)  # capped
    assert policy.delay(3, None, lambda: 0.0) == 0.0
    assert policy.delay(3, None, lambda: 0.5) == pytest.approx(1.5)


def test_server_retry_after_wins_over_backoff() -> None:
    assert RetryPolicy().delay(0, 7.5, lambda: 1.0) == 7.5


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5", "retry-after-ms": "20"}, 0.02),  # ms is more precise
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_headers(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after_seconds({"retry-after": date}, now=now) == pytest.approx(30, abs=1)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {}, True),
        (503, {}, True),
        (500, {}, True),
        (400, {}, False),
        (401, {}, False),
        (404, {}, False),
        (400, {"x-should-retry": "true"}, True),
        (503, {"x-should-retry": "false"}, False),
    ],
)
def test_which_statuses_retry(status: int, headers: dict[str, str], expected: bool) -> None:
    assert should_retry_status(status, headers) is expected


@pytest.mark.parametrize(("error", "expected"), [
    (StreamError("overloaded", status=529), True),
    (StreamError("overloaded", status=503), True),
    (StreamError("server", status=500), True),
    (RateLimitError("slow down"), True),
    (StreamError("bad request", status=400), False),
    (StreamError("stream ended early"), False),
    (ProviderError("no status"), False),
    (AuthError("bad key"), False),
])
def test_inband_errors_retry_like_their_http_status(error: LlmxError, expected: bool) -> None:
    assert should_retry_error(error) is expected
