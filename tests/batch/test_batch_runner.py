"""run_batch: order, coalescing, priorities, bounded read-ahead, bad lines, pacing."""

from __future__ import annotations

import asyncio
import io
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmx.batch.feed import count_lines
from llmx.batch.jobs import BadLine, Job, OrderedWriter, read_jobs
from llmx.batch.limits import TokenBucket
from llmx.batch.runner import RunStats, Summary, run_batch
from llmx.errors import ExitCode, UsageError
from llmx.types import Completion

from .fakes import FakeTime, answer, by_job, jobs_from, lines_of, prompts, wiring

Send = Callable[[Job], Awaitable[Completion]]


def run(jobs: Any, send: Send, *, ordered: bool = True,
        key: Callable[[Job], str | None] | None = None, **options: Any
        ) -> tuple[Summary, list[dict[str, Any]]]:
    out = io.BytesIO()

    async def go() -> Summary:
        return await run_batch(jobs, writer=OrderedWriter(out, ordered=ordered),
                               **{"concurrency": 8, **wiring(send, key), **options})

    summary = asyncio.run(go())
    return summary, lines_of(out.getvalue())


def test_output_keeps_input_order_under_random_delays() -> None:
    rng = random.Random(5)

    async def send(job: Job) -> Completion:
        await asyncio.sleep(rng.random() / 1000)
        return answer(job)

    rows = prompts(200)
    summary, lines = run(jobs_from(rows), send, concurrency=20)
    assert [line["id"] for line in lines] == [row["id"] for row in rows]
    assert all(line["text"] == f"answer to {row['prompt']}" for line, row in zip(lines, rows,
                                                                                  strict=True))
    assert (summary.total, summary.ok, summary.errors, summary.sends) == (200, 200, 0, 200)
    assert summary.exit_code() == ExitCode.OK
    assert summary.max_reorder_buffer > 0  # some did finish out of order


def test_unordered_mode_writes_in_finishing_order() -> None:
    count = 6
    gates: list[asyncio.Event] = []
    started: list[int] = []

    async def send(job: Job) -> Completion:  # everything in flight, then finish in reverse
        index = int(job.id[1:])
        started.append(index)
        if len(started) == count:
            gates[-1].set()
        await gates[index].wait()
        if index:
            gates[index - 1].set()
        return answer(job)

    def source() -> Iterator[Job | BadLine]:
        gates[:] = [asyncio.Event() for _ in range(count)]  # made inside the running loop
        yield from jobs_from(prompts(count))

    summary, lines = run(source(), send, ordered=False, concurrency=count)
    assert [line["id"] for line in lines] == [f"q{i}" for i in reversed(range(count))]
    assert summary.max_reorder_buffer == 0


def test_identical_requests_in_flight_are_sent_once() -> None:
    sent: list[str] = []

    async def send(job: Job) -> Completion:
        sent.append(job.id)
        for _ in range(3):
            await asyncio.sleep(0)
        return answer(job)

    rows = [{"id": f"same{i}", "prompt": "same question"} for i in range(10)]
    rows += [{"id": "other", "prompt": "another question"}]
    summary, lines = run(jobs_from(rows), send, concurrency=4, key=lambda job: job.prompt)
    assert sent == ["same0", "other"]
    assert [line["id"] for line in lines] == [row["id"] for row in rows]
    assert {line["text"] for line in lines[:10]} == {"answer to same question"}
    assert (summary.coalesced, summary.sends, summary.ok) == (9, 2, 11)


def test_without_a_key_identical_requests_are_all_sent() -> None:
    sent: list[str] = []

    async def send(job: Job) -> Completion:
        sent.append(job.id)
        await asyncio.sleep(0)
        return answer(job)

    rows = [{"id": f"same{i}", "prompt": "same"} for i in range(5)]
    summary, _ = run(jobs_from(rows), send, key=lambda job: None)
    assert len(sent) == 5 and summary.coalesced == 0


