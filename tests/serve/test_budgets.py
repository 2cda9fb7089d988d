"""``llmx.serve.budgets`` on its own: local buckets on a fake clock, and buckets in a real
redis-server (shared by two Budgets, as by two proxies; a Redis gone = one warning)."""

from __future__ import annotations

from pathlib import Path

from llmx.cache.redis_store import RedisStore
from llmx.config.serve import ClientSettings
from llmx.serve.budgets import Budgets, Refused
from tests.redis_kit import RedisServer, _redis_session, redis_server

__all__ = ["_redis_session", "redis_server"]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _clients(**limits: int) -> dict[str, ClientSettings]:
    return {"ci": ClientSettings(key_env="CI_KEY", **limits),
            "free": ClientSettings(key_env="FREE_KEY")}


def test_rpm_allows_a_minutes_burst_then_the_rate() -> None:
    clock = Clock()
    budgets = Budgets(_clients(rpm=3), clock=clock)
    assert [budgets.admit("ci") for _ in range(3)] == [None, None, None]
    refused = budgets.admit("ci")
    assert refused is not None and refused.what == "requests" and refused.limit == 3
    assert 19.9 < refused.retry_after <= 20.0 and refused.retry_after_s == 20
    clock.now += 20.0
    assert budgets.admit("ci") is None and budgets.admit("ci") is not None
    assert all(budgets.admit("free") is None for _ in range(100))  # no budget: never held


def test_tokens_are_charged_after_the_answer_and_a_debt_holds_requests() -> None:
    clock = Clock()
    budgets = Budgets(_clients(tpm=600), clock=clock)
    assert budgets.admit("ci") is None
    budgets.charge("ci", 900)  # 300 in debt at 10 a second: 30 s until it is paid
    refused = budgets.admit("ci")
    assert refused == Refused("tokens", 600, refused.retry_after if refused else 0)
    assert refused is not None and 30.0 < refused.retry_after <= 30.2
    clock.now += 31.0
    assert budgets.admit("ci") is None


def test_a_refused_request_takes_nothing() -> None:
    clock = Clock()
    budgets = Budgets(_clients(rpm=2, tpm=60), clock=clock)
    assert budgets.admit("ci") is None  # one request of two left
    budgets.charge("ci", 61)  # tokens in debt: requests refused, and none taken
    assert [budgets.admit("ci") for _ in range(5)].count(None) == 0
    clock.now += 2.0
    assert budgets.admit("ci") is None  # the request bucket still held its one
    refused = budgets.admit("ci")
    assert refused is not None and refused.what == "requests"


def test_two_budgets_on_one_redis_are_one_budget(redis_server: RedisServer,
                                                 tmp_path: Path) -> None:
    stores = [RedisStore(redis_server.url, tmp_path) for _ in range(2)]
    a, b = (Budgets(_clients(rpm=4, tpm=1000), shared=store) for store in stores)
    assert [budget.admit("ci") for budget in (a, b, a, b)] == [None] * 4
    refused = a.admit("ci")
    assert refused is not None and refused.what == "requests" and refused.retry_after > 10
    b.charge("ci", 5000)
    assert redis_server.command("EXISTS", "llmx:b:serve:tokens:ci") == "1"


def test_a_redis_gone_costs_one_warning_and_budgets_stay_local(redis_server: RedisServer,
                                                               tmp_path: Path) -> None:
    said: list[str] = []
    budgets = Budgets(_clients(rpm=2), shared=RedisStore(redis_server.url, tmp_path),
                      warn=said.append)
    assert budgets.admit("ci") is None
    redis_server.stop()
    assert budgets.admit("ci") is None and budgets.admit("ci") is None  # local: full again
    assert budgets.admit("ci") is not None
    assert len(said) == 1 and "kept by this proxy alone" in said[0]
