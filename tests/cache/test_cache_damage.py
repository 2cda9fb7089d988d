"""Damaged cache state is reported and replaced (issue 9, item 6).

A response or vector database that cannot be read is moved aside (``cache.db.corrupt-*``)
with one warning and a fresh one starts; a damaged snapshot of the semantic index is rebuilt
from the vector log. Real files on disk, real SQLite.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from llmx.cache import rows
from llmx.cache.recovery import file_id, is_damage, move_aside
from llmx.cache.snapshot import read_snapshot, snapshot_file
from llmx.cache.store import CacheStore
from llmx.cache.types import Entry
from llmx.cache.vectors import VectorIndex

DIMS = 8
EMBEDDER = "lexical-test"


def entry(i: int = 0) -> Entry:
    return Entry(text=f"answer {i}", chunks=(), model="m", provider="openai", input_tokens=1,
                 output_tokens=2, finish_reason="stop", prompt=f"question {i}", scope="s",
                 kind="chat", created=1.0)


def open_store(folder: Path, warnings: list[str]) -> CacheStore:
    return CacheStore(folder, max_entries=10_000, max_bytes=2**30, warn=warnings.append)


def aside(folder: Path, name: str) -> list[Path]:
    """The databases moved aside (their -wal / -shm files follow them, with those suffixes)."""
    return sorted(p for p in (folder / name).glob("cache.db.corrupt-*")
                  if not p.name.endswith(("-wal", "-shm")))


def garbage(folder: Path, name: str) -> None:
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / rows.DB_NAME).write_bytes(b"this is not a sqlite database" * 200)


def malform(folder: Path, name: str) -> None:
    """Keep the SQLite header, overwrite the pages after the first few."""
    db = folder / name / rows.DB_NAME
    data = bytearray(db.read_bytes())
    for offset in range(4096 * 2, len(data), 509):
        data[offset:offset + 64] = b"\xa5" * 64
    db.write_bytes(bytes(data))
    for side in ("-wal", "-shm"):
        (folder / name / (rows.DB_NAME + side)).unlink(missing_ok=True)


def test_a_garbage_response_database_is_moved_aside_and_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    garbage(folder, "responses")
    warnings: list[str] = []
    with open_store(folder, warnings) as store:
        assert store.get("k") is None
        store.set("k", entry(), expire=None)
        assert store.get("k") == entry()
    moved = aside(folder, "responses")
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"this is not a sqlite")
    assert len(warnings) == 1 and moved[0].name in warnings[0] and "damaged" in warnings[0]
    with open_store(folder, warnings) as store:  # the fresh database lasts: a hit, no warning
        assert store.get("k") == entry()
    assert len(warnings) == 1


def test_clear_removes_the_databases_moved_aside(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    garbage(folder, "responses")
    garbage(folder, "vectors")
    with open_store(folder, []) as store:
        store.get("k")
        VectorIndex(store, EMBEDDER, DIMS).search("s", np.ones(DIMS), 0.5)
        assert aside(folder, "responses") and aside(folder, "vectors")
        store.set("k", entry(), expire=None)
        assert store.clear() == 1
    assert not list(folder.glob("*/cache.db.corrupt-*"))


def test_a_write_that_meets_the_damage_is_kept_in_the_fresh_database(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    garbage(folder, "responses")
    warnings: list[str] = []
    with open_store(folder, warnings) as store:
        store.set("k", entry(1), expire=None)  # no read first: the write finds the damage
    with open_store(folder, []) as store:
        assert store.get("k") == entry(1)
    assert len(aside(folder, "responses")) == 1 and len(warnings) == 1


def test_a_malformed_response_database_is_moved_aside_when_a_read_meets_it(tmp_path: Path
                                                                          ) -> None:
    folder = tmp_path / "cache"
    with open_store(folder, []) as store:
        for i in range(400):
            store.set(f"k{i}", entry(i), expire=None)
    malform(folder, "responses")
    warnings: list[str] = []
    with open_store(folder, warnings) as store:
        for i in range(400):
            store.get(f"k{i}")
            if warnings:
                break
        store.set("new", entry(7), expire=None)
        assert store.get("new") == entry(7)
    assert len(warnings) == 1 and len(aside(folder, "responses")) == 1


def test_a_damaged_vector_log_is_moved_aside_and_the_index_starts_empty(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    garbage(folder, "vectors")
    warnings: list[str] = []
    with open_store(folder, warnings) as store:
        index = VectorIndex(store, EMBEDDER, DIMS)
        assert index.search("s", np.ones(DIMS), 0.5) == []
        index.add("k", "s", np.ones(DIMS))
        assert [key for key, _ in index.search("s", np.ones(DIMS), 0.5)] == ["k"]
    assert len(warnings) == 1 and len(aside(folder, "vectors")) == 1


def test_move_aside_leaves_a_database_another_process_already_replaced(tmp_path: Path) -> None:
    db = tmp_path / rows.DB_NAME
    db.write_bytes(b"damaged")
    opened = file_id(db)
    os.rename(db, tmp_path / "elsewhere")
    db.write_bytes(b"the fresh one")  # a new file: another inode
    assert move_aside(db, opened) is None
    assert db.read_bytes() == b"the fresh one"
    moved = move_aside(db, file_id(db))
    assert moved is not None and moved.read_bytes() == b"the fresh one" and not db.exists()


def test_locks_full_disks_and_read_only_mounts_are_not_damage() -> None:
    import sqlite3

    def error(code: int) -> sqlite3.Error:
        exc = sqlite3.OperationalError("x")
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    assert not any(is_damage(error(code)) for code in (5, 8, 10, 13, 14))  # busy ro io full
    damaged = sqlite3.DatabaseError("file is not a database")
    damaged.sqlite_errorcode = 26  # type: ignore[attr-defined]
    assert is_damage(damaged)


# -- the snapshot of the semantic index ---------------------------------------------------------

def filled(tmp_path: Path) -> tuple[CacheStore, Path]:
    store = open_store(tmp_path / "cache", [])
    index = VectorIndex(store, EMBEDDER, DIMS)
    for i in range(20):
        vector = np.zeros(DIMS)
        vector[i % DIMS] = 1.0
        index.add(f"k{i}", "s", vector)
    assert index.rebuild() == 20 and index.snapshot_path.is_file()
    return store, index.snapshot_path


def npz(**arrays: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


META = np.frombuffer(
    b'{"format": 1, "embedder": "lexical-test", "dims": 8, "seq": 20, "last_key": "k19"}',
    dtype=np.uint8)
DAMAGE = {
    "garbage": b"\x00garbage" * 100,
    "empty": b"",
    "truncated": None,  # the real snapshot, cut in half
    "text where counts belong": npz(meta=META, vectors=np.zeros((20, DIMS), np.float32),
                                    keys=np.array([f"k{i}" for i in range(20)]),
                                    scopes=np.array(["s"]), scope_rows=np.array(["twenty"])),
    "meta not json": npz(meta=np.frombuffer(b"\xff\xfe{", dtype=np.uint8),
                         vectors=np.zeros((1, DIMS), np.float32), keys=np.array(["k"]),
                         scopes=np.array(["s"]), scope_rows=np.array([1])),
    "meta a list": npz(meta=np.frombuffer(b"[1, 2]", dtype=np.uint8),
                       vectors=np.zeros((1, DIMS), np.float32), keys=np.array(["k"]),
                       scopes=np.array(["s"]), scope_rows=np.array([1])),
    "keys two-dimensional": npz(meta=META, vectors=np.zeros((20, DIMS), np.float32),
                                keys=np.array([["k"] * 20]), scopes=np.array(["s"]),
                                scope_rows=np.array([20])),
    "scalar arrays": npz(meta=META, vectors=np.float32(1.0), keys=np.array("k"),
                         scopes=np.array("s"), scope_rows=np.array(20)),
    "arrays missing": npz(meta=META),
    "not a zip of arrays": None,  # a zip holding a text file
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_snapshot_is_rebuilt_from_the_log(damage: str, tmp_path: Path) -> None:
    store, path = filled(tmp_path)
    content = DAMAGE[damage]
    if damage == "truncated":
        content = path.read_bytes()[: path.stat().st_size // 2]
    elif damage == "not a zip of arrays":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("meta.npy", "not an array")
        content = out.getvalue()
    assert content is not None
    path.write_bytes(content)
    assert read_snapshot(path.parent, EMBEDDER, DIMS) is None
    index = VectorIndex(store, EMBEDDER, DIMS)
    probe = np.zeros(DIMS)
    probe[3] = 1.0
    assert {key for key, _ in index.search("s", probe, 0.99)} == {"k3", "k11", "k19"}
    assert len(index) == 20
    assert index.save() and read_snapshot(path.parent, EMBEDDER, DIMS) is not None
    assert snapshot_file(path.parent, EMBEDDER) == path
    store.close()
