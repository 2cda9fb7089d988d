"""Batch progress on stderr: throttled live display / plain lines, and the final summary."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from llmx.batch.jobs import Job, OrderedWriter
from llmx.batch.runner import run_batch
from llmx.batch.summary import NullProgress, ProgressSink, RunStats, Summary
from llmx.types import Completion
from llmx.ui.progress import (
    PlainProgress,
    TerminalProgress,
    eta_s,
    fmt_elapsed,
    fmt_wait,
    make_progress,
    progress_line,
    rate_per_s,
    summary_line,
)
from tests.batch.fakes import answer, jobs_from, prompts
from tests.ui.terminal import visible_text

WIDTH = 80
REPO = Path(__file__).resolve().parents[2]

# The numbers of the examples in the batch spec.
# Cache hits are split between exact and semantic: the display shows their sum.
SPEC_DONE = RunStats(total=2000, read=2000, ok=1998, errors=2, cached_exact=390,
                     cached_semantic=10, coalesced=398, retries=12, in_flight=0,
                     concurrency=100, elapsed_s=6.1)
SPEC_RUNNING = RunStats(total=2000, read=1264, ok=1197, errors=3, cached_exact=75,
                        cached_semantic=5, coalesced=0, retries=0, in_flight=64,
                        concurrency=64, elapsed_s=5.0)


class Clock:
    """A fake monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def at(stats: RunStats, elapsed: float, done: int) -> RunStats:
    """``done`` lines answered, all ok, at ``elapsed``."""
    return replace(stats, elapsed_s=elapsed, read=done, ok=done, errors=0)


def ended(stats: RunStats, *, interrupted: bool) -> Summary:
    """The Summary the runner would pass to ``finish`` after this last update."""
    return Summary.from_stats(stats, interrupted=interrupted, max_reorder_buffer=0,
                              max_read_ahead=0)


# --- summary line and numbers ---


def test_summary_line_matches_the_spec_example() -> None:
    assert summary_line(SPEC_DONE, interrupted=False) == (
        "batch: 2000 lines, 1998 ok, 2 errors, 400 cached, 398 coalesced, 12 retries, "
        "6.1 s, 328 req/s")


def test_interrupted_run_says_so_and_how_far_it_got() -> None:
    line = summary_line(SPEC_RUNNING, interrupted=True)
    assert line.startswith("batch: 1200 of 2000 lines, 1197 ok, 3 errors, ")
    assert line.endswith(", interrupted")
    assert "interrupted" not in summary_line(SPEC_RUNNING, interrupted=False)


def test_summary_line_singular_words_and_unknown_total() -> None:
    stats = RunStats(total=None, read=1, ok=0, errors=1, retries=1, concurrency=1,
                     elapsed_s=0.5)
    line = summary_line(stats, interrupted=False)
    assert line.startswith("batch: 1 line, 0 ok, 1 error, ")
    assert "1 retry," in line
    assert line.endswith("0.5 s, 2.0 req/s")


def test_summary_line_without_elapsed_time_has_no_rate() -> None:
    stats = replace(SPEC_DONE, elapsed_s=0.0)
    assert "req/s" not in summary_line(stats, interrupted=False)
    assert rate_per_s(stats) is None


@pytest.mark.parametrize(("seconds", "expected"), [
    (0.04, "0.0 s"), (6.1, "6.1 s"), (59.9, "59.9 s"), (125.0, "2 min 05 s"),
    (3725.0, "1 h 02 min"),
])
def test_elapsed_formatting(seconds: float, expected: str) -> None:
    assert fmt_elapsed(seconds) == expected


