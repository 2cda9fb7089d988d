"""Semantic lookup at scale: VectorIndex search latency, load times, lexical embed cost.

    python benchmarks/cache_semantic_lookup.py [--entries 100000] [--queries 1000] [--scopes 1]

Workload: ``--entries`` synthetic sentences (8-20 words drawn from a fixed-seed
vocabulary) embedded with the lexical embedder, appended to a vector log, spread over
``--scopes`` scopes (1 = the worst case: every row in the searched scope). Queries: half are
stored sentences with one word dropped (near duplicates, so hits), half fresh sentences.

Reported:
* lexical ``embed()`` per text: one text per call (p50/p99) and in batches of 1,000;
* ``VectorIndex.search`` p50/p99/max over ``--queries`` queries at threshold 0.92, k=5,
  in-process, with the sign-bit prefilter (the default) and without it (plain brute force);
  each search includes the log's ``vector_seq`` check (budget: p99 <= 10 ms);
* first-search (load) time: rebuilding from the log (includes writing the snapshot), the
  snapshot write alone, and loading from the snapshot (+ an empty or a 5,000-row tail);
* float16 vs float32 brute-force cosine, to justify float32.

The vector log here is a small SQLite table (stdlib ``sqlite3``, WAL), standing in for
``CacheStore``'s vector log; the real store's row decoding may cost more per row on a
rebuild. Figures depend on the machine: run it, do not quote old numbers.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from llmx.cache.embed import LexicalEmbedder
from llmx.cache.vectors import VectorIndex

THRESHOLD = 0.92


class SqliteLog:
    """A VectorLog in one SQLite file (seq and row written in one statement)."""

    def __init__(self, path: Path, snapshot_dir: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (seq INTEGER PRIMARY KEY "
                        "AUTOINCREMENT, embedder TEXT, key TEXT, scope TEXT, vec BLOB)")
        self.db.execute("CREATE INDEX IF NOT EXISTS by_embedder ON vectors (embedder, seq)")
        self.snapshot_dir = snapshot_dir

    def append_vector(self, key: str, scope: str, embedder: str, vector: bytes) -> int:
        cursor = self.db.execute(
            "INSERT INTO vectors (embedder, key, scope, vec) VALUES (?, ?, ?, ?)",
            (embedder, key, scope, vector))
        return int(cursor.lastrowid or 0)

    def append_many(self, rows: Sequence[tuple[str, str, str, bytes]]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO vectors (embedder, key, scope, vec) VALUES (?, ?, ?, ?)",
                            [(e, k, s, v) for k, s, e, v in rows])
        self.db.execute("COMMIT")

    def vectors_since(self, embedder: str, seq: int) -> sqlite3.Cursor:
        return self.db.execute("SELECT seq, key, scope, vec FROM vectors WHERE embedder = ? "
                               "AND seq > ? ORDER BY seq", (embedder, seq))

    def vector_seq(self, embedder: str) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM vectors WHERE embedder = ?",
                              (embedder,)).fetchone()
        return int(row[0] or 0)


def sentences(count: int, rng: np.random.Generator, vocabulary: Sequence[str]) -> list[str]:
    lengths = rng.integers(8, 21, size=count)
    picks = rng.integers(0, len(vocabulary), size=int(lengths.sum()))
    out, start = [], 0
    for length in lengths:
        out.append(" ".join(vocabulary[i] for i in picks[start : start + length]))
        start += length
    return out


def make_vocabulary(rng: np.random.Generator, size: int = 5000) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=int(rng.integers(3, 11)))) for _ in range(size)]


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def embed_figures(embedder: LexicalEmbedder, texts: Sequence[str]) -> str:
    singles = []
    for text in texts[:2000]:
        start = time.perf_counter()
        embedder.embed([text])
        singles.append((time.perf_counter() - start) * 1e6)
    batch_ms = timed(lambda: embedder.embed(texts[:1000]))
    return (f"lexical embed(), one text per call: p50 {statistics.median(singles):.0f} µs, "
            f"p99 {percentile(singles, 99):.0f} µs; batch of 1,000: "
            f"{batch_ms * 1000 / 1000:.0f} µs per text")


def fresh_index(log: SqliteLog, embedder: LexicalEmbedder) -> VectorIndex:
    return VectorIndex(log, embedder.name, embedder.dims)


def load_figures(log: SqliteLog, embedder: LexicalEmbedder, probe: np.ndarray) -> list[str]:
    cold = fresh_index(log, embedder)
    rebuild_ms = timed(lambda: cold.search("s0", probe, THRESHOLD))
    snapshot = cold.snapshot_path
    size_mb = snapshot.stat().st_size / 1e6
    snapshot.unlink()
    write_ms = timed(cold.save)
    warm_ms = timed(lambda: fresh_index(log, embedder).search("s0", probe, THRESHOLD))
    return [f"first search, no snapshot (read the whole log, build, write snapshot): "
            f"{rebuild_ms:.0f} ms",
            f"  of which writing the snapshot ({size_mb:.0f} MB): {write_ms:.0f} ms",
            f"first search from the snapshot (empty tail): {warm_ms:.0f} ms"]


def tail_figure(log: SqliteLog, embedder: LexicalEmbedder, texts: Sequence[str],
                probe: np.ndarray) -> str:
    vectors = embedder.embed(texts)
    log.append_many([(f"tail{i}", "s0", embedder.name, v.astype("<f4").tobytes())
                     for i, v in enumerate(vectors)])
    ms = timed(lambda: fresh_index(log, embedder).search("s0", probe, THRESHOLD))
    return (f"first search from the snapshot + {len(texts):,}-row tail "
            f"(then writes a new snapshot when the tail is due): {ms:.0f} ms")


def search_figures(index: VectorIndex, queries: np.ndarray, scopes: Sequence[str]) -> str:
    samples, hits = [], 0
    for i, query in enumerate(queries):
        start = time.perf_counter()
        found = index.search(scopes[i % len(scopes)], query, THRESHOLD)
        samples.append((time.perf_counter() - start) * 1000)
        hits += bool(found)
    slow = sum(s > 10 for s in samples)
    return (f"search over {len(index):,} rows: p50 {statistics.median(samples):.2f} ms, "
            f"p99 {percentile(samples, 99):.2f} ms, max {max(samples):.2f} ms, "
            f"{slow} over 10 ms ({hits} of {len(queries)} queries found a row >= {THRESHOLD})")


def dtype_figure(matrix: np.ndarray, query: np.ndarray) -> str:
    half, half_query = matrix.astype(np.float16), query.astype(np.float16)
    single = min(timed(lambda: matrix @ query) for _ in range(5))
    halfs = min(timed(lambda: half @ half_query) for _ in range(3))
    return (f"brute force over {matrix.shape[0]:,}x{matrix.shape[1]}: float32 {single:.2f} ms, "
            f"float16 {halfs:.2f} ms (numpy has no BLAS path for float16)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--scopes", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    vocabulary = make_vocabulary(rng)
    embedder = LexicalEmbedder()
    texts = sentences(args.entries, rng, vocabulary)
    print(embed_figures(embedder, texts))
    start = time.perf_counter()
    vectors = embedder.embed(texts)
    print(f"embedded {len(texts):,} texts in {time.perf_counter() - start:.1f} s")
    scopes = [f"s{i}" for i in range(args.scopes)]

    with tempfile.TemporaryDirectory() as tmp:
        log = SqliteLog(Path(tmp) / "log.sqlite", Path(tmp) / "snapshots")
        log.append_many([(f"k{i}", scopes[i % len(scopes)], embedder.name,
                          v.astype("<f4").tobytes()) for i, v in enumerate(vectors)])
        near = [" ".join(t.split()[1:]) for t in texts[: args.queries // 2]]
        fresh = sentences(args.queries - len(near), rng, vocabulary)
        queries = embedder.embed(near + fresh)
        for line in load_figures(log, embedder, queries[0]):
            print(line)
        index = fresh_index(log, embedder)
        first_ms = timed(lambda: index.search(scopes[0], queries[0], THRESHOLD))
        print(f"first search of a fresh index (load snapshot + sign bits of every row): "
              f"{first_ms:.0f} ms")
        print(search_figures(index, queries, scopes))
        brute = VectorIndex(log, embedder.name, embedder.dims, prefilter_rows=10**12)
        brute.search(scopes[0], queries[0], THRESHOLD)
        print("without the prefilter: " + search_figures(brute, queries, scopes))
        print(f"matrix memory: {vectors.nbytes / 1e6:.0f} MB (float32, {embedder.dims} dims)")
        print(tail_figure(log, embedder, sentences(5_000, rng, vocabulary), queries[0]))
        print(dtype_figure(vectors, queries[0]))


if __name__ == "__main__":
    main()
