"""The semantic index at 10k / 100k / 1M entries: the lexical gate, numpy brute force and
faiss (flat and HNSW), in one run.

    python benchmarks/index_scale.py [--sizes 10000,100000,1000000] [--queries 400]
                                     [--faiss-python PATH | --no-faiss]
                                     [--cache /tmp/idx-corpus]

Corpus: ``benchmarks/cache_gate_index.py``'s synthetic store (one scope, the worst case:
Zipf-Mandelbrot sentences; queries half near copies of stored ones, half fresh), embedded
with the lexical embedder. The texts, the float32 matrix and the queries are cached under
``--cache`` per (size, seed), the built gate file per gate format, so a second run (a 1M
store takes minutes to build) starts at the measurements.

Per size, each index answers the same queries (cosine >= 0.5, top 5):
* warm-process p50 / p99 of one query, wall clock and the querying thread's CPU time (on
  a machine whose cores are shared, wall-clock tails include waits for a core), and recall
  of brute force's answers;
* first-load time (a new process: open the gate file / load the ``.npy`` matrix / read the
  saved faiss index, then the first query) and the RSS it added;
* faiss (``faiss-cpu``: flat, IVF and, up to ``--hnsw-max`` entries, HNSW) runs in its own
  interpreter (``--faiss-python``, else ``benchmarks/.venv-faiss``, made on first use):
  faiss is never a project dependency.
  ``IndexFlatIP`` is exact (BLAS); ``IndexHNSWFlat`` (M=32, efSearch=64) is approximate;
  ``IndexIVFFlat`` (n/256 lists up to 1,024, 16 probed) is approximate; build times are
  printed too. Its range search is emulated by a top-32 search filtered at
  the gate.
Every figure is printed beside brute force's of the same run, with the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sidevenv

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one thread each, as faiss is run
import numpy as np
from cache_gate_index import FIRST_GATE, GATE, LIMIT, brute, workload

from llmx.cache.embed import LexicalEmbedder
from llmx.cache.gate import FORMAT, LexicalGate

HERE = Path(__file__).resolve().parent
NAME = "lexical-v1-256"


def corpus(size: int, queries: int, seed: int, cache: Path) -> Path:
    """The cached directory of (texts, matrix, queries, gate file) for ``size``: the corpus
    is made once; the gate file once per gate format (``gate-f<FORMAT>.db``)."""
    where = cache / f"{size}-{seed}-{queries}"
    if not (where / "corpus").exists():
        where.mkdir(parents=True, exist_ok=True)
        texts, asked, matrix = workload(size, queries, seed)
        np.save(where / "matrix.npy", matrix)
        np.save(where / "queries.npy", LexicalEmbedder().embed(asked))
        (where / "texts.json").write_text(json.dumps(texts))
        (where / "queries.json").write_text(json.dumps(asked))
        (where / "corpus").write_text("made\n")
    if not gate_file(where).exists():
        texts = json.loads((where / "texts.json").read_text())
        start = time.perf_counter()
        building = where / f"gate-f{FORMAT}.building"
        build_gate(building, texts, np.load(where / "matrix.npy", mmap_mode="r")).close()
        building.rename(gate_file(where))
        (where / f"gate-f{FORMAT}.built").write_text(f"{time.perf_counter() - start:.1f}\n")
    return where


def gate_file(where: Path) -> Path:
    return where / f"gate-f{FORMAT}.db"


class _Log:
    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix

    def vectors_since(self, embedder: str, seq: int):  # type: ignore[no-untyped-def]
        for number in range(seq + 1, len(self.matrix) + 1):
            yield number, f"k{number - 1}", "s", self.matrix[number - 1].tobytes()

    def vector_seq(self, embedder: str) -> int:
        return len(self.matrix)


def build_gate(path: Path, texts: list[str], matrix: np.ndarray) -> LexicalGate:
    import llmx.cache.gate as gate_module

    gate_module.CATCH_UP_ROWS = len(texts) + 1  # build it whole, once
    gate = LexicalGate(path, _Log(matrix), lambda key, _: texts[int(key[1:])],
                       NAME, 256)
    gate.warm()
    return gate


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1,
                                                   round(0.99 * (len(ordered) - 1)))]


def recall(truth: list[list[str]], found: list[set[str]]) -> float:
    wanted = sum(len(t) for t in truth)
    return sum(sum(k in f for k in t) for t, f in zip(truth, found, strict=True)) / max(1, wanted)


def gate_figures(where: Path, size: int, truth: list[list[str]]) -> dict[str, float]:
    texts_n = size
    asked = json.loads((where / "queries.json").read_text())

    class AtHead:
        def vector_seq(self, embedder: str) -> int:
            return texts_n

        def vectors_since(self, embedder: str, seq: int):  # type: ignore[no-untyped-def]
            return iter(())

    gate = LexicalGate(gate_file(where), AtHead(), lambda key, _: None, NAME, 256)
    ms: list[float] = []
    cpu: list[float] = []
    found = []
    for query in asked:
        start, start_cpu = time.perf_counter(), time.thread_time()
        got = gate.candidates("s", query, limit=LIMIT, gate=GATE)
        ms.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        found.append({c.key for c in got})
    gate.close()
    p50, p99 = percentiles(ms)
    first = [first_gate(where, size, asked[i]) for i in range(3)]
    return {"p50": p50, "p99": p99, "cpu_p50": percentiles(cpu)[0],
            "cpu_p99": percentiles(cpu)[1], "recall": recall(truth, found),
            "first_ms": statistics.median(f[0] for f in first),
            "first_mib": statistics.median(f[1] for f in first)}


def first_gate(where: Path, size: int, query: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", FIRST_GATE, str(gate_file(where)), str(size),
                          query], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


FIRST_BRUTE = """
import sys, time
start_rss = int(open('/proc/self/statm').read().split()[1])
started = time.perf_counter()
import numpy as np
matrix = np.load(sys.argv[1] + '/matrix.npy', mmap_mode='r' if sys.argv[2] == 'mmap' else None)
query = np.load(sys.argv[1] + '/queries.npy')[0]
found = np.flatnonzero(matrix @ query >= 0.5)
ms = (time.perf_counter() - started) * 1000
print(ms, (int(open('/proc/self/statm').read().split()[1]) - start_rss) * 4096 / 2**20)
"""


def brute_figures(where: Path) -> tuple[dict[str, float], list[list[str]]]:
    matrix = np.load(where / "matrix.npy")
    vectors = np.load(where / "queries.npy")
    ms: list[float] = []
    cpu: list[float] = []
    truth = []
    for query in vectors:
        start, start_cpu = time.perf_counter(), time.thread_time()
        truth.append([key for key, _ in brute(matrix, query)])
        ms.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
    p50, p99 = percentiles(ms)
    first = [subprocess.run([sys.executable, "-c", FIRST_BRUTE, str(where), "load"],
                            capture_output=True, text=True, check=True).stdout.split()
             for _ in range(3)]
    return {"p50": p50, "p99": p99, "cpu_p50": percentiles(cpu)[0],
            "cpu_p99": percentiles(cpu)[1], "recall": 1.0,
            "first_ms": statistics.median(float(f[0]) for f in first),
            "first_mib": statistics.median(float(f[1]) for f in first)}, truth


def faiss_python(given: str | None) -> str:
    """An interpreter with faiss: ``given``, or the benchmark's own venv."""
    return sidevenv.python_with("faiss", ["faiss-cpu", "numpy"], given)


