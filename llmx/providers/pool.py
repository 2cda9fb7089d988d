"""The keep-alive pool of one origin for ``H11Transport``: growth, health, warm start, shrink.

* **Grows on demand** up to ``max_connections``: a request that finds no idle connection
  opens one while there is room, else waits in FIFO order (a connection being warmed
  counts as one on its way: a request waits for it rather than opening another).
* **Healthy reuse.** An idle connection is checked before it is handed out
  (``Connection.alive``: open, nothing unread, and a zero-timeout poll of its socket
  shows no end-of-stream the loop has not delivered yet); a dead one is discarded and the
  next tried. With ``health_check`` off (a baseline for benchmarks) idle connections are
  reused blindly.
* **Warm start.** ``warm(n)`` opens connections up to ``n`` in the background and keeps them
  idle (``min_connections``: the warm standby).
* **Shrinks** after idle time: a timer closes idle connections older than
  ``keepalive_expiry``, oldest first, down to ``min_connections``.

``counters`` (``PoolCounters``) say what happened: connections opened, reused, discarded
(found dead, or not reusable after a response), failed (a connect or a request on them
failed), expired (closed for idling), and requests retried on a fresh connection; and
``peak``, the most connections in use by requests at once (connecting or carrying one;
idle and warming ones are not in use), against ``capacity``, the pool's
``max_connections`` (0: no limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import httpx

from llmx.counters import busier
from llmx.providers.connection import Connection, resolve, resolve_later

_EXPIRED = object()  # what a pool waiter's future holds when its wait ran out
_CLOSED = object()  # ... when the transport was closed meanwhile


@dataclass(slots=True)
class PoolCounters:
    """Cumulative counts for one pool, or for several (``add``: the counts summed, and
    ``peak`` / ``capacity`` of the busiest pool, the one with the highest share of its
    capacity in use at once, so that ``peak / capacity`` stays one pool's utilisation)."""

    opened: int = 0
    reused: int = 0
    discarded: int = 0
    failed: int = 0
    expired: int = 0
    retried: int = 0
    peak: int = 0
    capacity: int = 0

    def add(self, other: PoolCounters) -> None:
        for name, value in asdict(other).items():
            if name not in _PAIR:
                setattr(self, name, getattr(self, name) + value)
        if busier(other.peak, other.capacity, self.peak, self.capacity):
            self.peak, self.capacity = other.peak, other.capacity


_PAIR = frozenset({"peak", "capacity"})


@dataclass(frozen=True, slots=True)
class PoolPolicy:
    """How a pool behaves (``limits`` as httpx's; ``min_connections`` kept warm)."""

    limits: httpx.Limits
    min_connections: int = 0
    health_check: bool = True


def _os_reason(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else str(exc)


class Pool:
    """Keep-alive connections to one origin, at most ``max_connections`` at a time."""

    def __init__(self, host: str, port: int, policy: PoolPolicy) -> None:
        limits = policy.limits
        self.host, self.port = host, port
        self._max = limits.max_connections or 2**31
        self._max_idle = (self._max if limits.max_keepalive_connections is None
                          else limits.max_keepalive_connections)
        self._expiry = limits.keepalive_expiry
        self._keep = min(policy.min_connections, self._max_idle)
        self.health_check = policy.health_check
        self._idle: deque[Connection] = deque()
        self._waiters: deque[asyncio.Future[object]] = deque()
        self._warming = 0  # connections being opened by ``warm``
        self._reaper: asyncio.TimerHandle | None = None
        self.count = 0  # connections counted against the limit (connecting, busy or idle)
        self.all: set[Connection] = set()
        self.closed = False
        self.counters = PoolCounters(capacity=limits.max_connections or 0)

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def acquire(self, timeouts: Mapping[str, float | None]) -> tuple[Connection, bool]:
        """A connection for one request, and whether it is reused (has carried one before:
        a warmed connection's first request is not a reuse)."""
        conn = self._take_idle()
        if conn is not None:
            self._in_use()
            return conn, conn.requests > 0
        waiting = len(self._waiters)
        if waiting == self._warming and self.count < self._max:
            self.count += 1  # room, and no one queued but for connections being warmed
        else:
            handed = await self._wait_turn(timeouts.get("pool"))
            if isinstance(handed, Connection):
                if self._healthy(handed):
                    reused = handed.requests > 0
                    self.counters.reused += reused
                    self._in_use()
                    return handed, reused
                self._discard(handed, keep_slot=True)  # dead on arrival: connect anew
        self._in_use()
        return await self.fresh(timeouts), False

    def _in_use(self) -> None:
        """A request has its connection (or its slot): note the most in use at once."""
        busy = self.count - len(self._idle) - self._warming
        if busy > self.counters.peak:
            self.counters.peak = busy

    async def fresh(self, timeouts: Mapping[str, float | None]) -> Connection:
        """A new connection in a slot already counted (``acquire``'s, or the slot of a
        connection given up with ``failed(conn, keep_slot=True)``)."""
        try:
            return await self._connect(timeouts.get("connect"))
        except BaseException:
            self._free_slot()
            raise

    def _healthy(self, conn: Connection) -> bool:
        return conn.alive() if self.health_check else conn.transport is not None

    def _take_idle(self) -> Connection | None:
        idle = self._idle
        if idle and len(idle) > self._keep:
            now = asyncio.get_running_loop().time()
            while len(idle) > self._keep and idle[0].expires_at <= now:
                self._expire(idle.popleft())
        while idle:
            conn = idle.pop()
            if self._healthy(conn):
                self.counters.reused += conn.requests > 0  # a warmed one is not reused yet
                return conn
            self._discard(conn)
        return None

    async def _wait_turn(self, timeout: float | None) -> object:
        """Queue for a connection (or a free slot, handed over as None)."""
        fut: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        handle = resolve_later(fut, timeout, _EXPIRED)
        try:
            handed = await fut
        except BaseException:
            self._give_back(fut)
            raise
        finally:
            if handle is not None:
                handle.cancel()
        if handed is _EXPIRED:
            with contextlib.suppress(ValueError):  # a releaser may have skipped it already
                self._waiters.remove(fut)
            raise httpx.PoolTimeout("timed out waiting for a free connection")
        if handed is _CLOSED:
            raise httpx.ConnectError("the transport was closed")
        return handed

    def _give_back(self, fut: asyncio.Future[object]) -> None:
        """A waiter gave up; pass on whatever was handed to it meanwhile."""
        handed = fut.result() if fut.done() and not fut.cancelled() else _EXPIRED
        if handed is _CLOSED:
            return
        if isinstance(handed, Connection):
            if handed.usable():
                self._recycle(handed)
            else:
                self._discard(handed)
        elif handed is None:
            self._free_slot()
        else:
            fut.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(fut)

    async def _connect(self, timeout: float | None) -> Connection:
        loop = asyncio.get_running_loop()
        target = f"{self.host}:{self.port}"
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(Connection, self.host, self.port)
        except TimeoutError as exc:
            self.counters.failed += 1
            raise httpx.ConnectTimeout(f"timed out connecting to {target}") from exc
        except OSError as exc:
            self.counters.failed += 1
            raise httpx.ConnectError(f"cannot connect to {target}: {_os_reason(exc)}") from exc
        if self.closed:
            conn.close()
            raise httpx.ConnectError("the transport was closed")
        self.counters.opened += 1
        self.all.add(conn)
        return conn

    # -- warm start -------------------------------------------------------------------------

    def reserve(self, n: int) -> int:
        """Count up to ``n`` connections (within the limit, less those open) as being warmed,
        now: requests made from here on wait for them. How many ``warm`` must open."""
        wanted = max(0, min(n, self._max) - self.count)
        self.count += wanted
        self._warming += wanted
        return wanted

    async def warm(self, reserved: int, timeouts: Mapping[str, float | None]) -> int:
        """Open the ``reserved`` connections; return how many opened. A connect that fails
        is counted (``failed``) and not raised: the first request meets the same trouble
        and reports it."""
        if not reserved:
            return 0
        results = await asyncio.gather(*(self._warm_one(timeouts) for _ in range(reserved)))
        return sum(results)

    async def _warm_one(self, timeouts: Mapping[str, float | None]) -> bool:
        conn: Connection | None = None
        try:
            conn = await self._connect(timeouts.get("connect"))
        except httpx.HTTPError:
            pass
        finally:
            self._warming -= 1
            if conn is None and not self.closed:
                self._free_slot()  # to a waiter, who connects itself
        if conn is None:
            return False
        self._recycle(conn)
        return True

    # -- giving back ------------------------------------------------------------------------

    def release(self, conn: Connection) -> None:
        """A response was read to its end: reuse the connection, or close it."""
        if conn.finish_cycle():
            self._recycle(conn)
        else:
            self._discard(conn)

    def failed(self, conn: Connection, *, keep_slot: bool = False) -> None:
        """A request on ``conn`` failed: close it and count it (``keep_slot``: for a retry
        on a ``fresh`` connection)."""
        self.counters.failed += 1
        conn.close()
        self.all.discard(conn)
        if not keep_slot:
            self._free_slot()

    def lost(self, conn: Connection, exc: BaseException | None) -> None:
        """Give up ``conn`` mid-request: ``failed`` for an error, plainly dropped when the
        caller closed the body early or was cancelled (``exc`` None or not an Exception)."""
        if isinstance(exc, Exception):
            self.failed(conn)
        else:
            self.drop(conn)

    def _recycle(self, conn: Connection) -> None:
        """Hand a reusable connection to the first waiter, or keep it idle."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(conn)
                return
        if len(self._idle) >= self._max_idle:
            self._discard(conn)
            return
        expiry = float("inf") if self._expiry is None else self._expiry
        conn.expires_at = asyncio.get_running_loop().time() + expiry
        self._idle.append(conn)
        if self._reaper is None and expiry != float("inf"):
            self._arm_reaper(conn.expires_at)

    def _arm_reaper(self, at: float) -> None:
        self._reaper = asyncio.get_running_loop().call_at(at, self._reap)

    def _reap(self) -> None:
        """Shrink: close idle connections past their expiry, down to ``min_connections``."""
        self._reaper = None
        idle, now = self._idle, asyncio.get_running_loop().time()
        while len(idle) > self._keep and idle[0].expires_at <= now:
            self._expire(idle.popleft())
        if len(idle) > self._keep and not self.closed:
            self._arm_reaper(idle[0].expires_at)

    def _expire(self, conn: Connection) -> None:
        self.counters.expired += 1
        self.drop(conn)

    def _discard(self, conn: Connection, *, keep_slot: bool = False) -> None:
        self.counters.discarded += 1
        conn.close()
        self.all.discard(conn)
        if not keep_slot:
            self._free_slot()

    def drop(self, conn: Connection) -> None:
        """Close a connection; its slot goes to the next waiter."""
        conn.close()
        self.all.discard(conn)
        self._free_slot()

    def _free_slot(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.count -= 1

    def close_all(self) -> list[asyncio.Future[None]]:
        self.closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for fut in self._waiters:
            resolve(fut, _CLOSED)
        self._waiters.clear()
        self._idle.clear()
        closing = list(self.all)
        self.all.clear()
        self.count = 0
        for conn in closing:
            if conn.transport is not None:
                conn.transport.abort()
        return [c.closed for c in closing]
