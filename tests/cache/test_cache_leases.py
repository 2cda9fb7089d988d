"""``lead_or_wait`` (pure asyncio over a fake store): no duplicate send in the window between
a look and a lease. The store's ``lead`` takes a lease only while no answer is stored
(``RedisStore.lead``: one atomic step in Redis): a token, False (held by another) or True
(already answered)."""

from __future__ import annotations

import asyncio
from typing import Any

from llmx.cache import leases
from llmx.cache.types import Entry


class FakeStore:
    def __init__(self, leads: list[str | bool]) -> None:
        self.leads = leads
        self.released: list[str] = []

    def lead(self, key: str, ttl_ms: int) -> str | bool:
        return self.leads.pop(0)

    def renew(self, key: str, token: str, ttl_ms: int) -> bool:
        return True

    def release(self, key: str, token: str) -> None:
        self.released.append(token)


class FakeCache:
    def __init__(self, store: FakeStore, answers: list[Any]) -> None:
        self.store, self.answers, self.looks = store, answers, 0

    def shared_store(self) -> FakeStore:
        return self.store

    def exact(self, keys: Any) -> Any:
        self.looks += 1
        return self.answers.pop(0)


class Keys:
    exact = "k"


HIT = Entry(text="t", chunks=(), model="m", provider="p", input_tokens=1, output_tokens=1,
            finish_reason="stop", prompt="q", scope="s", kind="chat", created=0.0)


def test_an_answer_stored_as_the_lease_came_free_is_served_not_sent_again() -> None:
    # a waiter: held by another; it looks (not stored yet); the sender stores and releases;
    # the waiter's next lead says the answer is there: it is served, no lease is taken
    store = FakeStore([False, True])
    cache = FakeCache(store, [None, HIT])
    got = asyncio.run(leases.lead_or_wait(cache, Keys()))  # type: ignore[arg-type]
    assert got is HIT and store.released == [] and cache.looks == 2


def test_an_answer_stored_since_the_first_look_is_served_not_sent_again() -> None:
    # a batch line looked up at launch, its turn later: another process answered meanwhile
    store = FakeStore([True])
    cache = FakeCache(store, [HIT])
    got = asyncio.run(leases.lead_or_wait(cache, Keys()))  # type: ignore[arg-type]
    assert got is HIT and store.released == [] and cache.looks == 1


def test_the_first_to_ask_leads_without_an_extra_look() -> None:
    store = FakeStore(["tok"])
    cache = FakeCache(store, [])

    async def run() -> object:
        got = await leases.lead_or_wait(cache, Keys())  # type: ignore[arg-type]
        assert isinstance(got, leases.Lease)
        got.release()
        return got

    asyncio.run(run())
    assert cache.looks == 0 and store.released == ["tok"]
