"""``run_bench``: start the target, run every measurement, build the rows."""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from llmx.bench import measure as m
from llmx.bench import paired as pr
from llmx.bench import workload as w
from llmx.bench.model import BenchOptions, BenchResult
from llmx.bench.rows import build_rows
from llmx.bench.target import baseline_profile, real_profile, sim_profile, simulators
from llmx.config.profile import Profile
from llmx.engine import Client
from llmx.paths import records_dir
from llmx.prepare import Call
from llmx.records import RecordLog

Progress = Callable[[str], None]
STARTUP_RUNS = 5


@dataclass(slots=True)
class Raw:
    """Every figure the rows are built from."""

    simple_base: m.Timed
    simple_opt: m.Timed
    complex_base: m.Timed
    complex_opt: m.Timed
    mix: m.MixOutcome
    levels_base: list[m.Level]
    levels_opt: list[m.Level]
    ttft_base: m.Timed
    ttft_opt: m.Timed
    ttft_cached: m.Timed
    conservative: m.Reduction
    aggressive: m.Reduction
    lookup_ms: list[float]
    startup_ms: float
    python_ms: float
    cold_ms: float  # the optimised side's first request (opens the cache), not in any row


def run_bench(options: BenchOptions, *, progress: Progress | None = None,
              env: Mapping[str, str] | None = None) -> BenchResult:
    """Measure everything against the simulator in its own process, in a temp LLMX_HOME."""
    say = progress or (lambda _text: None)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="llmx-bench-") as home:
        run_env = {**(os.environ if env is None else env), "LLMX_HOME": home}
        if options.profile is not None:
            profile = real_profile(options.profile, options.max_tokens)
            base = baseline_profile(profile)
            raw = asyncio.run(_measure(options, profile, base, run_env, say))
        else:
            say("starting the simulators")
            # Twins: one per side, same seed, so the i-th request of each side gets the same
            # simulated latency (jitter) and a latency row compares the clients alone.
            with simulators(options.model, options.seed, 2) as (url_b, url_o):
                profile = sim_profile(url_o, options.max_tokens)
                base = baseline_profile(sim_profile(url_b, options.max_tokens))
                raw = asyncio.run(_measure(options, profile, base, run_env, say))
        say("timing CLI start-up")
        raw.startup_ms, raw.python_ms = startup(run_env)
    rows = build_rows(raw, options)
    return BenchResult(
        date=datetime.now(UTC).isoformat(timespec="seconds"), machine=machine(),
        target=_target(options),
        workload=w.declare(options.mix_size, options.complex_samples, options.log_lines,
                           options.samples, options.max_tokens),
        targets=options.targets, price=options.price,
        duration_s=time.perf_counter() - started, rows=rows)


def _target(options: BenchOptions) -> dict[str, object]:
    if options.profile is not None:
        p = options.profile
        return {"kind": f"profile {p.name!r}", "provider": p.provider, "model": p.model}
    return {"kind": "embedded simulator (own process)", "latency_model": asdict(options.model)}


async def _measure(o: BenchOptions, profile: Profile, base: Profile,
                   env: Mapping[str, str], say: Progress) -> Raw:
    """Every measurement. Both sides send the same number of requests, in the same order, up
    to the cache mix, so twin simulators stay in step for every latency row."""
    async with Client(profile, env=env) as client:
        say("warming up both sides")
        await m.fresh(base, "warm-up: the same first request on the baseline side", Call(), env)
        started = time.perf_counter()
        await client.generate("warm-up: open the pooled connection and the cache", Call())
        cold_ms = (time.perf_counter() - started) * 1000.0
        gc.collect()
        gc.freeze()  # what both sides have loaded is never scanned again: no long pauses
        try:
            raw = await _phases(o, random.Random(o.seed), client, base, env, say)
        finally:
            gc.unfreeze()
    raw.cold_ms = cold_ms
    # the look-up times, as the optimised client's records log has them (written on close)
    found = pr.lookups_from(RecordLog(records_dir(env)).read())
    raw.simple_opt = pr.with_lookups(raw.simple_opt, found)
    raw.ttft_opt = pr.with_lookups(raw.ttft_opt, found)
    raw.complex_opt = pr.with_lookups(raw.complex_opt, found)
    return raw


