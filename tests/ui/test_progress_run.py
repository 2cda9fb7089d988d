"""A whole batch run drawn by the progress sinks: one fake clock for the runner and the
display, rendered into a string at a fixed width.

Known input size (a file: ``total=``) -> done/total, a percentage and an ETA from the first
frame; unknown (stdin) -> done and the rate only; not a terminal -> a plain line at most
every ``interval_s``, then the summary.
"""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

from llmx.batch.jobs import Job, OrderedWriter
from llmx.batch.runner import Summary, run_batch
from llmx.types import Completion
from llmx.ui.progress import make_progress
from tests.batch.fakes import FakeTime, answer, jobs_from, prompts
from tests.ui.terminal import Screen

WIDTH = 80
LINES = 100


def frames(output: str) -> list[str]:
    """What the screen showed after each redraw (each ends with a cursor-up reset)."""
    shown, screen = [], Screen()
    for piece in re.split(r"(?=\x1b\[2K\x1b\[1A)", output):  # Rich's "erase the last frame"
        screen.feed(piece)
        shown.append(screen.text())
    return [frame for frame in shown if frame]


def drawn(*, is_tty: bool, total: int | None, interval_s: float = 2.0) -> tuple[str, Summary]:
    time = FakeTime()
    out = io.StringIO()
    sink = make_progress(out, is_tty=is_tty, env={"TERM": "xterm", "NO_COLOR": "1"},
                         clock=time, width=WIDTH, interval_s=interval_s)

    async def send(job: Job, plan: object = None) -> Completion:
        await time.sleep(0.05)
        return answer(job)

    async def go() -> Summary:
        return await run_batch(jobs_from(prompts(LINES)), send=send, writer=OrderedWriter(
            io.BytesIO()), concurrency=4, window=8, total=total, progress=sink,
            clock=time, sleep=time.sleep)

    summary = asyncio.run(go())
    return out.getvalue(), summary


def test_a_known_total_shows_done_of_total_percentage_and_eta_from_the_start() -> None:
    output, summary = drawn(is_tty=True, total=LINES)
    shown = frames(output)
    assert len(shown) > 5
    running = shown[1:-1]  # between the first frame (nothing done) and the summary
    for frame in running:
        assert re.search(rf"\b\d+/{LINES} \d+%", frame), frame
        assert "ETA" in frame and "req/s" in frame, frame
        assert all(len(line) <= WIDTH for line in frame.splitlines()), frame
    percents = [int(m.group(1)) for f in running if (m := re.search(r" (\d+)%", f))]
    assert percents == sorted(percents) and 0 < percents[0] < 50 < percents[-1] <= 100
    assert shown[-1] == f"batch: {LINES} lines, {LINES} ok, 0 errors, 0 cached, 0 coalesced," \
        f" 0 retries, {summary.elapsed_s:.1f} s, {LINES / summary.elapsed_s:.0f} req/s"


def test_an_unknown_total_shows_done_and_rate_only_until_the_input_ends() -> None:
    output, _ = drawn(is_tty=True, total=None)
    shown = frames(output)
    early = [frame for frame in shown[1:] if "done" in frame]
    assert early, shown
    for frame in early:  # while the input is still being read: no total, no ETA
        assert re.search(r"\b\d+ done", frame) and "req/s" in frame, frame
        assert "%" not in frame and "ETA" not in frame, frame


def test_not_a_terminal_gets_a_plain_line_now_and_then_and_the_summary() -> None:
    output, summary = drawn(is_tty=False, total=LINES, interval_s=0.5)
    lines: list[Any] = output.splitlines()
    assert "\x1b" not in output
    assert lines[-1].startswith(f"batch: {LINES} lines, {LINES} ok")
    periodic = lines[:-1]
    assert 1 <= len(periodic) <= summary.elapsed_s / 0.5
    assert all(re.match(rf"batch: \d+/{LINES} done, .* ETA ", line) for line in periodic)
