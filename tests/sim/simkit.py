"""Helpers for the simulator tests: run a coroutine against a fresh SimServer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from llmx.sim import SimOptions, SimServer

T = TypeVar("T")


def with_sim(fn: Callable[[SimServer], Awaitable[T]], **options: Any) -> T:
    """Start a simulator in a new event loop, run ``fn(sim)``, stop the simulator."""

    async def main() -> T:
        async with SimServer(SimOptions(**options)) as sim:
            return await fn(sim)

    return asyncio.run(main())


async def wait_for_stats(
    client: httpx.AsyncClient, ready: Callable[[dict[str, Any]], bool], limit_s: float = 5.0
) -> dict[str, Any]:
    """Poll ``/sim/stats`` until ``ready(stats)`` holds (or the limit passes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while True:
        stats: dict[str, Any] = (await client.get("/sim/stats")).json()
        if ready(stats) or loop.time() > deadline:
            return stats
        await asyncio.sleep(0.01)


def capture_body(wire: Path, name: str) -> bytes:
    return (wire / name / "response.body").read_bytes()


def capture_json(wire: Path, name: str) -> Any:
    return json.loads(capture_body(wire, name))


def sse_data(body: bytes) -> list[str]:
    """The ``data:`` payloads of an SSE body, in order."""
    out = []
    for line in body.decode().splitlines():
        if line.startswith("data:"):
            out.append(line[5:].strip())
    return out


def sse_events(body: bytes) -> list[str]:
    """The ``event:`` names of an SSE body, in order."""
    return [line[6:].strip() for line in body.decode().splitlines() if line.startswith("event:")]