def test_eta_is_remaining_lines_at_the_average_rate_plus_the_pause() -> None:
    # 1200 lines in 5 s = 240/s; 800 left -> 10/3 s
    assert eta_s(SPEC_RUNNING) == pytest.approx(800 / 240)
    assert eta_s(replace(SPEC_RUNNING, paused_s=4.0)) == pytest.approx(800 / 240 + 4.0)
    assert eta_s(replace(SPEC_RUNNING, total=None)) is None
    assert eta_s(replace(SPEC_RUNNING, ok=0, errors=0)) is None
    assert eta_s(replace(SPEC_RUNNING, elapsed_s=0.0)) is None
    assert eta_s(replace(SPEC_RUNNING, ok=2000, errors=0)) == 0.0


@pytest.mark.parametrize(("seconds", "expected"), [
    (0.0, "0 s"), (0.2, "1 s"), (3.33, "3 s"), (3.5, "4 s"), (90.0, "1 min 30 s"),
])
def test_wait_formatting(seconds: float, expected: str) -> None:
    assert fmt_wait(seconds) == expected


def test_plain_progress_line_matches_the_spec_example() -> None:
    assert progress_line(SPEC_RUNNING) == (
        "batch: 1200/2000 done, 240 req/s, 80 cached, 3 errors, ETA 3 s")


def test_plain_progress_line_with_unknown_total_and_pause() -> None:
    stats = replace(SPEC_RUNNING, total=None, coalesced=5, retries=2, paused_s=4.2)
    line = progress_line(stats)
    assert line.startswith("batch: 1200 done, 240 req/s, ")
    assert "5 coalesced" in line and "2 retries" in line
    assert "ETA" not in line
    assert line.endswith("paused (rate limited) 4 s")


# --- plain (not a terminal) ---


def run_updates(sink: ProgressSink, clock: Clock, *, seconds: float,
                per_second: int, total: int | None) -> RunStats:
    """Feed ``per_second`` updates per second of fake time; return the last stats."""
    stats = RunStats(total=total, in_flight=8, concurrency=8)
    sink.start(total)
    for tick in range(1, round(seconds * per_second) + 1):
        clock.now = tick / per_second
        stats = at(stats, clock.now, tick)
        sink.update(stats)
    return stats


def test_plain_output_is_throttled_to_one_line_per_interval() -> None:
    clock, out = Clock(), io.StringIO()
    sink = make_progress(out, is_tty=False, env={}, clock=clock, interval_s=2.0)
    assert isinstance(sink, PlainProgress)
    last = run_updates(sink, clock, seconds=10.0, per_second=100, total=1000)
    lines = out.getvalue().splitlines()
    assert len(lines) == 5  # at 2, 4, 6, 8 and 10 s; nothing at the start
    # each line reports the state at its moment: 200 lines every 2 s
    assert [line.split()[1] for line in lines] == [
        f"{n}/1000" for n in (200, 400, 600, 800, 1000)]
    sink.finish(ended(last, interrupted=False))
    lines = out.getvalue().splitlines()
    assert len(lines) == 6
    assert lines[-1] == summary_line(last, interrupted=False)
    assert "\x1b" not in out.getvalue()


def test_plain_short_run_prints_only_the_summary_once() -> None:
    clock, out = Clock(), io.StringIO()
    sink = make_progress(out, is_tty=False, env={}, clock=clock)
    last = run_updates(sink, clock, seconds=1.5, per_second=100, total=None)
    sink.finish(ended(last, interrupted=True))
    sink.finish(ended(last, interrupted=True))
    sink.update(last)
    assert out.getvalue() == "batch: 150 lines, 150 ok, 0 errors, 0 cached, 0 coalesced, " \
        "0 retries, 1.5 s, 100 req/s, interrupted\n"


def test_dumb_terminal_gets_plain_lines() -> None:
    sink = make_progress(io.StringIO(), is_tty=True, env={"TERM": "dumb"}, clock=Clock())
    assert isinstance(sink, PlainProgress)


class BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError("stderr went away")


