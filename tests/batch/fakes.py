"""Fakes for batch tests: fake time, completions, JSONL inputs and outputs."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterable
from typing import Any

from llmx.batch.jobs import BadLine, Job, read_jobs
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
