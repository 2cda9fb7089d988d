"""Latency pairs: one request per side in turn, each split into the parts its caller waits for.

Baseline: a new state-less Client per request — set up, prepare, the provider call over a
new connection, close. Optimised: the one pooled Client — prepare (with compression), the
cache look-up, the provider call, the cache store and the record. Every part is timed here
or reported by the library itself (the Completion's latency and time to first token; the
look-up's time from the records log), and the part after the last chunk is what is left of
the wall time, so the parts of one request add up to its wall time exactly.

Between two requests (outside both timers) the event loop is given one turn, in which work
a side scheduled after handing over its answer runs (the cache's grouped disk write); its
time is kept as ``idle_ms``, so the note can say what was moved off the request's path.
Then the young garbage is collected (``gc.collect(1)``), so that a collection during a
request is one its own allocations caused, not the other side's.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from llmx.config.profile import Profile
from llmx.engine import Client
from llmx.prepare import Call
from llmx.records import Record
from llmx.types import Completion


@dataclass(frozen=True, slots=True)
class Sample:
    """One request's wall time and its parts (ms). ``wall = setup + prepare + call + after``;
    ``call`` is the Completion's latency (the look-up, then the provider call)."""

    wall_ms: float
    setup_ms: float  # baseline: a new Client, entered (a new connection pool); optimised: 0
    prepare_ms: float  # Client.plan: options, compression, fitting, token counts, keys
    call_ms: float  # from the stream() call to the last chunk, as the Completion says
    after_ms: float  # after the last chunk: baseline closes its client; optimised stores
    ttft_ms: float | None  # as the caller saw it: setup + prepare + the Completion's TTFT
    completion: Completion
    idle_ms: float = 0.0  # the loop turn after the request, outside its wall time
    lookup_ms: float = 0.0  # the cache look-up inside ``call_ms`` (from the records log)

    @property
    def provider_ms(self) -> float:
        """The provider call as the client waits for it: ``call`` without the look-up."""
        return self.call_ms - self.lookup_ms


@dataclass(slots=True)
class Timed:
    """One side's requests of a phase, in order."""

    wall_ms: list[float] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)
        self.wall_ms.append(sample.wall_ms)
        self.completions.append(sample.completion)


def _sample(started: float, setup: float, prepared: float, done: float,
            completion: Completion) -> Sample:
    wall = (done - started) * 1000.0
    setup_ms, prepare_ms = (setup - started) * 1000.0, (prepared - setup) * 1000.0
    call = completion.latency_ms
    ttft = None if completion.ttft_ms is None else setup_ms + prepare_ms + completion.ttft_ms
    return Sample(wall, setup_ms, prepare_ms, call, wall - setup_ms - prepare_ms - call, ttft,
                  completion)


async def _collect(client: Client, prompt: str, call: Call, stream: bool
                   ) -> tuple[float, Completion]:
    plan = client.plan(prompt, call, stream=stream)
    prepared = time.perf_counter()
    return prepared, await client.stream(plan, wire_stream=stream).collect()


async def baseline(profile: Profile, prompt: str, call: Call, env: Mapping[str, str], *,
                   stream: bool) -> Sample:
    """One request on a new state-less Client (new connection, no cache), closed after."""
    started = time.perf_counter()
    client = Client(profile, env=env, state=False)
    async with client:
        setup = time.perf_counter()
        prepared, completion = await _collect(client, prompt, call, stream)
    return _idle(_sample(started, setup, prepared, time.perf_counter(), completion),
                 await _turn())


async def optimised(client: Client, prompt: str, call: Call, *, stream: bool) -> Sample:
    """One request on the pooled Client with its cache."""
    started = time.perf_counter()
    prepared, completion = await _collect(client, prompt, call, stream)
    return _idle(_sample(started, started, prepared, time.perf_counter(), completion),
                 await _turn())


async def _turn() -> float:
    """One turn of the event loop (ms): what was scheduled for after the answer runs; then
    the young generations' garbage is collected (not timed)."""
    started = time.perf_counter()
    await asyncio.sleep(0)
    idle = (time.perf_counter() - started) * 1000.0
    gc.collect(1)
    return idle


def _idle(sample: Sample, idle_ms: float) -> Sample:
    return replace(sample, idle_ms=idle_ms)


def with_lookups(timed: Timed, lookups: Mapping[float, float]) -> Timed:
    """``timed`` with each sample's look-up time, found by its Completion's latency in
    ``lookups`` (latency_ms -> lookup_ms, from the records log); unmatched stay 0."""
    out = Timed()
    for sample in timed.samples:
        out.add(replace(sample, lookup_ms=lookups.get(sample.completion.latency_ms, 0.0)))
    return out


def lookups_from(records: Iterable[Record]) -> dict[float, float]:
    """latency_ms -> lookup_ms of the records log's lines."""
    return {record.latency_ms: record.lookup_ms for record in records}
