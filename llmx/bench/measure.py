"""The measurements: each drives real requests at the target and returns raw figures.

Baseline = a fresh state-less Client per request (new connection, no cache, no compression);
optimised = the one pooled Client (cache + compression) passed in. The paired latency rows
are measured by ``llmx.bench.paired``.
"""


from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llmx.bench.paired import Timed
from llmx.bench.workload import NEW, PARAPHRASE, MixItem
from llmx.config.profile import Profile
from llmx.engine import Client
from llmx.prepare import Call
from llmx.types import Completion

__all__ = ["Level", "MixOutcome", "Reduction", "Timed", "concurrency", "fresh", "lookups",
           "percentile", "reduction", "run_mix", "sequential"]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100.0 * len(ordered)) - 1))
    return ordered[rank]


async def fresh(profile: Profile, prompt: str, call: Call, env: Mapping[str, str], *,
                stream: bool = False) -> Completion:
    """One request on a new Client (so a new connection), with no state."""
    async with Client(profile, env=env, state=False) as client:
        return await _one(client, prompt, call, stream)


async def _one(client: Client, prompt: str, call: Call, stream: bool) -> Completion:
    if not stream:
        return await client.generate(prompt, call)
    return await client.stream(prompt, call).collect()


async def sequential(prompts: Sequence[str], call: Call, *, client: Client | None,
                     baseline: Profile, env: Mapping[str, str], stream: bool = False) -> Timed:
    """Send one after another; wall time per request (client set-up included for baseline)."""
    out = Timed()
    for prompt in prompts:
        started = time.perf_counter()
        if client is None:
            completion = await fresh(baseline, prompt, call, env, stream=stream)
        else:
            completion = await _one(client, prompt, call, stream)
        out.wall_ms.append((time.perf_counter() - started) * 1000.0)
        out.completions.append(completion)
    return out


@dataclass(frozen=True, slots=True)
class MixOutcome:
    hits: int
    false_hits: int
    requests: int
    exact_hits: int
    semantic_hits: int
    tokens_all: tuple[int, int]  # input, output as if every request had been sent
    tokens_sent: tuple[int, int]  # input, output of the requests that reached the provider
    paraphrases: int = 0  # paraphrase items sent
    paraphrase_hits: int = 0  # of those, hits that returned their origin's answer


async def run_mix(client: Client, waves: Sequence[Sequence[MixItem]], call: Call) -> MixOutcome:
    """Send the cache mix wave by wave (each wave concurrently); judge every hit."""
    answers: dict[str, str] = {}
    hits = false_hits = exact = semantic = paraphrases = paraphrase_hits = 0
    all_in = all_out = sent_in = sent_out = 0
    for wave in waves:
        done = await asyncio.gather(*(client.generate(item.prompt, call) for item in wave))
        for item, completion in zip(wave, done, strict=True):
            usage = completion.usage
            all_in += usage.input_tokens
            all_out += usage.output_tokens
            paraphrases += item.label == PARAPHRASE
            if completion.cached:
                hits += 1
                exact += completion.cached == "exact"
                semantic += completion.cached == "semantic"
                false = _false(item, completion, answers)
                false_hits += false
                paraphrase_hits += item.label == PARAPHRASE and not false
            else:
                sent_in += usage.input_tokens
                sent_out += usage.output_tokens
            if item.label == NEW:
                answers[item.prompt] = completion.text
    return MixOutcome(hits, false_hits, sum(len(w) for w in waves), exact, semantic,
                      (all_in, all_out), (sent_in, sent_out), paraphrases, paraphrase_hits)


def _false(item: MixItem, completion: Completion, answers: Mapping[str, str]) -> bool:
    """A hit is false for a new prompt, or when it returns another prompt's answer."""
    if item.label == NEW or item.original is None:
        return True
    return answers.get(item.original) != completion.text


@dataclass(frozen=True, slots=True)
class Level:
    level: int
    errors: int
    throughput: float  # requests per second


async def concurrency(prompts: Sequence[str], levels: Sequence[int], call: Call, *,
                      client: Client | None, baseline: Profile, env: Mapping[str, str]
                      ) -> list[Level]:
    """Each level: that many requests at once; stops after the first level with errors."""
    out: list[Level] = []
    for level in levels:
        batch = prompts[:level]
        started = time.perf_counter()
        if client is None:
            tasks = [fresh(baseline, p, call, env) for p in batch]
        else:
            tasks = [client.generate(p, call) for p in batch]
        done = await asyncio.gather(*tasks, return_exceptions=True)
        wall = time.perf_counter() - started
        errors = sum(isinstance(d, BaseException) for d in done)
        out.append(Level(level, errors, len(batch) / wall if wall > 0 else 0.0))
        if errors:
            break
    return out


@dataclass(frozen=True, slots=True)
class Reduction:
    before: int
    after: int
    ids_kept: float  # share of ERROR request ids still present after compression


_ERROR_ID = re.compile(r"ERROR \[\w+\] request (\d+) failed")


def reduction(client: Client, prompts: Sequence[str], mode: str) -> Reduction:
    before = after = kept = total = 0
    for prompt in prompts:
        prepared = client.prepare(prompt, Call(compress=mode))
        before += prepared.tokens_before or 0
        after += prepared.tokens_after or 0
        text = prepared.request.messages[-1].content
        ids = _ERROR_ID.findall(prompt)
        total += len(ids)
        kept += sum(i in text for i in ids)
    return Reduction(before, after, kept / total if total else 1.0)


def lookups(client: Client, prompts: Sequence[str], rounds: int) -> list[float]:
    """Exact-tier lookup times (ms) for prompts already in the cache."""
    out: list[float] = []
    plans = [client.plan(prompt, stream=False) for prompt in prompts]  # prepared once
    for _ in range(rounds):
        for plan in plans:
            completion = client.lookup(plan)
            if completion is not None and completion.cached == "exact":
                out.append(completion.latency_ms)
    return out