async def _phases(o: BenchOptions, rng: random.Random, client: Client, base: Profile,
                  env: Mapping[str, str], say: Progress) -> Raw:
    plain, short = Call(), Call(max_tokens=2)
    say("simple requests")
    simple = w.fresh_prompts(o.samples, rng, "so")
    simple_b, simple_o = await _both(w.fresh_prompts(o.samples, rng, "sb"), simple,
                                     plain, plain, client, base, env)
    say("complex requests")
    complex_prompts = w.complex_prompts(o.complex_samples, o.log_lines, rng)
    complex_b, complex_o = await _both(complex_prompts, complex_prompts, plain,
                                       Call(compress="aggressive", no_cache=True),
                                       client, base, env)
    say("streaming TTFT")
    ttft_prompts = w.fresh_prompts(o.samples, rng, "tt")
    ttft_b, ttft_o = await _both(ttft_prompts, ttft_prompts, short, short, client, base,
                                 env, stream=True)
    ttft_c = await m.sequential(ttft_prompts, short, client=client, baseline=base, env=env,
                                stream=True)
    say("cache mix")
    mix = await m.run_mix(client, w.cache_mix(o.mix_size, rng), plain)
    say("concurrency")
    many = w.fresh_prompts(max(o.levels), rng, "cc")
    nocache = Call(no_cache=True)
    levels_b = await m.concurrency(many, o.levels, nocache, client=None, baseline=base,
                                   env=env)
    levels_o = await m.concurrency(many, o.levels, nocache, client=client, baseline=base,
                                   env=env)
    say("token reduction and cache lookups")
    cons = m.reduction(client, complex_prompts, "conservative")
    aggr = m.reduction(client, complex_prompts, "aggressive")
    looked = m.lookups(client, simple, max(1, 200 // o.samples))
    return Raw(simple_b, simple_o, complex_b, complex_o, mix, levels_b, levels_o, ttft_b,
               ttft_o, ttft_c, cons, aggr, looked, 0.0, 0.0, 0.0)


async def _both(base_prompts: list[str], opt_prompts: list[str], base_call: Call,
                opt_call: Call, client: Client, base: Profile, env: Mapping[str, str], *,
                stream: bool = False) -> tuple[m.Timed, m.Timed]:
    """Baseline and optimised requests in turn, the first of each pair alternating (b1 o1
    o2 b2 b3 o3 ...), each side against its own twin simulator (its i-th request gets the
    same simulated latency as the other side's), so a slow moment of the machine touches
    both sides alike; each request split into its parts (``llmx.bench.paired``)."""
    b, o = m.Timed(), m.Timed()
    for i, (base_prompt, opt_prompt) in enumerate(zip(base_prompts, opt_prompts, strict=True)):
        for first in ((True, False) if i % 2 == 0 else (False, True)):
            if first:
                b.add(await pr.baseline(base, base_prompt, base_call, env, stream=stream))
            else:
                o.add(await pr.optimised(client, opt_prompt, opt_call, stream=stream))
    return b, o


def startup(env: Mapping[str, str]) -> tuple[float, float]:
    """Median wall ms of ``python -m llmx --version`` and of ``python -c pass``."""
    def median(argv: list[str]) -> float:
        times = []
        for _ in range(STARTUP_RUNS):
            started = time.perf_counter()
            subprocess.run(argv, env=dict(env), capture_output=True, check=True)
            times.append((time.perf_counter() - started) * 1000.0)
        return statistics.median(times)

    return (median([sys.executable, "-m", "llmx", "--version"]),
            median([sys.executable, "-c", "pass"]))


def machine() -> dict[str, object]:
    return {"platform": platform.platform(), "cpus": os.cpu_count(),
            "python": platform.python_version()}
