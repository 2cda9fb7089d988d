"""The lexical gate (stage 1) against brute force, in one run.

    python benchmarks/cache_gate_index.py [--sizes 10000,100000,1000000] [--queries 400]

Gate: ``llmx.cache.gate.LexicalGate`` (inverted index on disk, pure Python). Brute force:
every row of the scope scored by numpy (``LexicalEmbedder`` rows, float32 matrix @ query,
cosine >= 0.5, top 5), which is what ``VectorIndex.search`` does at a threshold under the
sign-bit prefilter's range; its first load reads today's ``.npz`` snapshot.

1. Recall on GPTCache's pairs (``$LLMX_SHARED_DATA/paraphrase/gptcache_mock_data.json``):
   store every other ``origin``, query every ``similar``; recall = brute force's
   (cosine >= 0.5, top 5) entries the gate also returns, and how often both give the same
   best entry.
2. Synthetic stores of each size, one scope (the worst case): sentences of 6-16 words
   drawn from a Zipf-Mandelbrot (rank + 50) vocabulary of 30,000 made-up words plus function words.
   Queries: half stored sentences with one word dropped and one replaced, half fresh.
   Per size: gate and brute-force p50/p99 of a query in a warm process, recall, indexing
   cost per entry, and the first query in a new process (time and RSS added, gate and
   brute force alternated, three pairs each, the median). Every figure is printed with
   the brute-force figure of the same run and their ratio.
3. Filling (``--fill`` lines, 0 to skip): CPU per line of a look-up then a write, the
   first and the last 1,000 lines and the 1,000 lines before each tenth of the fill, gate
   against today's ``VectorIndex``, with the lines that had a gate candidate (each would
   need a model score in ``batch --semantic``). CPU is the calling thread's
   (``time.thread_time``) and numpy runs one BLAS thread: with several, the BLAS threads'
   spinning after the brute force's product was counted in the gate's next line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # see 3. above; before numpy loads
import numpy as np

from llmx.cache.embed import LexicalEmbedder
from llmx.cache.gate import READ_BUDGET, LexicalGate
from llmx.cache.snapshot import Snapshot, snapshot_file, write_snapshot

GATE = 0.5
LIMIT = 5
NAME = "lexical-v1-256"
ZIPF_OFFSET = 50  # Zipf-Mandelbrot: the commonest content word is in ~1.5 % of sentences
FUNCTION = ("the", "a", "of", "to", "in", "is", "how", "what", "do", "i", "can", "for", "my")


class MemoryLog:
    """A vector log in memory: ``(seq, key, scope, LexicalEmbedder row bytes)``."""

    def __init__(self, keys: Sequence[str], scope: str, matrix: np.ndarray) -> None:
        self.keys, self.scope, self.matrix = keys, scope, matrix

    def vectors_since(self, embedder: str, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        for number in range(seq + 1, len(self.keys) + 1):
            yield number, self.keys[number - 1], self.scope, self.matrix[number - 1].tobytes()

    def vector_seq(self, embedder: str) -> int:
        return len(self.keys)


def build_gate(path: Path, texts: Sequence[str],
               matrix: np.ndarray) -> tuple[LexicalGate, float]:
    """The gate indexing every text from the log, and its cost in µs per entry."""
    keys = [f"k{i}" for i in range(len(texts))]
    prompts = dict(zip(keys, texts, strict=True))
    gate = LexicalGate(path, MemoryLog(keys, "s", matrix), lambda key, _: prompts.get(key),
                       NAME, 256)
    start = time.perf_counter()
    gate.warm()
    while gate.indexed() < len(texts):  # one catch-up indexes CATCH_UP_ROWS rows: all now
        gate.warm()
    return gate, (time.perf_counter() - start) * 1e6 / max(1, len(texts))


def brute(matrix: np.ndarray, query: np.ndarray) -> list[tuple[str, float]]:
    scores = matrix @ query
    hits = np.flatnonzero(scores >= GATE)
    if hits.size > LIMIT:
        hits = hits[np.argpartition(scores[hits], hits.size - LIMIT)[-LIMIT:]]
    order = sorted(hits.tolist(), key=lambda i: (-scores[i], f"k{i}"))
    return [(f"k{i}", float(scores[i])) for i in order]


def timed_candidates(gate: LexicalGate, query: str, budget: int) -> tuple[set[str], str, float]:
    gate.budget = budget
    start = time.perf_counter()
    mine = gate.candidates("s", query, limit=LIMIT, gate=GATE)
    ms = (time.perf_counter() - start) * 1000
    return {c.key for c in mine}, mine[0].key if mine else "", ms


def compare(gate: LexicalGate, matrix: np.ndarray, queries: Sequence[str],
            embedder: LexicalEmbedder) -> dict[str, float]:
    """Latencies (ms) of brute force and of the gate with its read budget (``gate``) and
    without (``open``), and each gate's recall of brute force's candidates."""
    found = {"gate": 0, "open": 0}
    best = {"gate": 0, "open": 0}
    ms: dict[str, list[float]] = {"gate": [], "open": [], "brute": []}
    wanted = with_any = 0
    for query in queries:
        mine = {"gate": timed_candidates(gate, query, READ_BUDGET),
                "open": timed_candidates(gate, query, 1 << 62)}
        start = time.perf_counter()
        truth = brute(matrix, embedder.embed([query])[0])
        ms["brute"].append((time.perf_counter() - start) * 1000)
        wanted += len(truth)
        with_any += bool(truth)
        for name, (keys, first, took) in mine.items():
            ms[name].append(took)
            found[name] += sum(key in keys for key, _ in truth)
            best[name] += bool(truth) and first == truth[0][0]
    out: dict[str, float] = {"queries_with_any": with_any}
    for name in ms:
        out[f"{name}_p50"], out[f"{name}_p99"] = statistics.median(ms[name]), percentile(
            ms[name], 99)
    for name in found:
        out[f"{name}_recall"] = found[name] / max(1, wanted)
        out[f"{name}_best"] = best[name] / max(1, with_any)
    return out


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def gptcache(data: Path, work: Path) -> None:
    pairs = json.loads(data.read_text())
    stored = [pair["origin"] for pair in pairs[::2]]
    queries = [pair["similar"] for pair in pairs]
    embedder = LexicalEmbedder()
    matrix = embedder.embed(stored)
    gate, _ = build_gate(work / "gpt.db", stored, matrix)
    figures = compare(gate, matrix, queries, embedder)
    gate.close()
    print(f"GPTCache pairs: {len(stored)} stored, {len(queries)} queries, "
          f"{figures['queries_with_any']} with a brute-force candidate >= {GATE}")
    print(f"  recall of brute force's top {LIMIT}: {figures['gate_recall']:.3f} "
          f"(without the read budget {figures['open_recall']:.3f}); same best entry: "
          f"{figures['gate_best']:.3f}")


def vocabulary(rng: random.Random, size: int = 30_000) -> tuple[list[str], list[float]]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    made = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(3, 10)))
                   for _ in range(size)})
    rng.shuffle(made)
    return made, list(itertools.accumulate(1.0 / (rank + ZIPF_OFFSET)
                                           for rank in range(len(made))))


def sentences(count: int, rng: random.Random, words: tuple[list[str], list[float]]) -> list[str]:
    vocab, weights = words
    out = []
    for _ in range(count):
        content = rng.choices(vocab, cum_weights=weights, k=rng.randint(5, 12))
        extra = rng.choices(FUNCTION, k=rng.randint(1, 4))
        out.append(" ".join(rng.sample(content + extra, len(content) + len(extra))))
    return out


def near(text: str, rng: random.Random, words: tuple[list[str], list[float]]) -> str:
    tokens = text.split()
    del tokens[rng.randrange(len(tokens))]
    tokens[rng.randrange(len(tokens))] = rng.choices(words[0], cum_weights=words[1])[0]
    return " ".join(tokens)


FIRST_GATE = """
import sys, time
from pathlib import Path
start_rss = int(open('/proc/self/statm').read().split()[1])
started = time.perf_counter()
from llmx.cache.gate import LexicalGate
imported = time.perf_counter()
class Log:
    def vector_seq(self, embedder): return int(sys.argv[2])
    def vectors_since(self, embedder, seq): return iter(())
