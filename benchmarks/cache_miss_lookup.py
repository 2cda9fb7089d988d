"""A semantic-tier miss look-up that has candidates, against the exact-tier look-up, in one run.

    python benchmarks/cache_miss_lookup.py [--prompts 60] [--seeded 60] [--gap 0.3] [--rounds 3]
                                           [--distinct]

Workload (issue 10's budget): ``llmx bench``'s distinct short prompts
(``llmx.bench.workload.fresh_prompts``), sent one after another to one ``TieredCache`` in
an event loop, as a Client does: look up (exact, then the lexical row and the semantic tier),
then save the answer, then ``--gap`` seconds of waiting for the next request (the store's
grouped flush runs on the loop's next turn; with a gap over ``Grouping.max_age`` every
answer is flushed before the next look-up, the case where the gate has a new row of this
process to index). ``--seeded`` answers from another process's run are stored first
(their case numbers follow the prompts' own, as another run's would). Every prompt shares
its wording with stored ones and differs by its case number, so the gate finds
candidates and the veto refuses each one (a miss; the model is never asked). ``--distinct``:
prompts of made-up words instead, which share no word with anything stored (a miss whose
gate finds no candidate: the query's lexical row is then made by the store, after the answer,
not by the look-up). The look-up and the save follow the engine's steps (``llmx.steps``).

Printed per round: the exact tier's look-up mean (the same-run baseline), the whole look-up's
mean and p95 with candidates, their ratio, the share of look-ups that had candidates, and
the SQL statements per look-up (traced on every connection the cache opened).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from llmx.bench.workload import fresh_prompts
from llmx.cache.tiers import TieredCache
from llmx.config.settings import CacheSettings
from llmx.types import Completion, Message, Request

SEED = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from cache_miss_lookup import Message, Request, answer, open_cache
cache = open_cache(Path(sys.argv[1]))
for prompt in sys.argv[2].split("\\n"):
    keys = cache.keys(Request(model="m", messages=(Message("user", prompt),)))
    request, done = answer(prompt)
    cache.save(keys, request, done, ())
cache.close()
"""


def open_cache(directory: Path) -> TieredCache:
    def factory() -> Any:
        from llmx.cache.embed import LexicalEmbedder

        return LexicalEmbedder()

    return TieredCache(CacheSettings(semantic=True), directory, provider="openai",
                       endpoint="http://127.0.0.1:1/v1", embedder=factory)


def answer(prompt: str) -> tuple[Request, Completion]:
    request = Request(model="m", messages=(Message("user", prompt),))
    return request, Completion(text=f"an answer to {prompt}", model="m", provider="openai")


class Statements:
    """Counts the SQL statements run on the connections the cache has opened."""

    def __init__(self) -> None:
        self.count = 0
        self._traced: set[int] = set()

    def attach(self, cache: TieredCache) -> None:
        connections = [getattr(db, "_con", None)
                       for db in cache.store._dbs._open.values()]
        gate = getattr(cache, "_lexical", None)
        connections.append(None if gate is None else getattr(gate, "_db", None))
        for connection in connections:
            if connection is not None and id(connection) not in self._traced:
                self._traced.add(id(connection))
                connection.set_trace_callback(self._one)

    def _one(self, _statement: str) -> None:
        self.count += 1


async def run(directory: Path, prompts: list[str], gap: float) -> dict[str, float]:
    cache = open_cache(directory)
    cache.warm()
    traced = Statements()
    exact_ms: list[float] = []
    whole_ms: list[float] = []
    statements: list[int] = []
    with_candidates = 0
    for prompt in prompts:
        traced.attach(cache)
        before = traced.count
        keys = cache.keys(Request(model="m", messages=(Message("user", prompt),)))
        start = time.perf_counter()
        hit = cache.exact(keys)
        middle = time.perf_counter()
        vector = None if cache.gated else cache.query_vector(keys)  # as ``steps.look_up``
        found = cache.semantic(keys, vector)
        end = time.perf_counter()
        statements.append(traced.count - before)
        if hit is not None or found is not None:
            print("hit:", prompt, "->", (hit or found).entry.prompt)
        with_candidates += bool(cache.candidates(keys, gate=0.5))
        exact_ms.append((middle - start) * 1000)
        whole_ms.append((end - start) * 1000)
        request, done = answer(prompt)
        cache.save(keys, request, done, (), vector=vector)
        await asyncio.sleep(gap)  # the request's network time: the scheduled flush runs
    cache.close()
    ordered = sorted(whole_ms)
    return {"exact": statistics.mean(exact_ms), "mean": statistics.mean(whole_ms),
            "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "candidates": with_candidates / len(prompts),
            "statements": statistics.mean(statements)}


def made_up(count: int, rng: random.Random) -> list[str]:
    """Questions of eight made-up words each: no word is shared with any stored prompt."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [" ".join("".join(rng.choice(letters) for _ in range(rng.randint(4, 9)))
                     for _ in range(8)) + "?" for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=60)
    parser.add_argument("--seeded", type=int, default=60)
    parser.add_argument("--gap", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--distinct", action="store_true",
                        help="prompts that share no word with the stored ones")
    args = parser.parse_args()
    for number in range(args.rounds):
        rng = random.Random(number)
        with tempfile.TemporaryDirectory() as tmp:
            seeded = fresh_prompts(args.prompts + args.seeded, rng, "seed")[args.prompts:]
            subprocess.run([sys.executable, "-c", SEED, tmp, "\n".join(seeded),
                            str(Path(__file__).parent)], check=True)
            asked = (made_up(args.prompts, rng) if args.distinct
                     else fresh_prompts(args.prompts, rng, "opt"))
            out = asyncio.run(run(Path(tmp), asked, args.gap))
        kind = "without a candidate" if args.distinct else "with candidates"
        print(f"round {number + 1}: exact tier {out['exact']:.3f} ms mean (baseline); whole "
              f"look-up {kind} {out['mean']:.3f} ms mean, {out['p95']:.3f} ms p95 "
              f"({out['mean'] / out['exact']:.1f}x the exact tier); "
              f"{out['candidates'] * 100:.0f} % of look-ups had candidates; "
              f"{out['statements']:.1f} SQL statements per look-up")


if __name__ == "__main__":
    main()
