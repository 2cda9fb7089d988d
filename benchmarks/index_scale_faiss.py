"""faiss's side of ``benchmarks/index_scale.py``, run by the faiss interpreter (not llmx's).

    python index_scale_faiss.py CORPUS_DIR flat|hnsw|ivf

Builds (once, saved beside the corpus) the index over ``matrix.npy``, then prints JSON:
warm p50/p99 of one query (top 32, kept at cosine >= 0.5, top 5), the keys found per query,
the build time, and a new process's load + first query time and the RSS it added.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GATE, LIMIT, WIDE = 0.5, 5, 32
NPROBE = 16  # IVF lists searched per query

FIRST = """
import sys, time
start_rss = int(open('/proc/self/statm').read().split()[1])
started = time.perf_counter()
import faiss, numpy as np
index = faiss.read_index(sys.argv[1])
query = np.load(sys.argv[2])[:1]
if hasattr(index, 'nprobe'): index.nprobe = 16
index.search(query, 32)
ms = (time.perf_counter() - started) * 1000
print(ms, (int(open('/proc/self/statm').read().split()[1]) - start_rss) * 4096 / 2**20)
"""


def _new_index(faiss: Any, kind: str, matrix: Any) -> Any:
    dims = matrix.shape[1]
    if kind == "flat":
        return faiss.IndexFlatIP(dims)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dims, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        return index
    lists = max(16, min(1024, len(matrix) // 256))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dims), dims, lists, faiss.METRIC_INNER_PRODUCT)
    index.train(matrix[:: max(1, len(matrix) // (64 * lists))])
    return index


def main() -> None:
    import faiss
    import numpy as np

    where, kind = Path(sys.argv[1]), sys.argv[2]
    faiss.omp_set_num_threads(1)
    saved = where / f"faiss-{kind}.index"
    build_s = 0.0
    if not saved.exists():
        matrix = np.load(where / "matrix.npy")
        start = time.perf_counter()
        index = _new_index(faiss, kind, matrix)
        index.add(matrix)
        build_s = time.perf_counter() - start
        faiss.write_index(index, str(saved))
        (where / f"faiss-{kind}.build").write_text(str(build_s))
    else:
        build_s = float((where / f"faiss-{kind}.build").read_text())
    index = faiss.read_index(str(saved))
    if kind == "hnsw":
        index.hnsw.efSearch = 64
    elif kind == "ivf":
        index.nprobe = NPROBE
    queries = np.load(where / "queries.npy")
    ms, cpu, found = [], [], []
    for row in queries:
        start, start_cpu = time.perf_counter(), time.thread_time()
        scores, ids = index.search(row[None, :], WIDE)
        keys = [f"k{i}" for s, i in zip(scores[0], ids[0], strict=True) if i >= 0 and s >= GATE]
        ms.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        found.append(keys[:LIMIT])
    ordered, cpu_ordered = sorted(ms), sorted(cpu)
    first = [subprocess.run([sys.executable, "-c", FIRST, str(saved), str(where / "queries.npy")],
                            capture_output=True, text=True, check=True).stdout.split()
             for _ in range(3)]
    print(json.dumps({
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        "cpu_p50": statistics.median(cpu_ordered),
        "cpu_p99": cpu_ordered[min(len(cpu) - 1, round(0.99 * (len(cpu) - 1)))],
        "found": found, "build_s": build_s,
        "first_ms": statistics.median(float(f[0]) for f in first),
        "first_mib": statistics.median(float(f[1]) for f in first)}))


if __name__ == "__main__":
    main()
