"""Fakes for batch tests: fake time, completions, JSONL inputs and outputs."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmx.batch.feed import Planned
from llmx.batch.jobs import BadLine, Job, read_jobs
from llmx.batch.runner import Send
from llmx.flight import FlightCancelled
from llmx.types import Completion, Usage


class FakeTime:
    """A clock and a sleep that only move when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def answer(job: Job, **extra: Any) -> Completion:
    return Completion(text=f"answer to {job.prompt}", model="m", provider="fake",
                      usage=Usage(len(job.prompt or ""), 3), latency_ms=1.5, **extra)


def jsonl(rows: Iterable[dict[str, Any] | str]) -> bytes:
    return b"".join((row if isinstance(row, str) else json.dumps(row)).encode() + b"\n"
                    for row in rows)


def jobs_from(rows: Iterable[dict[str, Any] | str]) -> list[Job | BadLine]:
    return list(read_jobs(io.BytesIO(jsonl(rows))))


def prompts(count: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"q{i}", "prompt": f"prompt {i}"} for i in range(start, start + count)]


def lines_of(data: bytes) -> list[dict[str, Any]]:
    assert data == b"" or data.endswith(b"\n"), "the output ends in a torn line"
    return [json.loads(line) for line in data.splitlines()]


def by_job(send: Callable[[Job], Awaitable[Completion]]) -> Send:
    """A runner ``send`` from a fake that needs only the job (no plan)."""
    return lambda job, plan: send(job)


@dataclass(frozen=True)
class FakePlan:
    key: str


class FakeFlights:
    """The Client's side of a run, over a fake ``send(job)``: ``plan`` (its key is
    ``key(job)``), ``shared`` and ``send``, where identical keys in flight share one call of
    the fake, as a Client's single flight (``llmx.flight``) does: a send registers its key
    when it is called, followers get the leader's answer or error."""

    def __init__(self, send: Callable[[Job], Awaitable[Completion]],
                 key: Callable[[Job], str | None]) -> None:
        self._send, self._key = send, key
        self._flying: dict[str, asyncio.Future[Completion]] = {}
        self.joined = 0

    def options(self) -> dict[str, Any]:
        return {"send": self.send, "plan": self.plan, "shared": self.shared}

    def plan(self, job: Job) -> FakePlan | None:
        key = self._key(job)
        return None if key is None else FakePlan(key)

    def shared(self, job: Job, plan: Planned) -> bool:
        return plan.key in self._flying

    def send(self, job: Job, plan: Planned | None) -> Awaitable[Completion]:
        if plan is None:
            return self._send(job)
        flying = self._flying.get(plan.key)
        if flying is not None:
            self.joined += 1
            return asyncio.shield(flying)
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._flying[plan.key] = future
        return self._lead(job, plan.key, future)

    async def _lead(self, job: Job, key: str, future: asyncio.Future[Completion]) -> Completion:
        try:
            result = await self._send(job)
        except BaseException as exc:
            future.set_exception(FlightCancelled("cancelled")
                                 if isinstance(exc, asyncio.CancelledError) else exc)
            future.exception()  # retrieved: no warning when nobody joined
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._flying[key]


def wiring(send: Callable[[Job], Awaitable[Completion]],
           key: Callable[[Job], str | None] | None = None) -> dict[str, Any]:
    """``run_batch``'s send/plan/shared for a fake ``send(job)``: with ``key``, identical
    keys in flight share one send (``FakeFlights``); without, every line is sent."""
    return {"send": by_job(send)} if key is None else FakeFlights(send, key).options()
