"""``RedisStore`` against a real redis-server: the same surface as the disk store."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmx.cache.databases import CacheUnavailable
from llmx.cache.redis_store import RedisStore
from llmx.cache.rows import aux_key
from llmx.cache.types import Entry
from tests.redis_kit import RedisServer, _redis_session, redis_server

__all__ = ["_redis_session", "redis_server"]


def _entry(text: str = "an answer") -> Entry:
    return Entry(text=text, chunks=(), model="sim-1", provider="openai", input_tokens=3,
                 output_tokens=2, finish_reason="stop", prompt="q", scope="s", kind="chat",
                 created=1.0)


def test_an_answer_round_trips_with_its_expiry(redis_server: RedisServer, tmp_path: Path) -> None:
    now = [1000.0]
    store = RedisStore(redis_server.url, tmp_path, clock=lambda: now[0])
    store.set("k1", _entry(), expire=60)
    store.set("k2", _entry("forever"), expire=None)
    assert store.get("k1") == _entry() and store.get("k2") == _entry("forever")
    assert 0 < int(redis_server.command("PTTL", "llmx:r:k1")) <= 60_000
    assert redis_server.command("PTTL", "llmx:r:k2") == "-1"
    now[0] += 61  # past its expiry by the clock, even before Redis drops it
    assert store.get("k1") is None and store.get("k2") is not None
    assert len(store) == 2 and store.delete("k2") and store.get("k2") is None
    store.set("k3", _entry(), expire=0)
    assert store.get("k3") is None


def test_a_lease_is_taken_only_while_no_answer_is_stored(redis_server: RedisServer,
                                                         tmp_path: Path) -> None:
    one, two = (RedisStore(redis_server.url, tmp_path / n) for n in ("a", "b"))
    token = one.lead("lk", 5_000)
    assert isinstance(token, str) and two.lead("lk", 5_000) is False  # held by one
    two.set("lk", _entry(), expire=60)
    two.flush()
    one.release("lk", token)
    assert redis_server.command("EXISTS", "llmx:l:lk") == "0"
    assert two.lead("lk", 5_000) is True  # answered: no lease is taken, none is left
    assert redis_server.command("EXISTS", "llmx:l:lk") == "0"


def test_the_vector_log_numbers_rows_in_order(redis_server: RedisServer, tmp_path: Path) -> None:
    one, two = (RedisStore(redis_server.url, tmp_path / n) for n in ("a", "b"))
    assert one.vector_seq("emb") == 0
    assert one.append_vector("k1", "s", "emb", b"\x01\x02") is None  # sent at once: no loop
    assert two.append_vector("k2", "s", "emb", b"\x03") is None  # another process, same log
    assert one.vector_seq("emb") == two.vector_seq("emb") == 2
    assert list(two.vectors_since("emb", 0)) == [(1, "k1", "s", b"\x01\x02"),
                                                 (2, "k2", "s", b"\x03")]
    assert list(one.vectors_since("emb", 1)) == [(2, "k2", "s", b"\x03")]
    assert one.written_since("emb", 0) == [(1, "k1", "s", b"\x01\x02")]  # its own, by RPUSH
    assert two.written_since("emb", 0) is None  # row 1 is not two's: read it from Redis
    assert two.written_since("emb", 1) == [(2, "k2", "s", b"\x03")]


def test_aux_values_are_tagged_never_pickled(redis_server: RedisServer, tmp_path: Path) -> None:
    store = RedisStore(redis_server.url, tmp_path)
    for value in (b"\x00raw", 7, {"a": [1, 2]}, "text"):
        store.set_aux("ns", "k", value)
        assert store.get_aux("ns", "k") == value
    import pickle

    import redis

    with redis.Redis.from_url(redis_server.url) as raw:
        name = "llmx:a:" + aux_key("ns", "bad")
        raw.set(name, pickle.dumps({"x": 1}))  # what another client might put there
        assert raw.exists(name)
    assert store.get_aux("ns", "bad") is None


def test_clear_removes_only_llmx_keys(redis_server: RedisServer, tmp_path: Path) -> None:
    store = RedisStore(redis_server.url, tmp_path)
    store.set("k1", _entry(), expire=None)
    store.append_vector("k1", "s", "emb", b"\x01")
    store.set_aux("ns", "k", 1)
    redis_server.command("SET", "someone-else", "keep")
    assert store.clear() == 1
    assert redis_server.command("DBSIZE") == "1"


def test_an_unreachable_redis_misses_and_refuses_writes(tmp_path: Path) -> None:
    store = RedisStore(f"unix://{tmp_path}/no.sock", tmp_path)
    assert store.get("k") is None and store.get_aux("ns", "k") is None
    with pytest.raises(CacheUnavailable, match="shared cache cannot be written"):
        store.set("k", _entry(), expire=None)
    with pytest.raises(CacheUnavailable, match="shared cache cannot be read"):
        store.vector_seq("emb")


def test_a_shared_bucket_is_one_bucket_for_every_process(redis_server: RedisServer,
                                                         tmp_path: Path) -> None:
    from llmx.batch.limits import SharedBucket

    said: list[str] = []
    def bucket(store: RedisStore) -> SharedBucket:
        return SharedBucket(lambda r, c, a: store.bucket("p:rpm", r, c, a), 60,
                            warn=said.append)

    one, two = (bucket(RedisStore(redis_server.url, tmp_path / n)) for n in ("a", "b"))
    assert one.capacity == 1.0  # 60 rpm: one a second, a burst of one
    assert one.reserve(1) == 0.0  # the bucket's one token
    assert 0.9 < two.reserve(1) <= 1.0  # the other process waits for the next one
    two.refund(1)
    assert 0.9 < one.reserve(1) <= 1.0  # refunded, then taken again: still one behind
    assert said == []



def test_a_bucket_in_debt_keeps_its_debt_past_its_idle_expiry(redis_server: RedisServer,
                                                             tmp_path: Path) -> None:
    """Reservations made at once put the bucket in debt (each caller waits its turn); the
    key must outlive that debt, or a process arriving after the idle expiry finds a fresh
    bucket and the fleet goes over its limit (two batch runs did 8 requests in 6.4 s at
    60 rpm)."""
    import time

    store = RedisStore(redis_server.url, tmp_path)
    waits = [store.bucket("p:debt", 5.0, 1.0, 1.0) for _ in range(10)]  # 2 s of requests
    assert waits[0] == 0.0 and 1.7 < waits[-1] <= 1.8
    time.sleep(1.1)  # past the idle expiry (1 s at this rate), before the debt is repaid
    assert 0.3 < store.bucket("p:debt", 5.0, 1.0, 1.0) <= 0.9  # still behind the others


def test_a_shared_bucket_without_redis_carries_on_locally(tmp_path: Path) -> None:
    from llmx.batch.limits import SharedBucket

    said: list[str] = []
    store = RedisStore(f"unix://{tmp_path}/no.sock", tmp_path)
    bucket = SharedBucket(lambda r, c, a: store.bucket("p:rpm", r, c, a), 60,
                          warn=said.append)
    assert bucket.reserve(1) == 0.0 and 0.9 < bucket.reserve(1) <= 1.0
    assert len(said) == 1 and "rate limits are kept by this process alone" in said[0]


def test_an_admitted_request_that_leaves_a_debt_keeps_its_bucket_until_repaid(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """A proxy's tpm budget charges an answer's tokens after it: 400 tokens from a bucket of
    10 at 1 a second is 400 s of debt, longer than the idle expiry the caller asks for."""
    store = RedisStore(redis_server.url, tmp_path)
    assert store.admit([("p:tpm", 1.0, 10.0, 1.0, 400.0)], ttl_ms=1000) == (0, 0.0)
    assert 390_000 < int(redis_server.command("PTTL", "llmx:b:p:tpm")) <= 401_000
    short, wait = store.admit([("p:tpm", 1.0, 10.0, 1.0, 1.0)], ttl_ms=1000)
    assert short == 1 and 389 < wait <= 391
