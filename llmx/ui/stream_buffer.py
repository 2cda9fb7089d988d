"""Adaptive buffering of a streamed answer on its way to a pipe: one write per burst.

A chunk that arrives ``gap`` seconds or more after the previous one (a sparse stream; the
first chunk always) is written at once. Chunks that arrive faster are gathered and
written together once the stream has paused for ``gap``, and never later than ``hold``
seconds after the oldest of them arrived, so no text waits longer than ``hold`` (plus the
event loop's lateness). ``close`` writes whatever is gathered.

The timer comes from the caller (``later``: the event loop's ``call_later``), so this
module does no IO of its own and imports nothing beyond the standard library (it is on
the CLI's fast path). A write that fails inside the timer is kept and raised by the next
``add`` or ``close``, never lost in the loop's exception handler.

``chunks`` and ``writes`` count what came in and what went out: ``writes / chunks`` is the
buffer efficiency (1.0 = a write per chunk).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

GAP_S = 0.003  # chunks closer together than this are a fast stream
HOLD_S = 0.020  # the longest any text is held back
_MAX_PENDING = 64 * 1024  # characters gathered at most before a write
_SLACK_S = 0.0005  # a timer may fire this much early


class Handle(Protocol):
    def cancel(self) -> None: ...


Later = Callable[[float, Callable[[], None]], Handle]


class Coalescer:
    """Gathers text for ``emit`` (one call per write) as the module docstring says."""

    __slots__ = ("_clock", "_emit", "_error", "_first_at", "_gap", "_hold", "_last_at",
                 "_later", "_pending", "_size", "_timer", "chunks", "writes")

    def __init__(self, emit: Callable[[str], None], later: Later, *,
                 clock: Callable[[], float] = time.monotonic, gap: float = GAP_S,
                 hold: float = HOLD_S) -> None:
        self._emit, self._later, self._clock = emit, later, clock
        self._gap, self._hold = gap, hold
        self._pending: list[str] = []
        self._size = 0
        self._first_at = 0.0  # when the oldest gathered chunk arrived
        self._last_at = float("-inf")  # when the latest chunk arrived
        self._timer: Handle | None = None
        self._error: BaseException | None = None
        self.chunks = 0
        self.writes = 0

    def add(self, text: str) -> None:
        """Take one chunk: written now if the stream is sparse, else gathered."""
        self._raise_kept()
        now = self._clock()
        self.chunks += 1
        sparse = now - self._last_at >= self._gap
        self._last_at = now
        self._pending.append(text)
        self._size += len(text)
        if sparse or self._size >= _MAX_PENDING:
            self._write_pending()
        elif len(self._pending) == 1:
            self._first_at = now
            self._arm(self._gap)

    def close(self, tail: str = "") -> None:
        """Write what is gathered, then ``tail``, in one write; raise a write failure kept
        from the timer."""
        self._cancel()
        self._raise_kept()
        if tail:
            self._pending.append(tail)
        self._write_pending()

    def _arm(self, delay: float) -> None:
        self._timer = self._later(delay, self._on_timer)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        if not self._pending:
            return
        now = self._clock()
        due = min(self._last_at + self._gap, self._first_at + self._hold)
        if now + _SLACK_S < due:
            self._arm(due - now)
            return
        try:
            self._write_pending()
        except Exception as exc:  # raised by the next add or close
            self._error = exc

    def _write_pending(self) -> None:
        self._cancel()
        pending = self._pending
        if not pending:
            return
        text = pending[0] if len(pending) == 1 else "".join(pending)
        self._pending = []
        self._size = 0
        self.writes += 1
        self._emit(text)

    def _raise_kept(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error