@pytest.mark.parametrize("is_tty", [False, True])
def test_a_closed_stderr_does_not_stop_the_batch(is_tty: bool) -> None:
    clock = Clock()
    sink = make_progress(BrokenStream(), is_tty=is_tty, env={}, clock=clock, interval_s=0.5,
                         width=WIDTH)
    last = run_updates(sink, clock, seconds=2.0, per_second=10, total=20)
    sink.finish(ended(last, interrupted=False))


def test_null_progress_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    sink = NullProgress()
    sink.start(None)
    sink.update(SPEC_RUNNING)
    sink.finish(ended(SPEC_DONE, interrupted=True))
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


# --- the summary line a sink ends with ---


@pytest.mark.parametrize("is_tty", [False, True])
@pytest.mark.parametrize("interrupted", [False, True])
def test_finish_reports_the_last_update_and_the_summarys_interruption(
        is_tty: bool, interrupted: bool) -> None:
    clock, out = Clock(), io.StringIO()
    sink = make_progress(out, is_tty=is_tty, env={}, clock=clock, interval_s=60.0, width=WIDTH)
    sink.start(2000)
    clock.now = 5.0
    sink.update(SPEC_RUNNING)
    # the runner's Summary counts lines read (1264); the last update knows the total (2000)
    sink.finish(ended(SPEC_RUNNING, interrupted=interrupted))
    line = visible_text(out.getvalue())
    assert line.startswith("batch: 1200 of 2000 lines, 1197 ok, 3 errors, 80 cached, ")
    assert line.endswith(", interrupted") == interrupted


@pytest.mark.parametrize("is_tty", [False, True])
@pytest.mark.parametrize(("summary", "expected"), [
    (Summary(total=5, ok=4, errors=1, cached={"exact": 2, "semantic": 1}, coalesced=1,
             retries=2, elapsed_s=2.0, req_per_s=2.5),
     "batch: 5 lines, 4 ok, 1 error, 3 cached, 1 coalesced, 2 retries, 2.0 s, 2.5 req/s"),
    (Summary(total=10, ok=4, errors=1, cached={"exact": 2}, retries=1, elapsed_s=125.0,
             req_per_s=0.04, interrupted=True),
     "batch: 5 of 10 lines, 4 ok, 1 error, 2 cached, 0 coalesced, 1 retry, 2 min 05 s, "
     "0.0 req/s, interrupted"),
    (Summary(total=0, ok=0, errors=0),
     "batch: 0 lines, 0 ok, 0 errors, 0 cached, 0 coalesced, 0 retries, 0.0 s"),
])
def test_finish_without_updates_uses_the_summarys_counts(
        is_tty: bool, summary: Summary, expected: str) -> None:
    out = io.StringIO()
    sink = make_progress(out, is_tty=is_tty, env={}, clock=Clock(), width=WIDTH)
    sink.start(None)
    sink.finish(summary)
    assert visible_text(out.getvalue()) == expected


@pytest.mark.parametrize("is_tty", [False, True])
def test_the_batch_runner_drives_a_sink(is_tty: bool) -> None:
    out = io.StringIO()
    sink: ProgressSink = make_progress(out, is_tty=is_tty, env={}, clock=Clock(),
                                       interval_s=60.0, width=WIDTH)

    async def send(job: Job, plan: object = None) -> Completion:
        return answer(job)

    async def go() -> Summary:
        return await run_batch(jobs_from(prompts(4)), send=send,
                               writer=OrderedWriter(io.BytesIO()), concurrency=2,
                               progress=sink, total=4)

    summary = asyncio.run(go())
    assert summary.ok == 4
    screen = visible_text(out.getvalue())
    assert screen.startswith("batch: 4 lines, 4 ok, 0 errors, 0 cached, 0 coalesced, ")
    assert len(screen.splitlines()) == 1