def test_higher_priority_lines_are_sent_first() -> None:
    sent: list[str] = []

    async def send(job: Job) -> Completion:
        sent.append(job.id)
        await asyncio.sleep(0)
        return answer(job)

    rng = random.Random(11)
    levels: list[Any] = ["high", "normal", "low", -3, 15]
    rows = [{"id": f"p{i}", "prompt": "x", "priority": rng.choice(levels)} for i in range(30)]
    rank = {"high": 0, "normal": 10, "low": 20}
    expected = sorted(rows, key=lambda r: (rank.get(r["priority"], r["priority"]),
                                           int(r["id"][1:])))
    _, lines = run(jobs_from(rows), send, concurrency=1, window=len(rows))  # all read ahead
    assert sent == [row["id"] for row in expected]
    assert [line["id"] for line in lines] == [row["id"] for row in rows]  # output: input order


def test_read_ahead_never_exceeds_the_window_even_when_an_early_line_is_slow() -> None:
    window, total = 12, 100
    held_when_pulled: list[int] = []
    writer_box: list[OrderedWriter] = []
    release_first = asyncio.Event()

    def source() -> Iterator[Job | BadLine]:
        for pulled, entry in enumerate(jobs_from(prompts(total))):
            held_when_pulled.append(pulled - writer_box[0].written)
            yield entry

    async def send(job: Job) -> Completion:
        if job.id == "q0":
            await release_first.wait()
        return answer(job)

    async def release_when_buffer_full(writer: OrderedWriter) -> None:
        while writer.buffered < window - 1:  # every other held line finished and waits
            await asyncio.sleep(0)
        release_first.set()

    async def go() -> tuple[Summary, OrderedWriter, bytes]:
        nonlocal release_first
        release_first = asyncio.Event()
        out = io.BytesIO()
        writer = OrderedWriter(out)
        writer_box.append(writer)
        releaser = asyncio.create_task(release_when_buffer_full(writer))
        summary = await run_batch(source(), send=by_job(send), writer=writer, concurrency=3,
                                  window=window)
        await releaser
        return summary, writer, out.getvalue()

    summary, writer, data = asyncio.run(go())
    assert len(lines_of(data)) == total
    assert max(held_when_pulled) < window  # a line is pulled only when the window has room
    assert summary.max_read_ahead == window
    assert writer.max_buffered == window - 1  # the buffer filled, then reading stopped


def test_bad_lines_and_duplicate_ids_become_error_lines_and_the_rest_runs() -> None:
    sent: list[str] = []

    async def send(job: Job) -> Completion:
        sent.append(job.id)
        return answer(job)

    rows: list[Any] = [{"id": "a", "prompt": "1"}, "{broken", {"id": "b", "prompt": 2},
                       {"id": "a", "prompt": "again"}, {"id": "c", "prompt": "3"}]
    summary, lines = run(jobs_from(rows), send)
    assert sent == ["a", "c"]
    assert [line["id"] for line in lines] == ["a", "line-2", "b", "a", "c"]
    assert lines[1]["error"]["type"] == "BadLine" and "line 2" in lines[1]["error"]["message"]
    assert lines[2]["error"]["type"] == "BadLine" and "line 3" in lines[2]["error"]["message"]
    assert lines[3]["error"]["type"] == "DuplicateId" and "line 4" in lines[3]["error"]["message"]
    assert all(line["attempts"] == 0 for line in lines[1:4])
    assert (summary.total, summary.ok, summary.errors) == (5, 2, 3)
    assert summary.exit_code() == ExitCode.PARTIAL


def test_a_plan_failure_fails_only_that_line() -> None:
    async def send(job: Job) -> Completion:
        return answer(job)

    def key(job: Job) -> str | None:
        if job.id == "q1":
            raise UsageError("cannot prepare this prompt")
        return job.prompt

    summary, lines = run(jobs_from(prompts(3)), send, key=key)
    assert [("error" in line) for line in lines] == [False, True, False]
    assert lines[1]["error"] == {"type": "UsageError", "message": "cannot prepare this prompt"}
    assert summary.errors == 1


def test_skipped_ids_get_no_line_and_are_not_sent() -> None:
    sent: list[str] = []

    async def send(job: Job) -> Completion:
        sent.append(job.id)
        return answer(job)

    summary, lines = run(jobs_from(prompts(5)), send, skip={"q1", "q3"})
    assert sent == ["q0", "q2", "q4"] and [line["id"] for line in lines] == sent
    assert (summary.total, summary.skipped) == (3, 2)


