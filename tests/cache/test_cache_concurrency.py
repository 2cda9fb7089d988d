"""Real processes on one store: eight writers at once, and writers killed with SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmx.cache.store import CacheStore
from llmx.cache.types import Entry

# Shared by the parent and the child processes (pasted into the child's -c source).
ENTRY_CODE = '''
from llmx.cache.types import Entry

def expected(key, size):
    text = key + "|" + "x" * size
    return Entry(text=text, chunks=(len(key), 1, size), model="m", provider="p",
                 input_tokens=len(key), output_tokens=size, finish_reason="stop",
                 prompt="prompt " + key, scope="s", kind="chat", created=1.0)

def vector_of(key):
    return (key * 8).encode()[:32].ljust(32, b"-")
'''
namespace: dict[str, Any] = {}
exec(ENTRY_CODE, namespace)
expected: Callable[[str, int], Entry] = namespace["expected"]
vector_of: Callable[[str], bytes] = namespace["vector_of"]

WRITER = ENTRY_CODE + '''
import os, sys, time
from pathlib import Path
from llmx.cache.store import CacheStore

folder, worker, count, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print("ready", flush=True)
deadline = time.monotonic() + 30
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.001)
with CacheStore(folder, max_entries=100_000, max_bytes=2**30) as store:
    for i in range(count):
        key = f"w{worker}-{i}"
        store.set(key, expected(key, 100 + i), expire=None)
        assert store.get(key) == expected(key, 100 + i), key
        store.set("shared", expected("shared", worker), expire=None)
        if i % 4 == 0:
            print(store.append_vector(key, "s", "lex", vector_of(key)), flush=True)
        store.get("shared")
'''

KILLED = ENTRY_CODE + '''
import sys
from pathlib import Path
from llmx.cache.store import CacheStore

folder, prefix, size = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with CacheStore(folder, max_entries=100_000, max_bytes=3_000_000) as store:
    i = 0
    while True:
        key = f"{prefix}-{i}"
        store.set(key, expected(key, size + i), expire=None)
        store.append_vector(key, "s", "lex", vector_of(key))
        print(i, flush=True)
        i += 1
'''


def spawn(source: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    return subprocess.Popen([sys.executable, "-c", source, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_eight_processes_write_and_read_at_once(tmp_path: Path) -> None:
    folder, go, count = tmp_path / "cache", tmp_path / "go", 30
    procs = [spawn(WRITER, str(folder), str(w), str(count), str(go)) for w in range(8)]
    for proc in procs:  # every child is imported and waiting: start them together
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    go.touch()
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "Timeout" not in err, err
    seqs = sorted(int(line) for out, _ in results for line in out.split())  # after "ready"
    assert seqs == list(range(1, 8 * len(range(0, count, 4)) + 1))  # unique and gap-free
    with CacheStore(folder, max_entries=100_000, max_bytes=2**30) as store:
        for w in range(8):
            for i in range(count):
                key = f"w{w}-{i}"
                assert store.get(key) == expected(key, 100 + i)
        shared = store.get("shared")
        assert shared is not None and shared.text.startswith("shared|")
        assert len(store) == 8 * count + 1
        logged = {key for _, key, _, _ in store.vectors_since("lex", 0)}
        assert logged == {f"w{w}-{i}" for w in range(8) for i in range(0, count, 4)}


def kill_mid_stream(folder: Path, prefix: str, size: int, rng: random.Random) -> int:
    """Start a writer, let it finish a random number of writes, SIGKILL it; returns the
    highest index it may have started."""
    proc = spawn(KILLED, str(folder), prefix, str(size))
    assert proc.stdout is not None
    target, done = rng.randint(3, 40), -1
    for line in proc.stdout:
        done = int(line)
        if done >= target:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return done + 1


def want(key: str, started: dict[str, tuple[int, int]]) -> Entry:
    prefix, index = key.rsplit("-", 1)
    return expected(key, started[prefix][1] + int(index))


def check_everything_served_is_whole(folder: Path, started: dict[str, tuple[int, int]]) -> None:
    with sqlite3.connect(folder / "responses" / "cache.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with CacheStore(folder, max_entries=100_000, max_bytes=3_000_000) as store:
        served = 0
        for prefix, (last, _) in started.items():
            for i in range(last + 1):
                entry = store.get(f"{prefix}-{i}")
                if entry is not None:
                    served += 1
                    assert entry == want(f"{prefix}-{i}", started)
        assert served > 0
        for key, entry in store.iter_entries():
            assert key == "after" or entry == want(key, started)
        seqs = []
        for seq, key, scope, vector in store.vectors_since("lex", 0):
            assert scope == "s" and vector == vector_of(key)
            seqs.append(seq)
        assert seqs == sorted(set(seqs)) and seqs
        after = expected("after", 10)
        store.set("after", after, expire=None)
        assert store.get("after") == after


def test_sigkill_mid_write_leaves_a_store_that_opens_and_serves_only_whole_entries(
        tmp_path: Path) -> None:
    folder, rng = tmp_path / "cache", random.Random(os.getpid())
    started: dict[str, tuple[int, int]] = {}
    for round_ in range(4):
        prefix, size = f"r{round_}", rng.choice([2_000, 40_000, 200_000])
        started[prefix] = (kill_mid_stream(folder, prefix, size, rng), size)
        check_everything_served_is_whole(folder, started)
