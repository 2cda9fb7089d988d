"""Progress of ``llmx batch`` on stderr, and the summary it ends with.

The batch runner reports ``RunStats`` snapshots (``update``) and a final ``Summary``
(``finish``) through the ``ProgressSink`` protocol of ``llmx.batch.summary``; this module
decides how much of that reaches the screen:

* on a terminal (``is_tty`` and ``TERM`` not "dumb"/"unknown") -> ``TerminalProgress``: a
  Rich live display (spinner, bar, done/total, percentage, ETA, req/s, cached, coalesced,
  retries, errors, concurrency, "paused (rate limited) Ns"), transient, with no refresh
  thread: ``update`` redraws it at most ``TTY_REFRESH_S`` apart on the injected clock;
* otherwise -> ``PlainProgress``: one plain line every ``interval_s`` and nothing else;
* both end with one summary line (``summary_line``), built from the last ``RunStats``
  seen (or from the ``Summary`` when no update came) and ``Summary.interrupted``.
  ``--summary-json`` is ``Summary.as_dict()``; ``NullProgress`` lives in the core.

Rates and ETA use the run's average: req/s is ``done / elapsed_s`` (cache hits count as
lines done), ETA is the remaining lines at that rate plus any remaining global 429 pause.

Standard library (and ``llmx.batch.summary``) only at import time: Rich is imported when a
terminal display is made.
Writing progress never stops a batch: if stderr goes away, progress output stops quietly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TextIO

from llmx.batch.summary import ProgressSink, RunStats, Summary

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.spinner import Spinner

TTY_REFRESH_S = 0.1  # at most ~10 redraws per second
_DUMB_TERMS = frozenset({"dumb", "unknown"})
_SEP = " · "
_INDENT = "  "  # lines under the first start below the word "batch"


# --- numbers and words (pure) ---


def rate_per_s(stats: RunStats) -> float | None:
    """Lines done per second over the whole run; None before any time has passed."""
    return stats.done / stats.elapsed_s if stats.elapsed_s > 0 else None


def eta_s(stats: RunStats) -> float | None:
    """Seconds until every line is done at the average rate, plus any remaining pause;
    None when the total or the rate is not known yet."""
    if stats.total is None:
        return None
    remaining = stats.total - stats.done
    if remaining <= 0:
        return 0.0
    rate = rate_per_s(stats)
    if not rate:
        return None
    return remaining / rate + max(0.0, stats.paused_s)


def _clock_words(whole: int) -> str:
    if whole < 60:
        return f"{whole} s"
    minutes, seconds = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_elapsed(seconds: float) -> str:
    """``6.1 s`` under a minute, then ``2 min 05 s``, then ``1 h 02 min``."""
    seconds = max(0.0, seconds)
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    return _clock_words(math.floor(seconds + 0.5))


def fmt_wait(seconds: float) -> str:
    """A time still to wait, in whole seconds (nearest; anything above zero is >= 1 s)."""
    whole = 0 if seconds <= 0 else max(1, math.floor(seconds + 0.5))
    return _clock_words(whole)


def fmt_rate(rate: float) -> str:
    """Whole numbers from 10 up, one decimal below."""
    return f"{rate:.0f}" if rate >= 10 else f"{rate:.1f}"


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _paused(stats: RunStats) -> str | None:
    if stats.paused_s <= 0:
        return None
    return f"paused (rate limited) {fmt_wait(stats.paused_s)}"


def progress_line(stats: RunStats) -> str:
    """The periodic plain line, e.g.
    ``batch: 1200/2000 done, 240 req/s, 80 cached, 3 errors, ETA 3 s``."""
    done = f"{stats.done}/{stats.total}" if stats.total is not None else f"{stats.done}"
    parts = [f"{done} done"]
    rate = rate_per_s(stats)
    if rate is not None:
        parts.append(f"{fmt_rate(rate)} req/s")
    parts.append(f"{stats.cached} cached")
    if stats.coalesced:
        parts.append(f"{stats.coalesced} coalesced")
    if stats.retries:
        parts.append(_count(stats.retries, "retry", "retries"))
    parts.append(_count(stats.errors, "error"))
    eta = eta_s(stats)
    if eta is not None:
        parts.append(f"ETA {fmt_wait(eta)}")
    paused = _paused(stats)
    if paused:
        parts.append(paused)
    return "batch: " + ", ".join(parts)


def summary_line(stats: RunStats, *, interrupted: bool) -> str:
    """The final line, e.g. ``batch: 2000 lines, 1998 ok, 2 errors, 400 cached,
    398 coalesced, 12 retries, 6.1 s, 328 req/s`` (``1200 of 2000 lines`` when the run
    stopped early; ``, interrupted`` at the end when it was interrupted)."""
    lines = _count(stats.done, "line")
    if stats.total is not None and stats.total != stats.done:
        lines = f"{stats.done} of {_count(stats.total, 'line')}"
    parts = [
        lines,
        f"{stats.ok} ok",
        _count(stats.errors, "error"),
        f"{stats.cached} cached",
        f"{stats.coalesced} coalesced",
        _count(stats.retries, "retry", "retries"),
        fmt_elapsed(stats.elapsed_s),
    ]
    rate = rate_per_s(stats)
    if rate is not None:
        parts.append(f"{fmt_rate(rate)} req/s")
    if interrupted:
        parts.append("interrupted")
    return "batch: " + ", ".join(parts)


def summary_stats(summary: Summary) -> RunStats:
    """The end of a run as a ``RunStats``, from the ``Summary`` alone (for a run that sent
    no update): every line read is one the run would have written."""
    return RunStats(
        total=summary.total, read=summary.total, ok=summary.ok, errors=summary.errors,
        skipped=summary.skipped, cached_exact=summary.cached.get("exact", 0),
        cached_semantic=summary.cached.get("semantic", 0), coalesced=summary.coalesced,
        retries=summary.retries, sends=summary.sends, rate_limited=summary.rate_limited,
        concurrency=summary.final_concurrency, elapsed_s=summary.elapsed_s)


def final_line(last: RunStats | None, summary: Summary) -> str:
    """The summary line a sink ends with: the last update's counters (the runner sends one
    at the very end), or the ``Summary``'s own when there was none."""
    stats = last if last is not None else summary_stats(summary)
    return summary_line(stats, interrupted=summary.interrupted)


