"""run_batch under failure: retries, 429 pauses, stop + grace, resume."""

from __future__ import annotations

import asyncio
import io
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from llmx.batch.jobs import BadLine, Job, OrderedWriter, prepare_resume, read_jobs
from llmx.batch.limits import AdaptiveGate, TokenBucket
from llmx.batch.runner import Summary, is_transient, run_batch
from llmx.errors import (
    AuthError,
    ExitCode,
    ProviderError,
    RateLimitError,
    RequestTimeout,
    StreamError,
    TransportError,
    UsageError,
)
from llmx.types import Completion

from .fakes import FakeTime, answer, by_job, jobs_from, jsonl, lines_of, prompts, wiring

PERMANENT = ("AuthError", "UsageError", "ProviderError:400", "ProviderError:404")


@pytest.mark.parametrize(("exc", "transient"), [
    (RateLimitError("x"), True), (TransportError("x"), True), (RequestTimeout("x"), True),
    (ProviderError("x", status=503), True), (ProviderError("x"), True), (StreamError("x"), True),
    (ProviderError("x", status=400), False), (ProviderError("x", status=401), False),
    (ProviderError("x", status=403), False), (ProviderError("x", status=404), False),
    (AuthError("x"), False), (UsageError("x"), False), (ValueError("x"), False),
])
def test_which_errors_are_worth_another_send(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def flaky_send(rng: random.Random, outcomes: dict[str, list[str]]) -> Any:
    async def send(job: Job) -> Completion:
        for _ in range(rng.randrange(4)):
            await asyncio.sleep(0)
        roll = rng.random()
        failures: list[tuple[float, BaseException, str]] = [
            (0.12, RateLimitError("slow down", retry_after=rng.choice([None, 0.5, 2.0])),
             "RateLimitError"),
            (0.20, TransportError("connection reset"), "TransportError"),
            (0.25, RequestTimeout("read timed out"), "RequestTimeout"),
            (0.30, ProviderError("bad gateway", status=502), "ProviderError:502"),
            (0.34, ProviderError("bad request", status=400), "ProviderError:400"),
            (0.36, ProviderError("no such model", status=404), "ProviderError:404"),
            (0.38, AuthError("key rejected"), "AuthError"),
        ]
        for threshold, exc, name in failures:
            if roll < threshold:
                outcomes[job.id].append(name)
                raise exc
        outcomes[job.id].append("ok")
        return answer(job)

    return send


def test_every_id_exactly_once_under_random_failures() -> None:
    time = FakeTime()
    outcomes: dict[str, list[str]] = defaultdict(list)
    rows = prompts(300)
    summary, lines = run_on_fake_time(time, rows, flaky_send(random.Random(1234), outcomes))

    assert [line["id"] for line in lines] == [row["id"] for row in rows]
    for line in lines:
        history = outcomes[line["id"]]
        assert line["attempts"] == len(history)  # attempts counts sends
        assert 1 <= len(history) <= 3  # the first send and at most 2 line retries
        assert all(name not in PERMANENT for name in history[:-1])  # never resent after those
        if "error" in line:
            assert history[-1] in PERMANENT or len(history) == 3
            assert history[-1].split(":")[0] == line["error"]["type"]
        else:
            assert history[-1] == "ok"
            assert line["text"] == f"answer to prompt {line['id'][1:]}"
    sends = sum(len(h) for h in outcomes.values())
    assert summary.sends == sends and summary.retries == sends - len(rows)
    assert summary.ok + summary.errors == len(rows) and summary.errors > 0
    assert summary.rate_limited == sum(h.count("RateLimitError") for h in outcomes.values())
    assert summary.exit_code() == ExitCode.PARTIAL


def test_every_id_exactly_once_under_random_failures_with_coalescing() -> None:
    time = FakeTime()
    outcomes: dict[str, list[str]] = defaultdict(list)
    rng = random.Random(99)
    rows = [{"id": f"c{i}", "prompt": f"topic {rng.randrange(40)}"} for i in range(300)]
    summary, lines = run_on_fake_time(time, rows, flaky_send(random.Random(7), outcomes),
                                      key=lambda job: job.prompt)
    assert [line["id"] for line in lines] == [row["id"] for row in rows]
    assert summary.coalesced > 0
    assert summary.sends == sum(len(h) for h in outcomes.values()) < summary.total * 2
    assert all(line["attempts"] <= 3 for line in lines)


def run_on_fake_time(time: FakeTime, rows: list[dict[str, Any]], send: Any,
                     key: Callable[[Job], str | None] | None = None, **options: Any
                     ) -> tuple[Summary, list[dict[str, Any]]]:
    out = io.BytesIO()

    async def go() -> Summary:
        gate = AdaptiveGate(16, clock=time, sleep=time.sleep)
        return await run_batch(jobs_from(rows), **wiring(send, key), writer=OrderedWriter(out),
                               concurrency=16, gate=gate, clock=time, sleep=time.sleep,
                               **options)

    summary = asyncio.run(go())
    return summary, lines_of(out.getvalue())


def test_a_429_pauses_every_sender_halves_concurrency_then_recovers() -> None:
    time = FakeTime()
    log: list[tuple[str, str, float, int, int]] = []
    in_flight = 0
    gate = AdaptiveGate(8, recover_after=4, clock=time, sleep=time.sleep)

    async def send(job: Job) -> Completion:
        nonlocal in_flight
        in_flight += 1
        log.append(("send", job.id, time.now, gate.limit, in_flight))
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            if job.id == "q20" and sum(1 for e in log if e[1] == "q20") == 1:
                log.append(("429", job.id, time.now, gate.limit, in_flight))
                raise RateLimitError("slow down", retry_after=5.0)
            return answer(job)
        finally:
            in_flight -= 1

    out = io.BytesIO()

    async def go() -> Summary:
        return await run_batch(jobs_from(prompts(200)), send=by_job(send),
                               writer=OrderedWriter(out),
                               concurrency=8, gate=gate, clock=time, sleep=time.sleep)

    summary = asyncio.run(go())
    cut = next(i for i, event in enumerate(log) if event[0] == "429")
    before, after = log[:cut], log[cut + 1:]
    assert max(event[4] for event in before) == 8  # full concurrency before
    assert all(event[2] >= log[cut][2] + 5.0 for event in after)  # nobody sent during the pause
    assert after[0][3] == 4  # the limit was halved
    assert all(event[4] <= event[3] for event in after)  # in flight never above the limit
    assert summary.final_concurrency == 8  # recovered additively
    assert (summary.rate_limited, summary.retries, summary.ok) == (1, 1, 200)
    q20 = next(line for line in lines_of(out.getvalue()) if line["id"] == "q20")
    assert q20["attempts"] == 2 and "text" in q20


def test_stop_flushes_finished_lines_and_resume_finishes_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(prompts(40)))
    sent_first: list[str] = []
    finished_after_stop: list[str] = []

    async def first_run() -> Summary:
        stop = asyncio.Event()

        async def send(job: Job) -> Completion:
            sent_first.append(job.id)
            if len(sent_first) == 10:
                stop.set()  # like SIGINT in the middle of the run
            if job.id == "q5":
                await asyncio.Event().wait()  # never answers: cancelled after the grace period
            for _ in range(3):
                await asyncio.sleep(0)
            if stop.is_set():
                finished_after_stop.append(job.id)
            return answer(job)

        with source.open("rb") as lines, path.open("ab") as out:
            return await run_batch(read_jobs(lines), send=by_job(send), writer=OrderedWriter(out),
                                   concurrency=4, stop=stop, grace=0.05)

    summary = asyncio.run(first_run())
    written = [line["id"] for line in lines_of(path.read_bytes())]
    assert summary.interrupted and summary.exit_code() == ExitCode.INTERRUPTED
    assert finished_after_stop and set(finished_after_stop) <= set(written)  # within grace
    assert "q5" not in written  # cancelled: no line, so resume runs it
    assert set(written) == set(sent_first) - {"q5"}  # every finished line was flushed
    assert len(sent_first) < 40 and summary.unfinished == summary.total - len(written) > 0

    with path.open("ab") as out:  # a crash in the middle of a later write
        out.write(b'{"id":"q39","te')
    done = prepare_resume(path)
    assert done == set(written)
    sent_second: list[str] = []

    async def second_run() -> Summary:
        async def send(job: Job) -> Completion:
            sent_second.append(job.id)
            await asyncio.sleep(0)
            return answer(job)

        with source.open("rb") as lines, path.open("ab") as out:
            return await run_batch(read_jobs(lines), send=by_job(send), writer=OrderedWriter(out),
                                   concurrency=4, skip=done)

    resumed = asyncio.run(second_run())
    final = Counter(line["id"] for line in lines_of(path.read_bytes()))
    assert final == Counter(row["id"] for row in prompts(40))  # each id exactly once
    assert not set(sent_second) & done  # nothing that had succeeded was sent again
    assert resumed.exit_code() == ExitCode.OK and resumed.skipped == len(done)


