"""Issue 11's acceptance protocol through `llmx batch --semantic`, end to end.

    python benchmarks/semantic_batch.py [--jobs 50] [--pairs PATH]

GPTCache's pairs (``../shared/data/paraphrase/gptcache_mock_data.json``, or
``$LLMX_SHARED_DATA``): one `llmx batch --semantic` run stores every other ``origin``
(cache read-write), a second asks every ``similar`` with the cache read-only, so a query
can only be answered by a stored origin (as in GPTCache's own benchmark), both against the
embedded simulator in a fresh ``$LLMX_HOME``. A served answer is scored by whose answer it
is: its own origin's (correct), another stored origin's (wrong entry), or any answer to a
query whose origin was not stored (false hit). Printed against the budgets: >= 55 % correct
of the queries with a match, <= 4 % wrong entry + false of all queries. The embedder is
whatever ``cache.embedder = "auto"`` gives on this install (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROFILE = """default_profile = "bench"
[profiles.bench]
provider = "openai"
model = "sim-1"
base_url = "embedded"
[profiles.bench.cache]
mode = "{mode}"
"""


def pairs_path(given: str | None) -> Path:
    if given:
        return Path(given)
    root = Path(os.environ.get("LLMX_SHARED_DATA", Path(__file__).parents[2] / "shared/data"))
    return root / "paraphrase" / "gptcache_mock_data.json"


def batch(home: Path, lines: list[dict[str, str]], mode: str, jobs: int) -> list[dict]:
    """Run `llmx batch --semantic` over ``lines`` with the cache in ``mode``; the output."""
    source, out, config = home / f"{mode}.jsonl", home / f"{mode}.out.jsonl", home / f"{mode}.toml"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    config.write_text(PROFILE.format(mode=mode))
    env = {**os.environ, "LLMX_HOME": str(home / "state")}
    subprocess.run([sys.executable, "-m", "llmx", "batch", "--config", str(config),
                    str(source), "-o", str(out), "-j", str(jobs), "--semantic"],
                   env=env, check=True)
    return [json.loads(row) for row in out.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--pairs", help="the GPTCache pairs file")
    args = parser.parse_args()
    pairs = json.loads(pairs_path(args.pairs).read_text())
    from llmx.cache.model import resolve_embedder

    print(f"embedder: {resolve_embedder('auto')[0]}; {len(pairs)} pairs", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        stored = batch(home, [{"id": str(i), "prompt": p["origin"]}
                              for i, p in enumerate(pairs) if i % 2 == 0], "read-write", args.jobs)
        asked = batch(home, [{"id": str(i), "prompt": p["similar"]}
                             for i, p in enumerate(pairs)], "read", args.jobs)
    answer_of: dict[str, str] = {}
    for row in stored:
        answer_of.setdefault(pairs[int(row["id"])]["origin"], row["text"])
    origin_of = {text: origin for origin, text in answer_of.items()}
    matched = correct = wrong = false = 0
    for row in asked:
        origin = pairs[int(row["id"])]["origin"]
        matched += origin in answer_of
        if not row.get("cached"):
            continue
        served = origin_of.get(row["text"])
        if served == origin:
            correct += 1
        elif origin in answer_of:
            wrong += 1
        else:
            false += 1
    share, bad = 100 * correct / max(matched, 1), 100 * (wrong + false) / len(asked)
    print(f"queries {len(asked)}, with their origin stored {matched}")
    print(f"correct hits   {correct:4}  {share:5.1f} % of matched   "
          f"{'met' if share >= 55 else 'NOT met'} (>= 55 %)")
    print(f"wrong entry    {wrong:4}\nfalse hits     {false:4}  "
          f"wrong + false {bad:.1f} % of all   {'met' if bad <= 4 else 'NOT met'} (<= 4 %)")


if __name__ == "__main__":
    main()
