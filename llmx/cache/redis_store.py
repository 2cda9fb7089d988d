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
    llmx:m:serve              the proxies' counters, summed (``llmx.serve.fleet``)
    llmx:a:<ns>:<key>         aux values (the model's vectors of stored prompts): tagged
                              bytes, an int or JSON, never a pickle (a shared Redis must not
                              be able to run code in its clients)

Capacity is Redis' own: set ``maxmemory`` and ``maxmemory-policy allkeys-lru`` (or
``volatile-lru``) on the server; ``max_entries`` / ``max_bytes`` are the disk store's and
are not applied here. A vector log that Redis evicted restarts at 0, and each process's
local gate starts afresh from it (``llmx.cache.gate``).

Trouble: a Redis that cannot be reached, or dies mid-run, turns reads into misses (``get``
never raises) and writes into ``CacheUnavailable`` (one warning on the request path): every
answer is still delivered.

Round trips: a hit is one ``GET``. A miss is one pipeline of ``GET`` and the vector log's
``LLEN`` (the gate reads the head from it), one ``SET NX`` for the lease
(``llmx.cache.leases``), and after the answer one pipeline of ``SET``, ``RPUSH`` and the
lease's release; rows other processes appended since the last look-up cost one ``LRANGE``
(and a ``GET`` per row whose prompt this process has not seen). ``benchmarks/redis_trips.py``
counts them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import redis

from llmx.cache import rows
from llmx.cache.databases import CacheUnavailable
from llmx.cache.redis_scripts import ADMIT, BUCKET, LEAD, RELEASE, RENEW
from llmx.cache.types import Entry
from llmx.state import Warn

