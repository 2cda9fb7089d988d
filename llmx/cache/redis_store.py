"""The cache in a shared Redis (``cache.backend = "redis"``): the only module that imports
``redis``. Same surface as ``llmx.cache.store.CacheStore``, so the tiers above it (exact,
lexical gate, model) work unchanged, with every process and machine that uses the same
``cache.redis_url`` sharing one set of answers and one vector log.

Keys (``llmx:`` prefix):

    llmx:r:<exact key>        an answer: the same JSON envelope the disk store keeps, with a
                              Redis expiry (``PX``) equal to its TTL
    llmx:v:<embedder>         the vector log: a list; a row's sequence number is its 1-based
                              position, handed out atomically by ``RPUSH``
    llmx:l:<exact key>        a lease: which process is sending that request now
                              (``llmx.cache.leases``), with an expiry it renews
    llmx:b:<name>             a token bucket (rpm / tpm shared by every process)
    llmx:a:<ns>:<key>         aux values (the model's vectors of stored prompts): tagged
                              bytes, an int or JSON, never a pickle (a shared Redis must not
                              be able to run code in its clients)

Capacity is Redis' own: set ``maxmemory`` and ``maxmemory-policy allkeys-lru`` (or
``volatile-lru``) on the server; ``max_entries`` / ``max_bytes`` are the disk store's and
are not applied here. A vector log that Redis evicted restarts at 0, and each process's
local gate starts afresh from it (``llmx.cache.gate``).

Trouble: a Redis that cannot be reached, or dies mid-run, turns reads into misses (``get``
never raises) and writes into ``CacheUnavailable`` (one warning on the request path): every
answer is still delivered. Round trips: a hit is one ``GET``; a miss is one ``GET``, one
``LLEN`` when the semantic tier is on, and one pipelined ``SET`` + ``RPUSH`` after the answer.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import redis

from llmx.cache import rows
from llmx.cache.databases import CacheUnavailable
from llmx.cache.types import Entry
from llmx.state import Warn

PREFIX = "llmx:"
# compare-and-set on a lease's token, atomically in Redis (a lease held by another is kept)
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
          "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end")
_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, capacity, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local wait = math.max(0, (math.min(amount, capacity) - tokens) / rate)
tokens = math.min(capacity, tokens - amount)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return tostring(wait)
"""
_RELEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('del', KEYS[1]) else return 0 end")
TIMEOUT_S = 2.0  # per command: a Redis slower than this is treated as unreachable