gate = LexicalGate(Path(sys.argv[1]), Log(), lambda k, s: None, 'lexical-v1-256', 256)
found = gate.candidates('s', sys.argv[3], limit=5, gate=0.5)
ms = (time.perf_counter() - started) * 1000
rss = int(open('/proc/self/statm').read().split()[1]) - start_rss
print(ms, rss * 4096 / 2**20, (imported - started) * 1000, 'numpy' in sys.modules)
"""

FIRST_BRUTE = """
import sys, time
start_rss = int(open('/proc/self/statm').read().split()[1])
started = time.perf_counter()
from pathlib import Path
import numpy as np
from llmx.cache.embed import LexicalEmbedder
from llmx.cache.snapshot import read_snapshot
imported = time.perf_counter()
snap = read_snapshot(Path(sys.argv[1]), 'lexical-v1-256', 256)
query = LexicalEmbedder().embed([sys.argv[3]])[0]
scores = snap.scopes[0][2] @ query
found = np.flatnonzero(scores >= 0.5)
ms = (time.perf_counter() - started) * 1000
rss = int(open('/proc/self/statm').read().split()[1]) - start_rss
print(ms, rss * 4096 / 2**20, (imported - started) * 1000, True)
"""


def first_query(gate_path: Path, snap_dir: Path, size: int, query: str) -> list[str]:
    """Median over three alternated pairs of new processes: ms and MiB added, each way."""
    runs: dict[str, list[tuple[float, float, float]]] = {"gate": [], "brute": []}
    for _ in range(3):
        for name, code, where in (("gate", FIRST_GATE, gate_path), ("brute", FIRST_BRUTE,
                                                                      snap_dir)):
            out = subprocess.run([sys.executable, "-c", code, str(where), str(size), query],
                                 capture_output=True, text=True, check=True).stdout.split()
            runs[name].append((float(out[0]), float(out[1]), float(out[2])))
    med = {name: [statistics.median(r[i] for r in rows) for i in range(3)]
           for name, rows in runs.items()}
    (g_ms, g_mb, g_imp), (b_ms, b_mb, b_imp) = med["gate"], med["brute"]
    return [f"  first query, new process: gate {g_ms:.1f} ms (of which imports {g_imp:.1f}) "
            f"+{g_mb:.1f} MiB; brute force (numpy + .npz snapshot) {b_ms:.1f} ms (imports "
            f"{b_imp:.1f}) +{b_mb:.1f} MiB; ratio {g_ms / b_ms:.3f}x time, "
            f"{(g_ms - g_imp) / (b_ms - b_imp):.3f}x after imports, "
            f"{g_mb / max(b_mb, 0.1):.3f}x memory"]


def workload(size: int, queries: int, seed: int) -> tuple[list[str], list[str], np.ndarray]:
    """The synthetic store's texts, the queries (half near copies, half fresh) and the
    texts' lexical rows."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    texts = sentences(size, rng, words)
    asked = [near(rng.choice(texts), rng, words) for _ in range(queries // 2)]
    asked += sentences(queries - len(asked), rng, words)
    rng.shuffle(asked)
    embedder = LexicalEmbedder()
    matrix = np.concatenate([embedder.embed(texts[i : i + 10_000])
                             for i in range(0, size, 10_000)])
    return texts, asked, matrix


def synthetic(size: int, queries: int, work: Path, seed: int) -> None:
    texts, asked, matrix = workload(size, queries, seed)
    embedder = LexicalEmbedder()
    gate_path = work / f"gate-{size}.db"
    gate, insert_us = build_gate(gate_path, texts, matrix)
    figures = compare(gate, matrix, asked, embedder)
    gate.close()
    snap_dir = work / f"snap-{size}"
    write_snapshot(snap_dir, NAME, 256, Snapshot(size, f"k{size - 1}",
                                                  [("s", [f"k{i}" for i in range(size)], matrix)]))
    mib = snapshot_file(snap_dir, NAME).stat().st_size / 2**20
    print(f"{size:,} entries ({queries} queries, {figures['queries_with_any']} with a "
          f"brute-force candidate; gate file {gate_path.stat().st_size / 2**20:.0f} MiB, "
          f"snapshot {mib:.0f} MiB; indexing {insert_us:.0f} µs per entry)")
    for q in ("p50", "p99"):
        g, o, b = figures[f"gate_{q}"], figures[f"open_{q}"], figures[f"brute_{q}"]
        print(f"  {q}: gate {g:.2f} ms (without the read budget {o:.2f} ms), brute force "
              f"{b:.2f} ms; ratio {g / b:.3f}x ({o / b:.3f}x)")
    print(f"  recall of brute force's top {LIMIT}: gate {figures['gate_recall']:.3f} "
          f"(without the read budget {figures['open_recall']:.3f}); same best entry: "
          f"{figures['gate_best']:.3f} ({figures['open_best']:.3f})")
    for line in first_query(gate_path, snap_dir, size, asked[0]):
        print(line)
    gate_path.unlink()


class GrowingLog:
    """A vector log that grows (``append`` returns the seq), with ``snapshot_dir``."""

    def __init__(self, directory: Path) -> None:
        self.rows: list[tuple[int, str, str, bytes]] = []
        self.snapshot_dir = directory

    def append_vector(self, key: str, scope: str, embedder: str, vector: bytes) -> int:
        self.rows.append((len(self.rows) + 1, key, scope, vector))
        return len(self.rows)

    def vectors_since(self, embedder: str, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        return iter(self.rows[seq:])

    def vector_seq(self, embedder: str) -> int:
        return len(self.rows)


def filling(lines: int, work: Path, seed: int) -> None:
    """CPU per line of a semantic look-up then a write, as a store fills (batch --semantic):
    the gate (writes grouped by 64, as the store's queue does) against today's VectorIndex
    (numpy, in memory), in the same run."""
    from llmx.cache.gate_features import LexicalRows, row_bytes
    from llmx.cache.vectors import VectorIndex

    rng = random.Random(seed)
    texts = sentences(lines, rng, vocabulary(rng))
    gate_log, index_log = GrowingLog(work / "g"), GrowingLog(work / "i")
    prompts: dict[str, str] = {}
    gate = LexicalGate(work / "fill.db", gate_log, lambda key, _: prompts.get(key), NAME, 256)
    rows, embedder = LexicalRows(256), LexicalEmbedder()
    index = VectorIndex(index_log, NAME, 256)
    queue: list[tuple[str, bytes]] = []
    spans: dict[str, list[float]] = {"gate": [], "brute": []}
    had: list[bool] = []
    for i, text in enumerate(texts):
        key = f"k{i}"
        start = time.thread_time()
        had.append(bool(gate.candidates("s", text, limit=LIMIT, gate=GATE)))
        row = rows.row(text)
        prompts[key] = text
        queue.append((key, row_bytes(row, 256)))
        gate.queued(key, "s", text, row)
        if len(queue) >= 64:
            for queued_key, blob in queue:
                gate_log.append_vector(queued_key, "s", NAME, blob)
            queue.clear()
        middle = time.thread_time()
        vector = embedder.embed([text])[0]
        index.search("s", vector, GATE)
        index.add(key, "s", vector)
        spans["gate"].append(middle - start)
        spans["brute"].append(time.thread_time() - middle)
    gate.close()
    print(f"filling one scope with {lines:,} look-up + write lines (CPU ms per line):")
    first = 1000 * statistics.mean(spans["gate"][:1000])
    ends = sorted({lines * tenth // 10 for tenth in range(1, 11)} - {0})
    for label, end in [("first 1,000", min(1000, lines))] + [(f"to {e:,}", e) for e in ends]:
        lo = max(0, end - 1000)
        g = 1000 * statistics.mean(spans["gate"][lo:end])
        b = 1000 * statistics.mean(spans["brute"][lo:end])
        print(f"  {label:>13s}: gate {g:.2f} ({g / first:.2f}x its first 1,000), VectorIndex "
              f"{b:.2f}, ratio {g / b:.3f}x; lines with a gate candidate "
              f"{sum(had[lo:end]) / (end - lo):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--fill", type=int, default=20_000, help="lines for the fill figure")
    args = parser.parse_args()
    data = Path(os.environ.get("LLMX_SHARED_DATA", "/work/shared/data"))
    with tempfile.TemporaryDirectory() as tmp:
        gptcache(data / "paraphrase" / "gptcache_mock_data.json", Path(tmp))
        if args.fill:
            filling(args.fill, Path(tmp), args.seed)
        for size in (int(s) for s in args.sizes.split(",") if s):  # "": none
            synthetic(size, args.queries, Path(tmp), args.seed)


if __name__ == "__main__":
    main()
