"""VectorIndex against fake vector logs: search, laziness, snapshots, several processes.

``MemoryLog`` keeps rows in a list; ``SqliteLog`` keeps them in a SQLite file so that
separate processes can share it (the real ``CacheStore`` is tested by the lead).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from llmx.cache.embed import LexicalEmbedder
from llmx.cache.vectors import VectorIndex, hamming_radius
from llmx.cache.veto import vetoed
from llmx.config.profile import CacheSettings

REPO = Path(__file__).resolve().parents[2]
DIMS = 32
NAME = "test-embedder-32"


class MemoryLog:
    """An in-memory VectorLog that counts every read."""

    def __init__(self, directory: Path) -> None:
        self.rows: list[tuple[int, str, str, str, bytes]] = []
        self.directory = directory
        self.reads: list[tuple[str, int]] = []
        self.next_seq = 1

    @property
    def snapshot_dir(self) -> Path:
        self.reads.append(("snapshot_dir", 0))
        return self.directory

    def append_vector(self, key: str, scope: str, embedder: str, vector: bytes) -> int:
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        self.rows.append((seq, key, scope, embedder, bytes(vector)))
        return seq

    def vectors_since(self, embedder: str, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        self.reads.append(("vectors_since", seq))
        for row_seq, key, scope, name, vector in list(self.rows):
            if name == embedder and row_seq > seq:
                yield row_seq, key, scope, vector

    def vector_seq(self, embedder: str) -> int:
        self.reads.append(("vector_seq", 0))
        return max((r[0] for r in self.rows if r[3] == embedder), default=0)

    def since_calls(self) -> list[int]:
        return [seq for what, seq in self.reads if what == "vectors_since"]


class SqliteLog:
    """A VectorLog in one SQLite file: seq and row are written in one statement."""

    def __init__(self, path: Path, snapshot_dir: Path) -> None:
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (seq INTEGER PRIMARY KEY "
                        "AUTOINCREMENT, embedder TEXT, key TEXT, scope TEXT, vec BLOB)")
        self.snapshot_dir = snapshot_dir

    def append_vector(self, key: str, scope: str, embedder: str, vector: bytes) -> int:
        cursor = self.db.execute(
            "INSERT INTO vectors (embedder, key, scope, vec) VALUES (?, ?, ?, ?)",
            (embedder, key, scope, vector))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def vectors_since(self, embedder: str, seq: int) -> list[tuple[int, str, str, bytes]]:
        return self.db.execute("SELECT seq, key, scope, vec FROM vectors WHERE embedder = ? "
                               "AND seq > ? ORDER BY seq", (embedder, seq)).fetchall()

    def vector_seq(self, embedder: str) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM vectors WHERE embedder = ?",
                              (embedder,)).fetchone()
        return int(row[0])


def vec(label: str, dims: int = DIMS) -> np.ndarray:
    """A fixed pseudo-random unit vector per label."""
    rng = np.random.default_rng(zlib.crc32(label.encode()))
    row = rng.standard_normal(dims).astype(np.float32)
    return row / np.linalg.norm(row)


def near(base: np.ndarray, cosine: float, label: str) -> np.ndarray:
    """A unit vector whose cosine with ``base`` is exactly ``cosine``."""
    other = vec(label)
    other = other - (other @ base) * base
    other /= np.linalg.norm(other)
    return np.asarray(cosine * base + np.sqrt(1 - cosine**2) * other, dtype=np.float32)


@pytest.fixture
def log(tmp_path: Path) -> MemoryLog:
    return MemoryLog(tmp_path / "snapshots")


def test_search_is_scoped_thresholded_and_best_first(log: MemoryLog) -> None:
    index = VectorIndex(log, NAME, DIMS)
    query = vec("q")
    for name, cosine in [("c90", 0.90), ("c99", 0.99), ("c95", 0.95), ("c80", 0.80)]:
        index.add(name, "scope-a", near(query, cosine, name))
    index.add("other-scope", "scope-b", query)

    hits = index.search("scope-a", query, 0.85)
    assert [key for key, _ in hits] == ["c99", "c95", "c90"]
    assert [round(score, 4) for _, score in hits] == [0.99, 0.95, 0.90]
    assert index.search("scope-a", query, 0.85, k=2) == hits[:2]
    assert index.search("scope-a", query, 0.995) == []
    assert index.search("scope-b", query, 0.99)[0][0] == "other-scope"
    assert index.search("scope-c", query, 0.0) == []
    assert len(index) == 5


def test_adding_a_key_again_replaces_its_row(log: MemoryLog) -> None:
    index = VectorIndex(log, NAME, DIMS)
    index.add("k", "s", vec("old"))
    index.add("k", "s", vec("new"))
    assert index.search("s", vec("old"), 0.99) == []
    assert index.search("s", vec("new"), 0.99)[0][0] == "k"
    assert len(index) == 1


def test_vectors_are_checked_and_normalised(log: MemoryLog) -> None:
    index = VectorIndex(log, NAME, DIMS)
    with pytest.raises(ValueError):
        index.add("k", "s", np.ones(DIMS + 1))
    with pytest.raises(ValueError):
        index.search("s", np.full(DIMS, np.nan), 0.5)
    index.add("k", "s", 3.0 * vec("a"))  # scaled: stored as a unit vector
    ((key, score),) = index.search("s", 10.0 * vec("a"), 0.99)
    assert key == "k" and score == pytest.approx(1.0, abs=1e-5)


def test_nothing_is_read_before_the_first_search(log: MemoryLog) -> None:
    writer = VectorIndex(log, NAME, DIMS)
    writer.add("a", "s", vec("a"))
    index = VectorIndex(log, NAME, DIMS)
    index.add("b", "s", vec("b"))
    assert log.reads == [] and not index.loaded and not log.directory.exists()
    assert index.search("s", vec("a"), 0.99)[0][0] == "a"
    assert index.loaded and log.reads


def test_other_embedders_rows_are_ignored(log: MemoryLog) -> None:
    VectorIndex(log, "other-embedder", DIMS).add("x", "s", vec("x"))
    index = VectorIndex(log, NAME, DIMS)
    assert index.search("s", vec("x"), 0.5) == []


def test_rows_of_the_wrong_size_are_skipped(log: MemoryLog) -> None:
    log.append_vector("short", "s", NAME, vec("short")[:5].tobytes())
    index = VectorIndex(log, NAME, DIMS)
    index.add("good", "s", vec("good"))
    assert [k for k, _ in index.search("s", vec("good"), 0.0)] == ["good"]


def test_a_loaded_index_sees_rows_appended_by_others(log: MemoryLog) -> None:
    mine, theirs = VectorIndex(log, NAME, DIMS), VectorIndex(log, NAME, DIMS)
    assert mine.search("s", vec("t"), 0.9) == []
    theirs.add("t", "s", vec("t"))
    assert mine.search("s", vec("t"), 0.9)[0][0] == "t"
    mine.add("m", "s", vec("m"))
    theirs.add("t2", "s", vec("t2"))
    mine.add("m2", "s", vec("m2"))  # catching up after my own append keeps t2
    assert mine.search("s", vec("t2"), 0.9)[0][0] == "t2"


def test_a_cleared_log_empties_a_loaded_index(log: MemoryLog) -> None:
    index = VectorIndex(log, NAME, DIMS)
    index.add("a", "s", vec("a"))
    assert index.search("s", vec("a"), 0.9)
    log.rows.clear()
    log.next_seq = 1
    assert index.search("s", vec("a"), 0.9) == []


def fill(log: MemoryLog, count: int, scopes: int = 3) -> VectorIndex:
    index = VectorIndex(log, NAME, DIMS)
    for i in range(count):
        index.add(f"k{i}", f"s{i % scopes}", vec(f"k{i}"))
    return index


def all_found(index: VectorIndex, count: int, scopes: int = 3) -> bool:
    return all(index.search(f"s{i % scopes}", vec(f"k{i}"), 0.999, k=1)[0][0] == f"k{i}"
               for i in range(count))


def test_snapshot_round_trip_then_the_log_tail(log: MemoryLog) -> None:
    writer = fill(log, 40)
    assert writer.search("s0", vec("k0"), 0.99) and writer.save()
    path = writer.snapshot_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.suffix for p in path.parent.iterdir()].count(".tmp") == 0
    for i in range(40, 45):
        writer.add(f"k{i}", f"s{i % 3}", vec(f"k{i}"))

    log.reads.clear()
    reader = VectorIndex(log, NAME, DIMS)
    assert all_found(reader, 45)
    assert log.since_calls()[0] == 39  # started from the snapshot (seq 40), not from 0
    assert 0 not in log.since_calls()
    assert len(reader) == 45


def test_save_skips_when_the_snapshot_is_current_or_locked(log: MemoryLog) -> None:
    index = fill(log, 5)
    assert not index.save()  # not loaded yet: nothing to save
    index.search("s0", vec("k0"), 0.9)
    assert index.save()
    assert not index.save()  # the snapshot on disk is already at this seq
    index.add("k5", "s2", vec("k5"))
    index.search("s0", vec("k0"), 0.9)
    lock = os.open(index.snapshot_path.with_suffix(".lock"), os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert not index.save()  # another process holds the lock
    finally:
        os.close(lock)
    assert index.save()


def damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def damage_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def damage_garbage(path: Path) -> None:
    path.write_bytes(b"not a snapshot at all")


@pytest.mark.parametrize("damage", [damage_truncate, damage_flip, damage_garbage])
def test_a_damaged_snapshot_is_rebuilt_from_the_log(log: MemoryLog, damage: object) -> None:
    writer = fill(log, 30)
    writer.search("s0", vec("k0"), 0.9)
    assert writer.save()
    damage(writer.snapshot_path)  # type: ignore[operator]
    log.reads.clear()
    reader = VectorIndex(log, NAME, DIMS)
    assert all_found(reader, 30)
    assert 0 in log.since_calls()


def test_a_snapshot_ahead_of_the_log_is_not_trusted(log: MemoryLog) -> None:
    old = fill(log, 20)
    old.search("s0", vec("k0"), 0.9)
    assert old.save()
    fresh_log = MemoryLog(log.directory)  # e.g. the cache was cleared, snapshot left behind
    new = VectorIndex(fresh_log, NAME, DIMS)
    new.add("n", "s0", vec("n"))
    assert new.search("s0", vec("k0"), 0.5) == []
    assert new.search("s0", vec("n"), 0.99)[0][0] == "n"


def test_a_snapshot_of_another_log_with_the_same_seq_is_not_trusted(log: MemoryLog) -> None:
    old = fill(log, 10)
    old.search("s0", vec("k0"), 0.9)
    assert old.save()
    other_log = MemoryLog(log.directory)  # refilled to the same seq with other keys
    for i in range(10):
        other_log.append_vector(f"x{i}", "s0", NAME, vec(f"x{i}").tobytes())
    index = VectorIndex(other_log, NAME, DIMS)
    assert index.search("s0", vec("k0"), 0.5) == []
    assert index.search("s0", vec("x3"), 0.99)[0][0] == "x3"


def test_a_snapshot_of_other_dims_is_ignored(log: MemoryLog) -> None:
    old = fill(log, 10)
    old.search("s0", vec("k0"), 0.9)
    assert old.save()
    wide = VectorIndex(log, NAME, DIMS * 2)  # same name, other size: rows do not fit
    assert wide.search("s0", vec("k0", DIMS * 2), 0.0) == []


def test_rebuild_drops_rows_gone_from_the_log(log: MemoryLog) -> None:
    index = fill(log, 12)
    assert all_found(index, 12)
    log.rows = [row for row in log.rows if row[1] != "k4"]  # pruned by the store
    assert index.rebuild() == 11
    assert index.search("s1", vec("k4"), 0.99) == []
    reader = VectorIndex(log, NAME, DIMS)  # the rebuilt snapshot is usable
    log.reads.clear()
    assert reader.search("s0", vec("k3"), 0.99)[0][0] == "k3"
    assert 0 not in log.since_calls()


def test_a_large_tail_is_snapshotted_on_load(log: MemoryLog) -> None:
    fill(log, 300, scopes=2)
    index = VectorIndex(log, NAME, DIMS)
    assert not index.snapshot_path.exists()
    index.search("s0", vec("k0"), 0.9)
    assert index.snapshot_path.exists()


def test_hamming_radius_shrinks_as_the_threshold_rises() -> None:
    radii = [hamming_radius(t) for t in (0.7, 0.8, 0.9, 0.92, 0.95, 0.99)]
    assert all(r is not None and r < 128 for r in radii)
    assert radii == sorted(radii, reverse=True)  # type: ignore[type-var]
    assert hamming_radius(0.5) is None and hamming_radius(0.0) is None
    assert hamming_radius(1.5) is None


@pytest.mark.parametrize("threshold", [0.75, 0.85, 0.92, 0.97])
def test_the_prefilter_finds_exactly_what_brute_force_finds(
        log: MemoryLog, threshold: float) -> None:
    dims = 64
    filtered = VectorIndex(log, NAME, dims, prefilter_rows=1)
    brute = VectorIndex(log, NAME, dims, prefilter_rows=10**9)
    rng = np.random.default_rng(3)
    queries = rng.standard_normal((40, dims)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    noise = rng.standard_normal((3000, dims)).astype(np.float32)
    for i, row in enumerate(noise):
        filtered.add(f"noise{i}", "s", row)
    for q, query in enumerate(queries):  # neighbours on both sides of every threshold
        for j, cosine in enumerate(np.linspace(0.70, 0.999, 12)):
            other = rng.standard_normal(dims).astype(np.float32)
            other -= (other @ query) * query
            other /= np.linalg.norm(other)
            filtered.add(f"q{q}n{j}", "s", cosine * query + np.sqrt(1 - cosine**2) * other)
    for query in queries:
        expected = brute.search("s", query, threshold, k=50)
        assert expected  # every query has neighbours above the threshold
        found = filtered.search("s", query, threshold, k=50)
        assert [key for key, _ in found] == [key for key, _ in expected]
        assert [score for _, score in found] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_the_prefilter_scores_only_a_few_rows_on_random_data(log: MemoryLog) -> None:
    index = fill(log, 2000, scopes=1)
    index = VectorIndex(log, NAME, DIMS, prefilter_rows=1)
    assert index.search("s0", vec("k7"), 0.92)[0][0] == "k7"
    block = index._blocks["s0"]
    rows = index._prefilter(block, vec("k7"), 0.92)
    assert rows is not None and 1 <= rows.size < 100 and 7 in rows


# -- the acceptance pairs: lexical embedder + veto at the default threshold -----------


def semantic_hit(index: VectorIndex, prompts: dict[str, str], query: str,
                 threshold: float, *, veto: bool) -> str | None:
    """What the cache would serve: the best candidate the veto lets through."""
    vector = LexicalEmbedder().embed([query])[0]
    for key, _ in index.search("scope", vector, threshold):
        if not veto or not vetoed(query, prompts[key]):
            return prompts[key]
    return None


def acceptance_index(log: MemoryLog, stored: list[str]) -> tuple[VectorIndex, dict[str, str]]:
    embedder = LexicalEmbedder()
    index = VectorIndex(log, embedder.name, embedder.dims)
    prompts = {f"key{i}": text for i, text in enumerate(stored)}
    for key, text in prompts.items():
        index.add(key, "scope", embedder.embed([text])[0])
    return index, prompts


def test_acceptance_a_contraction_paraphrase_hits_at_the_default_threshold(
        log: MemoryLog) -> None:
    threshold = CacheSettings().threshold
    index, prompts = acceptance_index(log, ["What is the capital of France?"])
    query = "what's the capital of France"
    assert semantic_hit(index, prompts, query, threshold, veto=True) == prompts["key0"]


def test_acceptance_enable_vs_disable_does_not_hit(log: MemoryLog) -> None:
    threshold = CacheSettings().threshold
    index, prompts = acceptance_index(log, ["How do I enable 2FA on GitHub?"])
    query = "How do I disable 2FA on GitHub?"
    assert semantic_hit(index, prompts, query, threshold, veto=True) is None
    # Both layers block it: the lexical cosine (~0.86) is under 0.92 on its own ...
    assert semantic_hit(index, prompts, query, threshold, veto=False) is None
    # ... and even at a threshold low enough to match, the veto refuses it.
    assert semantic_hit(index, prompts, query, 0.5, veto=False) == prompts["key0"]
    assert semantic_hit(index, prompts, query, 0.5, veto=True) is None


# -- two processes sharing one SQLite log --------------------------------------------


def child(db: str, snapshots: str, tag: str, count: int, done_dir: str) -> None:
    """Run in a subprocess: load, append ``count`` rows, wait for the other, search all."""
    index = VectorIndex(SqliteLog(Path(db), Path(snapshots)), NAME, DIMS)
    index.search("s", vec("warm-up"), 0.99)  # loaded before anyone appended
    for i in range(count):
        index.add(f"{tag}{i}", "s", vec(f"{tag}{i}"))
    Path(done_dir, tag).touch()
    deadline = time.monotonic() + 60
    while len(list(Path(done_dir).iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    keys = [f"{t}{i}" for t in ("a", "b") for i in range(count)]
    found = sum([key for key, _ in index.search("s", vec(k), 0.999, k=1)] == [k] for k in keys)
    index.save()
    print(json.dumps({"found": found, "rows": len(index)}))


def test_two_processes_append_and_both_see_every_row(tmp_path: Path) -> None:
    db, snapshots, done = tmp_path / "log.sqlite", tmp_path / "snapshots", tmp_path / "done"
    done.mkdir()
    SqliteLog(db, snapshots).db.close()
    count = 60
    code = ("import sys\nfrom tests.cache.test_cache_semantic_index import child\n"
            "child(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), str(snapshots), tag,
                               str(count), str(done)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert results == [{"found": 2 * count, "rows": 2 * count}] * 2
    seqs = [seq for seq, *_ in SqliteLog(db, snapshots).vectors_since(NAME, 0)]
    assert seqs == sorted(set(seqs)) and len(seqs) == 2 * count
    fresh = VectorIndex(SqliteLog(db, snapshots), NAME, DIMS)
    assert len(fresh) == 2 * count


def test_unit_and_nearly_unit_vectors_score_as_if_renormalised(log: MemoryLog) -> None:
    index = VectorIndex(log, NAME, DIMS)
    embedded = LexicalEmbedder(DIMS).embed(["reverse a list in python", "sort a dict by value"])
    slightly_long = vec("b") * np.float32(1.0 + 5e-7)  # within the tolerance: kept as is
    index.add("e0", "s", embedded[0])
    index.add("e1", "s", embedded[1])
    index.add("b", "s", slightly_long)
    stored = {key: np.frombuffer(blob, dtype="<f4") for _, key, _, _, blob in log.rows}
    for key, original in [("e0", embedded[0]), ("e1", embedded[1]), ("b", slightly_long)]:
        np.testing.assert_allclose(stored[key], original / np.linalg.norm(original),
                                   rtol=0, atol=2e-6)
    for query, key in [(embedded[0], "e0"), (embedded[1], "e1"), (vec("b"), "b")]:
        ((found, score),) = index.search("s", query, 0.999)
        assert found == key and score == pytest.approx(1.0, abs=2e-6)
    index.add("far", "s", vec("c") * np.float32(1.001))  # clearly not unit: divided
    assert np.linalg.norm(np.frombuffer(log.rows[-1][4], dtype="<f4")) == pytest.approx(1.0,
                                                                                       abs=1e-6)