class RedisStore:
    """Responses by exact key, the vector log and aux values, in Redis."""

    def __init__(self, url: str, directory: Path, *, clock: Callable[[], float] = time.time,
                 warn: Warn | None = None) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S,
                                            socket_connect_timeout=TIMEOUT_S)
        self._directory = Path(directory)  # local files: the gate's index, snapshots
        self._clock = clock
        self._warn = warn

    # -- responses -------------------------------------------------------------------------

    def get(self, key: str) -> Entry | None:
        try:
            raw = self._client.get(PREFIX + "r:" + key)
        except redis.RedisError:
            return None
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None
        return rows.open_envelope(value, self._clock)

    def set(self, key: str, entry: Entry, expire: float | None) -> None:
        if expire is not None and expire <= 0:
            return
        expires = None if expire is None else self._clock() + expire
        data = json.dumps(rows.envelope(entry, expires), separators=(",", ":"))
        ttl = None if expire is None else max(1, int(expire * 1000))
        self._do(lambda: self._client.set(PREFIX + "r:" + key, data, px=ttl))

    def delete(self, key: str) -> bool:
        return bool(self._do(lambda: self._client.delete(PREFIX + "r:" + key)))

    def flush(self) -> None:
        """Nothing is queued: every write is sent when it is made."""

    def close(self) -> None:
        self._client.close()

    def __len__(self) -> int:
        return sum(1 for _ in self._keys("r:*"))

    def volume(self) -> int:
        return 0  # Redis' memory is the server's to report (`INFO memory`)

    def iter_entries(self) -> Iterator[tuple[str, Entry]]:
        for name in self._keys("r:*"):
            key = name[len(PREFIX) + 2:]
            entry = self.get(key)
            if entry is not None:
                yield key, entry

    def clear(self) -> int:
        """Remove every answer, vector and aux value under the prefix; the answers removed."""
        removed = 0
        for pattern in ("r:*", "v:*", "a:*"):
            count = self._delete(list(self._keys(pattern)))
            removed += count if pattern == "r:*" else 0
        rows.remove_files(self.snapshot_dir)
        return removed

    def prune(self) -> int:
        return 0  # Redis expires answers itself

    # -- vector log and aux values -----------------------------------------------------------

    def append_vector(self, key: str, scope: str, embedder: str, vector: bytes) -> int | None:
        payload = rows.pack_vector(key, scope, vector)
        return int(self._do(lambda: self._client.rpush(PREFIX + "v:" + embedder, payload)))

    def vectors_since(self, embedder: str, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        try:
            payloads = self._client.lrange(PREFIX + "v:" + embedder, max(seq, 0), -1)
        except redis.RedisError as exc:
            raise CacheUnavailable(f"the shared cache cannot be read: {_said(exc)}") from None
        for number, payload in enumerate(payloads, max(seq, 0) + 1):
            unpacked = rows.unpack_vector(payload)
            if unpacked is not None:
                yield (number, *unpacked)

    def written_since(self, embedder: str, seq: int) -> list[tuple[int, str, str, bytes]] | None:
        return None  # every row is read back from Redis: other processes write there too

    def vector_seq(self, embedder: str) -> int:
        try:
            return int(self._client.llen(PREFIX + "v:" + embedder))
        except redis.RedisError as exc:
            raise CacheUnavailable(f"the shared cache cannot be read: {_said(exc)}") from None

    def get_aux(self, namespace: str, key: str) -> Any | None:
        try:
            raw = self._client.get(PREFIX + "a:" + rows.aux_key(namespace, key))
        except redis.RedisError:
            return None
        return _untagged(raw) if isinstance(raw, bytes) else None

    def set_aux(self, namespace: str, key: str, value: Any, expire: float | None = None) -> None:
        ttl = None if expire is None else max(1, int(expire * 1000))
        name = PREFIX + "a:" + rows.aux_key(namespace, key)
        self._do(lambda: self._client.set(name, _tagged(value), px=ttl))

    @property
    def snapshot_dir(self) -> Path:
        return self._directory / "snapshots"

    # -- leases: one sender per key across processes (``llmx.cache.leases``) -------------------

    def lead(self, key: str, ttl_ms: int) -> str | None:
        """A token when this process now holds ``key``'s lease (``SET NX PX``), else None;
        raises ``CacheUnavailable`` when Redis cannot be reached."""
        token = secrets.token_hex(16)
        won = self._do(lambda: self._client.set(PREFIX + "l:" + key, token, nx=True, px=ttl_ms))
        return token if won else None

    def renew(self, key: str, token: str, ttl_ms: int) -> bool:
        """Extend the lease if ``token`` still holds it."""
        return bool(self._do(lambda: self._client.eval(_RENEW, 1, PREFIX + "l:" + key, token,
                                                       ttl_ms)))

    def release(self, key: str, token: str) -> None:
        """Give the lease up if ``token`` still holds it (never another holder's)."""
        self._do(lambda: self._client.eval(_RELEASE, 1, PREFIX + "l:" + key, token))

    # -- rate limits shared by every process (``llmx.batch.limits.SharedBucket``) -----------

    def bucket(self, name: str, per_second: float, capacity: float, amount: float) -> float:
        """Take ``amount`` tokens (a negative amount gives them back) from the bucket
        ``name``, refilled at ``per_second`` up to ``capacity`` by the Redis server's clock,
        atomically; the seconds to wait before using them."""
        ttl_ms = max(1000, int(capacity / per_second * 2000))  # idle buckets go away
        wait = self._do(lambda: self._client.eval(_BUCKET, 1, PREFIX + "b:" + name,
                                                  per_second, capacity, amount, ttl_ms))
        return float(wait)

    # -- helpers ------------------------------------------------------------------------------

    def _keys(self, pattern: str) -> Iterator[str]:
        try:
            for name in self._client.scan_iter(match=PREFIX + pattern, count=1000):
                yield name.decode() if isinstance(name, bytes) else str(name)
        except redis.RedisError as exc:
            raise CacheUnavailable(f"the shared cache cannot be read: {_said(exc)}") from None

    def _delete(self, names: list[str]) -> int:
        return int(self._do(lambda: self._client.delete(*names))) if names else 0

    def _do(self, command: Callable[[], Any]) -> Any:
        try:
            return command()
        except redis.RedisError as exc:
            raise CacheUnavailable(f"the shared cache cannot be written: {_said(exc)}") from None


def _said(exc: BaseException) -> str:
    """The error's text without the URL's password (redis-py may quote the address)."""
    from llmx.errors import redact

    return redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _tagged(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return b"b" + bytes(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return b"i" + str(value).encode()
    return b"j" + json.dumps(value, separators=(",", ":")).encode()


def _untagged(raw: bytes) -> Any | None:
    tag, body = raw[:1], raw[1:]
    try:
        if tag == b"b":
            return body
        if tag == b"i":
            return int(body)
        if tag == b"j":
            return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return None