def faiss_figures(python: str, where: Path, truth: list[list[str]],
                  kinds: list[str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for kind in kinds:
        done = subprocess.run([python, str(HERE / "index_scale_faiss.py"), str(where), kind],
                              capture_output=True, text=True, check=True).stdout
        figures = json.loads(done)
        found = [set(keys) for keys in figures.pop("found")]
        figures["recall"] = recall(truth, found)
        out[f"faiss {kind}"] = figures
    return out


def report(size: int, rows: dict[str, dict[str, float]]) -> None:
    base = rows["brute force"]
    print(f"{size:,} entries (one scope):")
    for name, f in rows.items():
        extra = f" (build {f['build_s']:.1f} s)" if "build_s" in f else ""
        print(f"  {name:12s} p50 {f['p50']:7.2f} ms ({f['p50'] / base['p50']:.3f}x)  p99 "
              f"{f['p99']:7.2f} ms ({f['p99'] / base['p99']:.3f}x)  CPU p50 {f['cpu_p50']:6.2f} "
              f"p99 {f['cpu_p99']:6.2f} ms ({f['cpu_p99'] / base['cpu_p99']:.3f}x)  "
              f"recall {f['recall']:.3f}  "
              f"first load + query {f['first_ms']:7.1f} ms "
              f"({f['first_ms'] / base['first_ms']:.3f}x) +{f['first_mib']:.1f} MiB{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--faiss-python")
    parser.add_argument("--no-faiss", action="store_true",
                        help="gate and brute force only (e.g. a second run of the gate)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/idx-corpus"))
    parser.add_argument("--hnsw-max", type=int, default=100_000,
                        help="largest size faiss HNSW is built for (~300 s per 100k here)")
    args = parser.parse_args()
    python = None if args.no_faiss else faiss_python(args.faiss_python)
    for size in (int(s) for s in args.sizes.split(",")):
        where = corpus(size, args.queries, args.seed, args.cache)
        brute_row, truth = brute_figures(where)
        rows = {"brute force": brute_row, "gate": gate_figures(where, size, truth)}
        kinds = ["flat", "ivf"] + (["hnsw"] if size <= args.hnsw_max else [])
        if python is not None:
            rows.update(faiss_figures(python, where, truth, kinds))
        report(size, rows)


if __name__ == "__main__":
    main()
