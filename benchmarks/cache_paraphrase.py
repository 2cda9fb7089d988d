"""Correct, wrong-entry and false-hit rates of the semantic cache, per embedder and threshold.

    python benchmarks/cache_paraphrase.py [--thresholds 0.80,0.86,0.88,0.90,0.91,0.92]
                                          [--margins none,0.02] [--no-sim]

Workload (the issue's): ``../shared/data/paraphrase/gptcache_mock_data.json`` (or
``$LLMX_SHARED_DATA/paraphrase/...``) holds 999 ``{origin, similar}`` pairs. The cache
stores the ``origin`` of every other pair (pairs 0, 2, 4, ...; duplicate texts once) and
is then asked every ``similar``; a query "has a match" when its own origin is stored.
A served entry is *correct* when it is the query's own origin, a *wrong entry* when the
query has a match but another entry is served, a *false hit* when the query has none.

Pipelines (``paraphrase_pipelines.py``): ``lexical`` and ``sim provider`` are today's
single-stage tier (best 5 at or above the threshold, the veto skips to the next one);
``two-stage`` is the lexical gate >= 0.5, its best 5 re-scored by the local model
(``llmx.cache.model``) and served through ``llmx.cache.rerank.choose`` (best one only,
threshold or a lexical near-duplicate, veto, optional margin); ``model alone`` ranks every
entry by the model (what an index of model vectors would do; shown for comparison). The
veto is on everywhere.

Probes (``paraphrase_probes.py``): each hard-negative pair is tried both ways (store one,
ask the other: any hit is wrong), and each same-answer rewrite once (a hit is right).
The model rows need ``pip install 'llmx[model]'``; without it they are left out, saying so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from paraphrase_pipelines import Matrix, Scores, single, two_stage
from paraphrase_probes import PROBES, SAME

from llmx.cache.embed import LexicalEmbedder, ProviderEmbedder
from llmx.cache.rerank import DEFAULT_MARGIN, DEFAULT_NEAR, DEFAULT_THRESHOLD
from llmx.cache.veto import veto_reason

REPO = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.80, 0.86, 0.88, 0.90, 0.91, 0.92)
LEXICAL_THRESHOLDS = (0.85, 0.92)
ANCHOR = ("GPTCache's own run on these pairs (stored all 999, queried all 999, its own "
          "embedding + evaluation): at 0.95, 425 correct / 25 wrong; at 0.90, 804 correct / "
          "77 wrong. Not the same protocol: every query had a match there.")

# (query index, query text) -> served entry index or None, for one stored set
Serve = Callable[[int, str], int | None]


class Workload(NamedTuple):
    stored: list[str]          # entry texts; the key of entry i is str(i)
    queries: list[str]
    truth: list[int | None]    # index of each query's own origin among stored, if stored

    @property
    def matched(self) -> int:
        return sum(t is not None for t in self.truth)


class Space(NamedTuple):
    """One embedder's view of a workload: cosines and which texts it saw whole."""

    lexical: Matrix
    model: Scores | None


class Row(NamedTuple):
    pipeline: str
    threshold: float
    margin: float | None
    near: float | None
    correct: int
    wrong: int
    unmatched: int
    probes: int
    same: int


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


def probe_workloads() -> tuple[list[Workload], list[Workload]]:
    """One-entry workloads: every probe both ways (no match), every rewrite (a match)."""
    wrong = [Workload([a], [b], [None]) for _, x, y in PROBES for a, b in ((x, y), (y, x))]
    same = [Workload([a], [b], [0]) for a, b in SAME]
    return wrong, same


class Embedders(NamedTuple):
    lexical: Callable[[Sequence[str]], Matrix]
    model: Callable[[Sequence[str]], tuple[Matrix, list[bool]]] | None


def space(work: Workload, embed: Embedders) -> Space:
    lexical = embed.lexical(work.queries) @ embed.lexical(work.stored).T
    if embed.model is None:
        return Space(lexical, None)
    queries, query_whole = embed.model(work.queries)
    stored, entry_whole = embed.model(work.stored)
    return Space(lexical, Scores(queries @ stored.T, query_whole, entry_whole))


def memo_veto() -> Callable[[str, str], bool]:
    seen: dict[tuple[str, str], bool] = {}

    def veto(query: str, prompt: str) -> bool:
        if (query, prompt) not in seen:
            seen[(query, prompt)] = veto_reason(query, prompt) is not None
        return seen[(query, prompt)]

    return veto


def count(work: Workload, serve: Serve) -> tuple[int, int, int]:
    """(correct, wrong entry, false hit on an unmatched query)."""
    correct = wrong = unmatched = 0
    for i, text in enumerate(work.queries):
        hit = serve(i, text)
        if hit is None:
            continue
        if work.truth[i] is None:
            unmatched += 1
        elif hit == work.truth[i]:
            correct += 1
        else:
            wrong += 1
    return correct, wrong, unmatched


Pipeline = Callable[[Workload, Space], Serve]


def pipelines(thresholds: Sequence[float], margins: Sequence[float | None],
              with_model: bool) -> Iterator[tuple[str, float, float | None, float | None,
                                                  Pipeline]]:
    veto = memo_veto()
    for t in LEXICAL_THRESHOLDS:
        yield "lexical", t, None, None, lambda w, s, t=t: (
            lambda i, q: single(i, q, s.lexical, w.stored, threshold=t, veto=veto))
    if not with_model:
        return
    for t in (0.88, 0.90):
        yield "model alone", t, None, None, lambda w, s, t=t: (
            lambda i, q: single(i, q, _model(s).cosines, w.stored, threshold=t, veto=veto))
    variants = [(m, None) for m in margins] + [(DEFAULT_MARGIN, DEFAULT_NEAR)]
    for m, near in variants:
        for t in thresholds:
            yield "two-stage", t, m, near, lambda w, s, t=t, m=m, near=near: (
                lambda i, q: two_stage(i, q, s.lexical, _model(s), w.stored, threshold=t,
                                       margin=m, veto=veto, near=near))


