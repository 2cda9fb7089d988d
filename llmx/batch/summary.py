"""What a batch run reports: live ``RunStats``, the final ``Summary``, the progress protocol.

Re-exported by ``llmx.batch.runner``. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from llmx.errors import ExitCode


@dataclass(frozen=True, slots=True)
class RunStats:
    """Counters at one moment of a run (a snapshot; the runner makes a new one per update)."""

    total: int | None = None  # lines this run will write; None while unknown (see run_batch)
    read: int = 0  # lines taken from the input, bad ones included, skipped ones not
    ok: int = 0
    errors: int = 0  # error lines written
    skipped: int = 0  # ids already answered (--resume): no line
    cached_exact: int = 0
    cached_semantic: int = 0
    coalesced: int = 0  # answered by an identical line's request: in flight, or earlier
    retries: int = 0  # requests sent again: lines re-sent + the engine's HTTP retries
    sends: int = 0  # calls to send (cache answers included, coalesced lines not)
    rate_limited: int = 0  # 429s seen
    in_flight: int = 0
    waiting: int = 0  # read, not yet sent
    concurrency: int = 0  # the adaptive concurrency limit now (it moves after 429s)
    paused_s: float = 0.0  # what is left of a global 429 pause
    elapsed_s: float = 0.0

    @property
    def done(self) -> int:
        return self.ok + self.errors

    @property
    def cached(self) -> int:
        return self.cached_exact + self.cached_semantic

    @property
    def req_per_s(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Summary:
    total: int  # lines read (skipped ones not counted)
    ok: int
    errors: int
    cached: Mapping[str, int] = field(default_factory=dict)  # {"exact": n, "semantic": n}
    coalesced: int = 0
    retries: int = 0
    sends: int = 0
    rate_limited: int = 0
    skipped: int = 0
    elapsed_s: float = 0.0
    req_per_s: float = 0.0
    interrupted: bool = False
    max_reorder_buffer: int = 0
    max_read_ahead: int = 0  # most lines held at once (waiting + in flight + reorder buffer)
    final_concurrency: int = 0  # the adaptive concurrency limit at the end
    mode: Mapping[str, Any] = field(default_factory=dict)  # --mode: chosen, reason, costs
    monitoring: Mapping[str, Any] = field(default_factory=dict)  # llmx.stats_figures

    @property
    def unfinished(self) -> int:
        """Lines read that got no line (interrupted): ``--resume`` runs them."""
        return self.total - self.ok - self.errors

    @classmethod
    def from_stats(cls, stats: RunStats, *, interrupted: bool, max_reorder_buffer: int,
                   max_read_ahead: int) -> Summary:
        return cls(
            total=stats.read, ok=stats.ok, errors=stats.errors,
            cached={"exact": stats.cached_exact, "semantic": stats.cached_semantic},
            coalesced=stats.coalesced, retries=stats.retries, sends=stats.sends,
            rate_limited=stats.rate_limited, skipped=stats.skipped, elapsed_s=stats.elapsed_s,
            req_per_s=stats.req_per_s, interrupted=interrupted,
            max_reorder_buffer=max_reorder_buffer, max_read_ahead=max_read_ahead,
            final_concurrency=stats.concurrency)

    def exit_code(self) -> ExitCode:
        """130 when interrupted, 7 (PARTIAL) when any line failed, else 0."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        return ExitCode.PARTIAL if self.errors else ExitCode.OK

    def as_dict(self) -> dict[str, Any]:
        """For --summary-json."""
        data = asdict(self)
        data["cached"] = dict(self.cached)
        data["unfinished"] = self.unfinished
        data["exit_code"] = int(self.exit_code())
        return data


class ProgressSink(Protocol):
    """What the runner tells a progress display (``llmx.ui.progress`` implements it).

    ``update`` comes at most every ~0.1 s and once more at the end, before ``finish``.
    """

    def start(self, total: int | None) -> None: ...

    def update(self, stats: RunStats) -> None: ...

    def finish(self, summary: Summary) -> None: ...


class NullProgress:
    """A progress display that shows nothing."""

    def start(self, total: int | None) -> None:
        pass

    def update(self, stats: RunStats) -> None:
        pass

    def finish(self, summary: Summary) -> None:
        pass