def test_async_sources_are_read_too() -> None:
    async def source() -> AsyncIterator[Job | BadLine]:
        for entry in jobs_from(prompts(30)):
            await asyncio.sleep(0)
            yield entry

    async def send(job: Job) -> Completion:
        return answer(job)

    summary, lines = run(source(), send, window=5)
    assert [line["id"] for line in lines] == [f"q{i}" for i in range(30)]
    assert summary.max_read_ahead <= 5


def test_rpm_and_tpm_buckets_pace_sends_on_fake_time() -> None:
    time = FakeTime()
    starts: dict[str, float] = {}

    async def send(job: Job) -> Completion:
        starts[job.id] = time.now
        return answer(job, cached="exact" if job.id == "cached" else False)

    rows = [{"id": f"r{i}", "prompt": "x" * 4} for i in range(6)]
    run(jobs_from(rows), send, rpm=TokenBucket(60, clock=time), clock=time, sleep=time.sleep)
    assert sorted(starts.values()) == pytest.approx([0, 1, 2, 3, 4, 5])  # one a second

    starts.clear()
    time = FakeTime()
    budgets: list[dict[str, Any]] = [
        {"id": f"t{i}", "prompt": "x" * 40, "params": {"max_tokens": 10}} for i in range(4)]
    run(jobs_from(budgets), send, tpm=TokenBucket(1200, capacity=20, clock=time), clock=time,
        sleep=time.sleep)  # 20 tokens a second; each line is 40 // 4 + 10 = 20 tokens
    assert sorted(starts.values()) == pytest.approx([0, 1, 2, 3])


def test_answers_from_the_cache_give_their_tokens_back() -> None:
    time = FakeTime()
    starts: list[float] = []

    async def send(job: Job) -> Completion:
        starts.append(time.now)
        return answer(job, cached="exact")

    summary, _ = run(jobs_from(prompts(5)), send, concurrency=1,
                     rpm=TokenBucket(60, clock=time), clock=time, sleep=time.sleep)
    assert starts == [0, 0, 0, 0, 0]
    assert summary.cached == {"exact": 5, "semantic": 0}


def test_progress_sees_start_updates_and_the_summary() -> None:
    events: list[tuple[str, Any]] = []

    class Recorder:
        def start(self, total: int | None) -> None:
            events.append(("start", total))

        def update(self, stats: RunStats) -> None:
            events.append(("update", stats))

        def finish(self, summary: Summary) -> None:
            events.append(("finish", summary))

    async def send(job: Job) -> Completion:
        return answer(job)

    summary, _ = run(jobs_from(prompts(4)), send, progress=Recorder(), total=4)
    assert events[0] == ("start", 4) and events[-1] == ("finish", summary)
    last = events[-2][1]
    assert isinstance(last, RunStats) and (last.done, last.ok, last.read) == (4, 4, 4)
    assert summary.as_dict()["exit_code"] == 0


def test_a_failing_writer_stops_the_run_and_raises() -> None:
    class Full(io.BytesIO):
        def write(self, data: object) -> int:
            raise OSError(28, "No space left on device")

    sent: list[str] = []

    async def send(job: Job) -> Completion:
        sent.append(job.id)
        await asyncio.sleep(0)
        return answer(job)

    async def go() -> None:
        await run_batch(jobs_from(prompts(100)), send=by_job(send), writer=OrderedWriter(Full()),
                        concurrency=4)

    with pytest.raises(OSError, match="No space"):
        asyncio.run(go())
    assert len(sent) < 100


def test_count_lines_counts_what_read_jobs_reads(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"prompt": "a"}\n\n  \t\r\n{"prompt": "b"}\n {"prompt": "c"}')
    with path.open("rb") as stream:
        read = len(list(read_jobs(stream)))
    assert count_lines(str(path)) == read == 3
    assert count_lines(str(tmp_path / "missing.jsonl")) is None
    assert count_lines(str(tmp_path)) is None


def test_count_lines_leaves_a_fifo_alone(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert count_lines(str(fifo)) is None  # returns at once: opening it would block