# --- sinks ---


class PlainProgress:
    """A plain line every ``interval_s`` (none for a run shorter than that), then the
    summary line. No ANSI codes."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic,
                 interval_s: float = 2.0) -> None:
        self._stream = stream
        self._clock = clock
        self._interval = interval_s
        self._last: float | None = None  # when the last line was written, or the start
        self._stats: RunStats | None = None  # the last update, for the summary line
        self._finished = False
        self._broken = False

    def start(self, total: int | None) -> None:
        if self._last is None:
            self._last = self._clock()

    def update(self, stats: RunStats) -> None:
        if self._finished:
            return
        self._stats = stats
        now = self._clock()
        if self._last is None:
            self._last = now
        elif now - self._last >= self._interval:
            self._last = now
            self._write(progress_line(stats))

    def finish(self, summary: Summary) -> None:
        if self._finished:
            return
        self._finished = True
        self._write(final_line(self._stats, summary))

    def _write(self, line: str) -> None:
        if self._broken:
            return
        try:
            self._stream.write(line + "\n")
            self._stream.flush()
        except (OSError, ValueError):  # stderr closed: the batch itself carries on
            self._broken = True


class TerminalProgress:
    """A transient Rich live display redrawn by ``update`` at most every ``refresh_s``
    (no refresh thread); ``finish`` removes it and prints the summary line."""

    def __init__(self, console: Console, *, clock: Callable[[], float] = time.monotonic,
                 refresh_s: float = TTY_REFRESH_S) -> None:
        self._console = console
        self._clock = clock
        self._refresh_s = refresh_s
        self._live: Live | None = None
        self._spinner: Spinner | None = None
        self._last_refresh = -math.inf
        self._stats: RunStats | None = None  # the last update, for the summary line
        self._finished = False
        self._broken = False

    def start(self, total: int | None) -> None:
        if self._live is not None or self._finished or self._broken:
            return
        from rich.live import Live
        from rich.spinner import Spinner

        self._spinner = Spinner("dots", style="cyan")
        self._live = Live(console=self._console, auto_refresh=False, transient=True,
                          redirect_stdout=False, redirect_stderr=False)
        self._guarded(self._live.start)
        self._draw(RunStats(total=total))

    def update(self, stats: RunStats) -> None:
        if self._finished:
            return
        self._stats = stats
        if self._broken:
            return
        now = self._clock()
        if now - self._last_refresh < self._refresh_s:
            return
        if self._live is None:
            self.start(stats.total)
        self._last_refresh = now
        self._draw(stats)

    def finish(self, summary: Summary) -> None:
        if self._finished:
            return
        self._finished = True
        try:
            if self._live is not None:
                self._guarded(self._live.stop)
        finally:
            line = final_line(self._stats, summary)
            self._guarded(lambda: self._console.print(line, markup=False, highlight=False,
                                                      soft_wrap=True))

    def _draw(self, stats: RunStats) -> None:
        live, spinner = self._live, self._spinner
        if live is None or spinner is None or self._broken:
            return
        view = terminal_view(stats, spinner=spinner, width=self._console.width)
        self._guarded(lambda: live.update(view, refresh=True))

    def _guarded(self, action: Callable[[], object]) -> None:
        if self._broken:
            return
        try:
            action()
        except (OSError, ValueError):  # stderr closed: the batch itself carries on
            self._broken = True
            self._console.quiet = True


def terminal_view(stats: RunStats, *, spinner: Spinner, width: int) -> RenderableType:
    """What the terminal shows: the bar line, the counters, the concurrency and pause."""
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    head = Table.grid(padding=(0, 1))
    cells: list[RenderableType] = [spinner, Text("batch", style="bold")]
    position = f"{stats.done} done"
    if stats.total is not None:
        total = max(stats.total, 1)
        done = total if stats.total == 0 else min(stats.done, total)
        cells.append(ProgressBar(total=total, completed=done,
                                 width=min(40, max(10, width // 3))))
        position = f"{stats.done}/{stats.total} {done * 100 // total}%"
        eta = eta_s(stats)
        if eta is not None:
            position += f"{_SEP}ETA {fmt_wait(eta)}"
    cells.append(Text(position))
    head.add_row(*cells)
    rate = rate_per_s(stats)
    counters = Text(f"{_INDENT}{'-' if rate is None else fmt_rate(rate)} req/s")
    counters.append(f"{_SEP}{stats.cached} cached{_SEP}{stats.coalesced} coalesced{_SEP}")
    counters.append(_count(stats.retries, "retry", "retries") + _SEP)
    counters.append(_count(stats.errors, "error"), style="red" if stats.errors else "")
    parts: list[RenderableType] = [head, counters]
    flow = Text()
    if stats.concurrency:
        flow.append(f"concurrency {stats.concurrency}{_SEP}{stats.in_flight} in flight")
    paused = _paused(stats)
    if paused:
        flow.append(_SEP if flow else "")
        flow.append(paused, style="yellow")
    if flow:
        parts.append(Text(_INDENT) + flow)
    return Group(*parts)


def terminal_console(stream: TextIO, *, env: Mapping[str, str],
                     clock: Callable[[], float] = time.monotonic,
                     width: int | None = None) -> Console:
    """A Rich console for the live display; ``NO_COLOR`` drops colour. A broken pipe
    makes it quiet instead of exiting (Rich's default would end the whole batch)."""
    from rich.console import Console

    class _ProgressConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True

    return _ProgressConsole(file=stream, force_terminal=True, width=width,
                            no_color=env.get("NO_COLOR", "") != "", highlight=False,
                            get_time=clock, _environ=env)


def make_progress(stream: TextIO, *, is_tty: bool, env: Mapping[str, str],
                  clock: Callable[[], float] = time.monotonic, interval_s: float = 2.0,
                  width: int | None = None) -> ProgressSink:
    """A live display on a capable terminal, periodic plain lines otherwise."""
    if is_tty and env.get("TERM", "").strip().lower() not in _DUMB_TERMS:
        console = terminal_console(stream, env=env, clock=clock, width=width)
        return TerminalProgress(console, clock=clock)
    return PlainProgress(stream, clock=clock, interval_s=interval_s)