def test_stop_interrupts_a_long_rate_limit_wait() -> None:
    async def go() -> Summary:
        stop = asyncio.Event()

        async def send(job: Job) -> Completion:
            stop.set()
            return answer(job)

        run = run_batch(jobs_from(prompts(5)), send=by_job(send),
                        writer=OrderedWriter(io.BytesIO()),
                        concurrency=2, rpm=TokenBucket(1), stop=stop)  # one a minute
        return await asyncio.wait_for(run, timeout=10)

    summary = asyncio.run(go())
    assert summary.interrupted and (summary.ok, summary.sends) == (1, 1)


def test_a_transient_failure_while_stopping_leaves_the_line_for_resume() -> None:
    async def go() -> tuple[Summary, bytes]:
        stop = asyncio.Event()
        out = io.BytesIO()

        async def send(job: Job) -> Completion:
            if job.id == "q0":
                stop.set()
                await asyncio.sleep(0)
                raise TransportError("reset")
            return answer(job)

        summary = await run_batch(jobs_from(prompts(1)), send=by_job(send),
                                  writer=OrderedWriter(out),
                                  concurrency=1, stop=stop)
        return summary, out.getvalue()

    summary, data = asyncio.run(go())
    assert data == b"" and summary.unfinished == 1 and summary.retries == 0