def test_plain_mode_does_not_import_rich() -> None:
    code = (
        "import io, sys\n"
        "from llmx.batch.summary import RunStats, Summary\n"
        "from llmx.ui.progress import make_progress\n"
        "s = RunStats(total=2, read=2, ok=2, concurrency=1, elapsed_s=3.0)\n"
        "p = make_progress(io.StringIO(), is_tty=False, env={}, interval_s=0.0)\n"
        "p.start(2); p.update(s); p.update(s); p.finish(Summary(total=2, ok=2, errors=0))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"


# --- terminal ---


def terminal(env: dict[str, str] | None = None) -> tuple[TerminalProgress, Clock, io.StringIO]:
    clock, out = Clock(), io.StringIO()
    sink = make_progress(out, is_tty=True, env=env or {}, clock=clock, width=WIDTH)
    assert isinstance(sink, TerminalProgress)
    return sink, clock, out


def test_terminal_shows_every_counter() -> None:
    sink, clock, out = terminal()
    sink.start(2000)
    clock.now = 5.0
    sink.update(replace(SPEC_RUNNING, coalesced=12, retries=7, in_flight=48, paused_s=3.6))
    screen = visible_text(out.getvalue())
    for part in ("1200/2000", "60%", "240 req/s", "80 cached", "12 coalesced", "7 retries",
                 "3 errors", "concurrency 64", "48 in flight", "paused (rate limited) 4 s"):
        assert part in screen, part
    # 800 left at 240/s, plus the 3.6 s pause still to wait
    assert f"ETA {fmt_wait(800 / 240 + 3.6)}" == "ETA 7 s"
    assert "ETA 7 s" in screen
    assert "━" in screen  # the bar
    assert all(len(line) <= WIDTH for line in screen.splitlines())


def test_terminal_unknown_total_shows_a_count_without_bar_or_eta() -> None:
    sink, clock, out = terminal()
    sink.start(None)
    clock.now = 5.0
    sink.update(replace(SPEC_RUNNING, total=None))
    screen = visible_text(out.getvalue())
    assert "1200 done" in screen
    assert "%" not in screen and "ETA" not in screen and "━" not in screen


def test_terminal_redraws_at_most_ten_times_a_second() -> None:
    sink, clock, out = terminal()
    last = run_updates(sink, clock, seconds=1.0, per_second=1000, total=1000)
    redraws = out.getvalue().count("req/s")  # each redraw prints the counter line once
    assert 2 <= redraws <= 1 + 10  # the start, then at most one per 0.1 s
    # a redraw shows the stats of its moment, not stale ones
    clock.now += 0.2
    sink.update(replace(last, ok=1000, cached_exact=700, cached_semantic=77))
    assert "777 cached" in visible_text(out.getvalue())


def test_terminal_finish_leaves_only_the_summary() -> None:
    sink, clock, out = terminal()
    last = run_updates(sink, clock, seconds=1.0, per_second=50, total=100)
    sink.finish(ended(last, interrupted=True))
    sink.finish(ended(last, interrupted=True))
    assert visible_text(out.getvalue()) == summary_line(last, interrupted=True)
    assert visible_text(out.getvalue()).endswith(", interrupted")
    assert out.getvalue().count("\x1b[?25h") == 1  # the cursor is given back


def sgr_colour_params(output: str) -> list[int]:
    """Foreground/background colour parameters in SGR sequences (30-49, 90-107)."""
    found = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", output):
        found += [int(p) for p in params.split(";") if p and (30 <= int(p) <= 49
                                                               or 90 <= int(p) <= 107)]
    return found


def test_terminal_honours_no_color() -> None:
    stats = replace(SPEC_RUNNING, paused_s=2.0)
    coloured, clock, out = terminal()
    coloured.start(2000)
    clock.now = 1.0
    coloured.update(stats)
    assert sgr_colour_params(out.getvalue())  # the check can see colour when it is there

    plain, clock, out = terminal({"NO_COLOR": "1"})
    plain.start(2000)
    clock.now = 1.0
    plain.update(stats)
    plain.finish(ended(stats, interrupted=False))
    assert sgr_colour_params(out.getvalue()) == []
    assert "3 errors" in out.getvalue()