def _model(s: Space) -> Scores:
    assert s.model is not None
    return s.model


def evaluate(work: Workload, embed: Embedders, thresholds: Sequence[float],
             margins: Sequence[float | None]) -> list[Row]:
    main = space(work, embed)
    wrong_probes, same_probes = probe_workloads()
    wrong_spaces = [space(w, embed) for w in wrong_probes]
    same_spaces = [space(w, embed) for w in same_probes]
    rows = []
    for name, t, m, near, pipeline in pipelines(thresholds, margins, embed.model is not None):
        correct, wrong, unmatched = count(work, pipeline(work, main))
        probes = sum(sum(count(w, pipeline(w, s))) for w, s in zip(wrong_probes, wrong_spaces,
                                                                    strict=True))
        same = sum(count(w, pipeline(w, s))[0] for w, s in zip(same_probes, same_spaces,
                                                               strict=True))
        rows.append(Row(name, t, m, near, correct, wrong, unmatched, probes, same))
    return rows


def table(rows: Sequence[Row], work: Workload) -> str:
    total, matched = len(work.queries), work.matched
    unmatched_total = total - matched
    lines = [
        "| pipeline | threshold | margin | near-duplicate | correct (of matched) | "
        "wrong entry (of all) | false hit (of all; of unmatched) | wrong + false (of all) | "
        "probes served | rewrites served |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        bad = r.wrong + r.unmatched
        margin = "-" if r.margin is None else f"{r.margin:.2f}"
        default = (r.pipeline == "two-stage" and r.threshold == DEFAULT_THRESHOLD
                   and r.margin == DEFAULT_MARGIN and r.near == DEFAULT_NEAR)
        near = "-" if r.near is None else f"lexical >= {r.near:.2f}"
        name = r.pipeline + (" (default)" if default else "")
        lines.append(
            f"| {name} | {r.threshold:.2f} | {margin} | {near} | {r.correct / matched:.1%} | "
            f"{r.wrong / total:.1%} | {r.unmatched / total:.1%}; "
            f"{r.unmatched / unmatched_total:.1%} | {bad / total:.1%} | "
            f"{_of(r.probes, 2 * len(PROBES))} | {_of(r.same, len(SAME))} |")
    return "\n".join(lines)


def veto_on_true_pairs(work: Workload) -> str:
    reasons: dict[str, int] = {}
    for query, truth in zip(work.queries, work.truth, strict=True):
        reason = None if truth is None else veto_reason(query, work.stored[truth])
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    detail = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "none"
    return (f"The veto blocks {sum(reasons.values())} of the {work.matched} true (query, own "
            f"origin) pairs ({detail}).")


def _of(served: int, total: int) -> str:
    return "-" if served < 0 else f"{served} of {total}"


def model_embed() -> tuple[Callable[[Sequence[str]], tuple[Matrix, list[bool]]] | None, str]:
    from llmx.cache.model import ModelUnavailable, load_model

    start = time.perf_counter()
    try:
        model = load_model()
    except ModelUnavailable as exc:
        return None, f"model rows left out: {exc}"
    loaded = time.perf_counter() - start
    short = "How do I reverse a list in Python?"
    model.embed([short])
    start = time.perf_counter()
    for _ in range(20):
        model.embed([short])
    per_query = (time.perf_counter() - start) / 20

    def embed(texts: Sequence[str]) -> tuple[Matrix, list[bool]]:
        parts = [model.embed_checked(texts[i : i + 64]) for i in range(0, len(texts), 64)]
        return (np.concatenate([p[0] for p in parts]),
                [w for p in parts for w in p[1]])

    return embed, (f"model {model.name}: loaded in {loaded * 1000:.0f} ms (sha256 checks "
                   f"included), a short query embeds in {per_query * 1000:.1f} ms")


async def sim_rows(work: Workload, thresholds: Sequence[float]) -> list[Row]:
    """The simulator's hashed 'embeddings' through ProviderEmbedder (not a real model)."""
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
        stored = await embedder.aembed(work.stored)
        queries = await embedder.aembed(work.queries)
    cos, veto = queries @ stored.T, memo_veto()
    return [Row("sim provider", t, None, None, *count(work, lambda i, q, t=t: single(
        i, q, cos, work.stored, threshold=t, veto=veto)), -1, -1) for t in thresholds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default=",".join(f"{t:.2f}" for t in THRESHOLDS))
    parser.add_argument("--margins", default="none,0.02")
    parser.add_argument("--no-sim", action="store_true", help="skip the simulator embedder")
    args = parser.parse_args()
    thresholds = sorted(float(t) for t in args.thresholds.split(","))
    margins = [None if m == "none" else float(m) for m in args.margins.split(",")]
    work = load_workload(data_dir() / "paraphrase" / "gptcache_mock_data.json")
    print(f"{len(work.stored)} entries stored, {len(work.queries)} queries, "
          f"{work.matched} with a true match, {len(work.queries) - work.matched} without; "
          f"{len(PROBES)} hard-negative probe pairs, {len(SAME)} same-answer rewrites.")
    model, note = model_embed()
    print(note)
    lexical = LexicalEmbedder()
    rows = evaluate(work, Embedders(lexical.embed, model), thresholds, margins)
    if not args.no_sim:
        rows += asyncio.run(sim_rows(work, LEXICAL_THRESHOLDS))
    print()
    print(table(rows, work))
    print()
    print("Veto is on in every row. " + veto_on_true_pairs(work))
    print(ANCHOR)


if __name__ == "__main__":
    main()