PREFIX = "llmx:"
RECENT = 256  # answers this store wrote, kept to read back without a round trip
WRITTEN_KEPT = 64  # rows this store appended in a row, kept for written_since
HEAD_FRESH_S = 1.0  # a log head brought by a GET serves the vector_seq that follows
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
        self._ops: list[Callable[[Any], object]] = []  # writes not sent yet (one pipeline)
        self._pushes: dict[int, tuple[str, bytes]] = {}  # op index -> (log, row) of an RPUSH
        self._written: dict[str, tuple[int, list[bytes]]] = {}  # log -> rows the last send
        # pushed (first seq, payloads), when they were contiguous
        self._recent: dict[str, bytes] = {}  # answers this store wrote: read back from here
        self._logs: set[str] = set()  # vector logs this store reads: their heads ride on GETs
        self._heads: dict[str, tuple[int, float]] = {}  # log -> (head, when), from a GET
        self._scheduled = False
        self.on_flush: Callable[[], None] | None = None  # called after a send appended rows
        self._told = False  # a failure was already reported (to a caller, or warned)

    # -- responses -------------------------------------------------------------------------

    def get(self, key: str) -> Entry | None:
        """The answer under ``key``. The same round trip brings the heads of the vector logs
        this store reads, for the ``vector_seq`` that follows a miss (``HEAD_FRESH_S``)."""
        raw: Any = self._recent.get(key)
        if raw is None:
            try:
                raw = self._get_with_heads(PREFIX + "r:" + key)
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
        data = json.dumps(rows.envelope(entry, expires), separators=(",", ":")).encode()
        ttl = None if expire is None else max(1, int(expire * 1000))
        if len(self._recent) >= RECENT:
            self._recent.pop(next(iter(self._recent)))
        self._recent[key] = data
        self._queue(lambda pipe: pipe.set(PREFIX + "r:" + key, data, px=ttl))

    def delete(self, key: str) -> bool:
        self._recent.pop(key, None)
        self._send()  # a queued write of it must not land after the delete
        return bool(self._do(lambda: self._client.delete(PREFIX + "r:" + key)))

    def flush(self) -> None:
        """Send the queued writes now, in one round trip (raises ``CacheUnavailable``)."""
        self._send()

    def close(self) -> None:
        self._flush_or_warn()
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
        self._recent.clear()
        self._send()
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
        """Queued with the answer it belongs to: ``None`` (its number is Redis' on send)."""
        payload = rows.pack_vector(key, scope, vector)
        self._pushes[len(self._ops)] = (embedder, payload)
        self._queue(lambda pipe: pipe.rpush(PREFIX + "v:" + embedder, payload))
        return None

    def vectors_since(self, embedder: str, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        try:
            payloads = self._client.lrange(PREFIX + "v:" + embedder, max(seq, 0), -1)
        except redis.RedisError as exc:
            raise self._unreadable(exc) from None
        for number, payload in enumerate(payloads, max(seq, 0) + 1):
            unpacked = rows.unpack_vector(payload)
            if unpacked is not None:
                yield (number, *unpacked)

    def written_since(self, embedder: str, seq: int) -> list[tuple[int, str, str, bytes]] | None:
        """``vectors_since`` from memory when this store's last send appended every row from
        ``seq + 1`` on (``RPUSH`` says each row's number); else None."""
        from llmx.cache.vector_log import from_flushed

        return from_flushed(self._written.get(embedder, (0, [])), seq)

    def vector_seq(self, embedder: str) -> int:
        """The log's head: as the look-up's ``get`` just brought it, else one ``LLEN``."""
        self._logs.add(embedder)
        known = self._heads.pop(embedder, None)
        if known is not None and time.monotonic() - known[1] < HEAD_FRESH_S:
            return known[0]
        try:
            return int(self._client.llen(PREFIX + "v:" + embedder))
        except redis.RedisError as exc:
            raise self._unreadable(exc) from None

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

    def lead(self, key: str, ttl_ms: int) -> str | bool:
        """A token when this process now holds ``key``'s lease; False when another process
        holds it; True when ``key``'s answer is already stored (then no lease is taken: the
        check and the take are one atomic step, so an answer stored since this process
        looked is never sent for again). Raises ``CacheUnavailable`` when Redis cannot be
        reached."""
        token = secrets.token_hex(16)
        won = self._do(lambda: self._client.eval(LEAD, 2, PREFIX + "l:" + key,
                                                 PREFIX + "r:" + key, token, ttl_ms))
        return token if won == 1 else won == -1

    def renew(self, key: str, token: str, ttl_ms: int) -> bool:
        """Extend the lease if ``token`` still holds it."""
        return bool(self._do(lambda: self._client.eval(RENEW, 1, PREFIX + "l:" + key, token,
                                                       ttl_ms)))

    def release(self, key: str, token: str) -> None:
        """Give the lease up if ``token`` still holds it (never another holder's), in the
        same round trip as the queued writes and after them: a waiter that sees the lease
        gone finds the answer stored."""
        self._ops.append(lambda pipe: pipe.eval(RELEASE, 1, PREFIX + "l:" + key, token))
        self._send()

    # -- rate limits shared by every process (``llmx.batch.limits.SharedBucket``) -----------

    def bucket(self, name: str, per_second: float, capacity: float, amount: float) -> float:
        """Take ``amount`` tokens (a negative amount gives them back) from the bucket
        ``name``, refilled at ``per_second`` up to ``capacity`` by the Redis server's clock,
        atomically; the seconds to wait before using them."""
        ttl_ms = max(1000, int(capacity / per_second * 2000))  # idle buckets go away
        wait = self._do(lambda: self._client.eval(BUCKET, 1, PREFIX + "b:" + name,
                                                  per_second, capacity, amount, ttl_ms))
        return float(wait)

    def admit(self, buckets: list[tuple[str, float, float, float, float]], ttl_ms: int
              ) -> tuple[int, float]:
        """Take from every bucket ``(name, per_second, capacity, need, take)`` only when each
        holds ``need``, atomically: ``(0, 0.0)``, or (the 1-based index of a short bucket,
        seconds until it holds its need), taking nothing."""
        names = [PREFIX + "b:" + bucket[0] for bucket in buckets]
        numbers = [number for bucket in buckets for number in bucket[1:]]
        short, wait = self._do(lambda: self._client.eval(ADMIT, len(names), *names, *numbers,
                                                         ttl_ms))
        return int(short), float(wait)

    def add_counts(self, name: str, deltas: dict[str, float]) -> dict[str, float]:
        """Add ``deltas`` to the counters of the hash ``name`` and read them all back, in one
        round trip (``HINCRBYFLOAT`` each, then ``HGETALL``)."""
        pipe = self._client.pipeline(transaction=True)  # the read sees every addition
        for field, delta in deltas.items():
            pipe.hincrbyfloat(PREFIX + name, field, delta)
        pipe.hgetall(PREFIX + name)
        found = self._do(pipe.execute)[-1]
        return {_text(field): float(value) for field, value in found.items()}

    # -- helpers ------------------------------------------------------------------------------

    def _keys(self, pattern: str) -> Iterator[str]:
        try:
            for name in self._client.scan_iter(match=PREFIX + pattern, count=1000):
                yield name.decode() if isinstance(name, bytes) else str(name)
        except redis.RedisError as exc:
            raise self._unreadable(exc) from None

    def _get_with_heads(self, name: str) -> Any:
        logs = sorted(self._logs)
        if not logs:
            return self._client.get(name)
        pipe = self._client.pipeline(transaction=False)
        pipe.get(name)
        for log in logs:
            pipe.llen(PREFIX + "v:" + log)
        raw, *heads = pipe.execute()
        now = time.monotonic()
        self._heads = {log: (int(head), now) for log, head in zip(logs, heads, strict=True)}
        return raw

    def _queue(self, op: Callable[[Any], object]) -> None:
        """Queue a write; it is sent on the event loop's next turn (after the answer is
        handed over), with a lease release, on ``flush`` or ``close``; at once without a
        running loop."""
        self._ops.append(op)
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._send()
            return
        self._scheduled = True
        loop.call_soon(self._flush_or_warn)

    def _send(self) -> None:
        self._scheduled = False
        ops, self._ops = self._ops, []
        pushes, self._pushes = self._pushes, {}
        if not ops:
            return
        pipe = self._client.pipeline(transaction=False)
        for op in ops:
            op(pipe)
        try:
            results = pipe.execute()
        except redis.RedisError as exc:
            raise CacheUnavailable(f"the shared cache cannot be written: {_said(exc)}") from None
        self._note_pushes(pushes, results)
        if pushes and self.on_flush is not None:  # e.g. the gate indexes them from memory
            # RPUSH's numbers are the logs' heads as of this send: the hook's vector_seq
            # needs no LLEN (outside the hook, heads are read again)
            now = time.monotonic()
            pushed = {log: (int(results[index]), now) for index, (log, _) in pushes.items()}
            self._heads.update(pushed)
            try:
                self.on_flush()
            finally:
                for log in pushed:
                    self._heads.pop(log, None)

    def _note_pushes(self, pushes: dict[int, tuple[str, bytes]], results: list[Any]) -> None:
        """Remember each log's rows this send appended, when their numbers are contiguous."""
        by_log: dict[str, list[tuple[int, bytes]]] = {}
        for index, (log, payload) in pushes.items():
            by_log.setdefault(log, []).append((int(results[index]), payload))
        for log, pushed in by_log.items():
            first = pushed[0][0]
            if [number for number, _ in pushed] == list(range(first, first + len(pushed))):
                payloads = [payload for _, payload in pushed]
                before, kept = self._written.get(log, (0, []))
                if kept and before + len(kept) == first:  # contiguous with the last send's
                    payloads = (kept + payloads)[-WRITTEN_KEPT:]
                    first = before + len(kept) + len(pushed) - len(payloads)
                self._written[log] = (first, payloads)
            else:
                self._written.pop(log, None)

    def _flush_or_warn(self) -> None:
        """Send what is queued; a failure costs one ``warn`` line (none when a caller was
        already told that the shared cache is down)."""
        try:
            self._send()
        except CacheUnavailable as exc:
            if self._warn is not None and not self._reported():
                self._warn(f"could not save answers: {exc.message} (answers are still "
                           "delivered)")

    def _unreadable(self, exc: BaseException) -> CacheUnavailable:
        self._told = True  # the caller reports it
        return CacheUnavailable(f"the shared cache cannot be read: {_said(exc)}")

    def _reported(self) -> bool:
        said, self._told = self._told, True
        return said

    def _delete(self, names: list[str]) -> int:
        return int(self._do(lambda: self._client.delete(*names))) if names else 0

    def _do(self, command: Callable[[], Any]) -> Any:
        try:
            return command()
        except redis.RedisError as exc:
            self._told = True  # the caller reports it
            raise CacheUnavailable(f"the shared cache cannot be written: {_said(exc)}") from None


def _said(exc: BaseException) -> str:
    """The error's text without the URL's password (redis-py may quote the address)."""
    from llmx.errors import redact

    return redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


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
