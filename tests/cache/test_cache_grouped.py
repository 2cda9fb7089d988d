"""A hit writes nothing; grouped writes are durable; the LRU order survives across processes.

Real processes on a real directory. The fsync counts come from ``strace -f`` (skipped, with
that reason, where strace is not on PATH: ``.ci/run`` installs it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from llmx.cache.store import CacheStore, Grouping
from llmx.cache.types import Entry

ENTRY = '''
from llmx.cache.types import Entry

def entry(i):
    text = f"answer {i} " + "z" * (i % 50)
    return Entry(text=text, chunks=(), model="m", provider="p", input_tokens=i,
                 output_tokens=2 * i, finish_reason="stop", prompt=f"question {i}",
                 scope="s", kind="chat", created=1.0)
'''
namespace: dict[str, object] = {}
exec(ENTRY, namespace)


def entry(i: int) -> Entry:
    made = namespace["entry"](i)  # type: ignore[operator]
    assert isinstance(made, Entry)
    return made


HIT = ENTRY + '''
import sys
from pathlib import Path
from llmx.cache.store import CacheStore, Grouping
store = CacheStore(Path(sys.argv[1]), max_entries=10_000, max_bytes=2**31, grouping=Grouping())
assert store.get(sys.argv[2]) == entry(int(sys.argv[3]))
store.close()
'''

WRITE = ENTRY + '''
import sys
from pathlib import Path
from llmx.cache.store import CacheStore, Grouping
folder, (first, count, limit) = Path(sys.argv[1]), map(int, sys.argv[2:5])
store = CacheStore(folder, max_entries=limit, max_bytes=2**31,
                   grouping=Grouping(entries=int(sys.argv[5]), max_age=3600))
for i in range(first, first + count):
    store.set(f"k{i}", entry(i), expire=None)
    assert store.get(f"k{i}") == entry(i)  # read-your-writes, queued or not
    store.append_vector(f"k{i}", "s", "lex", i.to_bytes(4, "little"))
    if sys.argv[6] == "flush-every-7" and i % 7 == 6:
        store.flush()
        print(i, flush=True)
store.close()
'''


def run(source: str, *args: str, strace: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", source, *args]
    if strace is not None:
        command = ["strace", "-f", "-qq", "-o", str(strace), "-e", "trace=fsync,fdatasync",
                   *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def syncs(trace: Path) -> int:
    return sum(1 for line in trace.read_text().splitlines()
               if "fsync(" in line or "fdatasync(" in line)


def dump(db: Path) -> list[tuple[object, ...]]:
    """Every row of a diskcache table, all columns (the test's own look, read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
        return list(con.execute("SELECT * FROM Cache ORDER BY rowid"))


def need_strace() -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is not on PATH (.ci/run installs it)")


def test_a_hit_in_a_fresh_process_changes_no_row_and_syncs_nothing(tmp_path: Path) -> None:
    need_strace()
    folder = tmp_path / "cache"
    wrote = tmp_path / "write.trace"
    run(WRITE, str(folder), "0", "40", "1000", "16", "no-flush", strace=wrote)
    assert syncs(wrote) > 0  # a writer does sync: its connection was switched to NORMAL
    databases = [folder / name / "cache.db" for name in ("responses", "vectors")]
    before = [dump(db) for db in databases]
    trace = tmp_path / "hit.trace"
    run(HIT, str(folder), "k7", "7", strace=trace)
    assert syncs(trace) == 0, trace.read_text()
    assert [dump(db) for db in databases] == before  # rows, their order and times alike
    touches = (folder / "touches").read_text().split()
    assert touches[1::2] == ["k7"]  # the use is noted for the next writer, nothing more
    again = tmp_path / "again.trace"
    run(HIT, str(folder), "k8", "8", strace=again)  # the reader left no NORMAL pragma behind
    assert syncs(again) == 0


def test_grouped_writes_are_durable_after_flush_and_close_across_processes(tmp_path: Path
                                                                           ) -> None:
    folder = tmp_path / "cache"
    run(WRITE, str(folder), "0", "150", "1000", "64", "no-flush")
    run(WRITE, str(folder), "150", "30", "1000", "64", "flush-every-7")
    with CacheStore(folder, max_entries=1000, max_bytes=2**31) as store:
        assert all(store.get(f"k{i}") == entry(i) for i in range(180))
        assert len(store) == 180
        logged = list(store.vectors_since("lex", 0))
        assert [seq for seq, *_ in logged] == list(range(1, 181))
        assert [key for _, key, _, _ in logged] == [f"k{i}" for i in range(180)]


def test_queued_writes_are_seen_here_at_once_and_elsewhere_after_the_flush(tmp_path: Path
                                                                           ) -> None:
    folder = tmp_path / "cache"
    grouped = CacheStore(folder, max_entries=100, max_bytes=2**31,
                         grouping=Grouping(entries=50, max_age=3600))
    with grouped, CacheStore(folder, max_entries=100, max_bytes=2**31) as other:
        grouped.set("k0", entry(0), expire=None)  # the first write goes at once
        assert grouped.append_vector("k0", "s", "lex", b"v0") is None  # queued
        for i in range(1, 5):
            grouped.set(f"k{i}", entry(i), expire=None)
        assert grouped.get("k3") == entry(3)
        assert other.get("k0") == entry(0) and other.get("k3") is None
        grouped.flush()
        assert [other.get(f"k{i}") for i in range(5)] == [entry(i) for i in range(5)]
        assert [key for _, key, _, _ in other.vectors_since("lex", 0)] == ["k0"]


def test_a_process_killed_between_flushes_loses_only_queued_entries(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-c", WRITE, str(folder), "0", "100000", "1000000",
                             "1000", "flush-every-7"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    flushed = -1
    for line in proc.stdout:
        flushed = int(line)
        if flushed >= 90:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert flushed >= 90
    with contextlib.closing(sqlite3.connect(folder / "responses" / "cache.db")) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with CacheStore(folder, max_entries=10**6, max_bytes=2**31) as store:
        assert all(store.get(f"k{i}") == entry(i) for i in range(flushed + 1))
        for key, found in store.iter_entries():  # whatever else is there is whole
            assert found == entry(int(key[1:]))
        assert len(store) <= flushed + 1 + 1000


def test_a_recently_hit_entry_survives_a_cull_in_another_process(tmp_path: Path) -> None:
    def cull(folder: Path, hit: bool) -> set[str]:
        run(WRITE, str(folder), "0", "3", "3", "1", "no-flush")  # k0, k1, k2 in that order
        if hit:
            run(HIT, str(folder), "k0", "0")  # a reader: its use goes to the touch file
        run(WRITE, str(folder), "3", "1", "3", "1", "no-flush")  # k3: one entry must go
        with CacheStore(folder, max_entries=3, max_bytes=2**31) as store:
            return {key for key, _ in store.iter_entries()}

    assert cull(tmp_path / "untouched", hit=False) == {"k1", "k2", "k3"}
    assert cull(tmp_path / "touched", hit=True) == {"k0", "k2", "k3"}
    left = tmp_path / "touched" / "touches"  # the last writer's own later hit
    assert left.read_text().split()[1::2] == ["k3"]  # k0's was folded in


def test_the_touch_file_is_private_and_capped(tmp_path: Path) -> None:
    from llmx.cache import recency

    folder = tmp_path / "cache"
    with CacheStore(folder, max_entries=10, max_bytes=2**31) as store:
        store.set("k", entry(1), expire=None)
    touches = folder / recency.TOUCH_FILE
    touches.write_bytes(b"1 x\n" * (recency.TOUCH_FILE_CAP // 4))
    touches.chmod(0o600)
    with CacheStore(folder, max_entries=10, max_bytes=2**31) as store:
        assert store.get("k") == entry(1)
    assert touches.stat().st_size == recency.TOUCH_FILE_CAP  # full: the note was dropped
    touches.unlink()
    old = os.umask(0)
    try:
        with CacheStore(folder, max_entries=10, max_bytes=2**31) as store:
            assert store.get("k") == entry(1)
    finally:
        os.umask(old)
    assert touches.stat().st_mode & 0o777 == 0o600


def test_a_writer_thread_syncs_and_nothing_is_persisted_for_readers(tmp_path: Path) -> None:
    """A new thread's connection starts from the stored pragmas (synchronous OFF) and is
    switched to NORMAL before it writes; the stored setting stays OFF for readers. (The test
    reads the connection's pragma through diskcache's private ``_sql``: the store never does.)
    """
    import threading

    from llmx.cache.databases import RESPONSES

    folder = tmp_path / "cache"
    with CacheStore(folder, max_entries=10, max_bytes=2**31) as store:
        store.set("k0", entry(0), expire=None)
        seen: dict[str, int] = {}

        def pragma(name: str) -> None:
            cache = store._dbs.get(RESPONSES, create=False)
            seen[name] = cache._sql("PRAGMA synchronous").fetchall()[0][0]

        def reader() -> None:
            assert store.get("k0") == entry(0)
            pragma("reader thread")

        def writer() -> None:
            store.set("k1", entry(1), expire=None)
            pragma("writer thread")

        for target in (reader, writer):
            thread = threading.Thread(target=target)
            thread.start()
            thread.join()
        cache = store._dbs.get(RESPONSES, create=False)
        assert seen == {"reader thread": 0, "writer thread": 1}
        assert cache.reset("sqlite_synchronous") == 0  # what new connections will read
        assert store.get("k1") == entry(1)


@pytest.mark.parametrize("loaded_first", [True, False], ids=["loaded", "not-loaded"])
def test_the_index_finds_its_own_queued_vectors_before_the_flush(loaded_first: bool,
                                                                 tmp_path: Path) -> None:
    import numpy as np

    from llmx.cache.vectors import VectorIndex

    def unit(i: int) -> np.ndarray:
        vector = np.zeros(8, dtype=np.float32)
        vector[i] = 1.0
        return vector

    folder = tmp_path / "cache"
    with CacheStore(folder, max_entries=100, max_bytes=2**31,
                    grouping=Grouping(entries=50, max_age=3600)) as store:
        store.set("k0", entry(0), expire=None)  # the first write: at once
        index = VectorIndex(store, "lex", 8)
        if loaded_first:
            assert index.search("s", unit(0), 0.9) == []
        for i in range(3):
            index.add(f"k{i}", "s", unit(i))
        assert store.vector_seq("lex") == 0  # nothing written yet
        assert [key for key, _ in index.search("s", unit(2), 0.9)] == ["k2"]
        store.flush()
        assert store.vector_seq("lex") == 3
        assert [key for key, _ in index.search("s", unit(1), 0.9)] == ["k1"]
        assert len(index) == 3
    with CacheStore(folder, max_entries=100, max_bytes=2**31) as other:
        fresh = VectorIndex(other, "lex", 8)
        assert [key for key, _ in fresh.search("s", unit(0), 0.9)] == ["k0"]