def test_an_input_error_winds_down_keeps_finished_lines_and_raises() -> None:
    async def source() -> AsyncIterator[Job | BadLine]:
        for entry in jobs_from(prompts(3)):
            yield entry
        for _ in range(10):  # q1 and q2 finish meanwhile; q0 never does
            await asyncio.sleep(0)
        raise OSError(5, "Input/output error")

    async def send(job: Job) -> Completion:
        if job.id == "q0":
            await asyncio.Event().wait()
        return answer(job)

    out = io.BytesIO()

    async def go() -> None:
        await run_batch(source(), send=by_job(send), writer=OrderedWriter(out), concurrency=4,
                        grace=0.05)

    with pytest.raises(OSError, match="Input/output"):
        asyncio.run(go())
    assert [line["id"] for line in lines_of(out.getvalue())] == ["q1", "q2"]


def test_the_summary_counts_the_engines_resends_as_retries() -> None:
    """Issue 9: "11 retries" when 314 requests were re-sent: HTTP retries inside one send
    (the engine's) were not counted. Here 10 lines are retried twice by the "engine", and
    5 lines are sent again by the runner after a transient error."""
    engine = {"retries": 7}  # re-sends before this run: not this run's
    failed_once: set[str] = set()

    async def send(job: Job) -> Completion:
        index = int(job.id[1:])
        await asyncio.sleep(0)
        if index < 10:
            engine["retries"] += 2  # two 503s, then the answer, all inside one send
        elif index < 15 and job.id not in failed_once:
            failed_once.add(job.id)
            raise TransportError("connection reset")
        return answer(job)

    out = io.BytesIO()
    seen: list[int] = []

    class Watch:
        def start(self, total: int | None) -> None: ...
        def update(self, stats: Any) -> None:
            seen.append(stats.retries)
        def finish(self, summary: Summary) -> None: ...

    async def go() -> Summary:
        return await run_batch(jobs_from(prompts(40)), send=by_job(send), writer=OrderedWriter(out),
                               concurrency=4, resends=lambda: engine["retries"],
                               progress=Watch())

    summary = asyncio.run(go())
    assert summary.sends == 45 and summary.ok == 40
    assert summary.retries == 20 + 5
    assert seen[-1] == 25 and seen == sorted(seen)


def test_a_retry_is_a_re_send_not_a_requeued_follower() -> None:
    """Four identical lines share one request; it fails with a 503 and all four go back
    to the queue; the next attempt is ONE request: one retry, not four."""
    sends: list[str] = []

    async def send(job: Job) -> Completion:
        sends.append(job.id)
        for _ in range(3):
            await asyncio.sleep(0)
        if len(sends) == 1:
            raise ProviderError("overloaded", status=503)
        return answer(job)

    time = FakeTime()
    rows = [{"id": f"s{i}", "prompt": "same"} for i in range(4)]
    summary, lines = run_on_fake_time(time, rows, send, key=lambda job: job.prompt)
    assert len(sends) == 2 and summary.sends == 2
    assert summary.retries == 1
    assert all(line["text"] == "answer to same" for line in lines)
