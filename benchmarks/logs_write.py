"""What logging an answer costs the process that delivered it, against a request record.

    python benchmarks/logs_write.py [--rounds 300] [--answer-bytes 600] [--repeat 5]

1. Per answer: ``llmx.logs.append`` (one spool line under a lock, what every ``llmx ask``
   does after its answer) against ``RecordLog.append`` (the request record every ask
   writes already), alternating A B A B in one process, CPU microseconds per call, median
   of ``--repeat`` runs; the ratio is logs / records. The spool is drained between runs
   (outside the timing) and ``--rounds`` is capped so that no timed call drains.
2. Per drain: moving a spool of ``DRAIN_BYTES`` into the database (``open_logs``: what a
   writer whose line crossed the limit pays once, and every reader), milliseconds and
   microseconds per line, and that cost spread over the appends that filled the spool.
3. A direct SQLite insert per answer (open, insert row and FTS row, commit, close: what
   ``append`` would cost without the spool), against ``append``.

Everything runs in a fresh temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from llmx.logs import DRAIN_BYTES, Entry, append, cleaned, new_id, to_line
from llmx.logs_db import open_logs
from llmx.records import Record, RecordLog


def entry(answer_bytes: int) -> Entry:
    return Entry(uid=new_id(24), ts=time.time(), cid="c0ffee000001", profile="sim",
                 provider="openai", model="sim-1", tier="exact", system=None,
                 prompt="a question for the bench", answer="word " * (answer_bytes // 5),
                 input_tokens=6, output_tokens=120)


def record() -> Record:
    return Record(ts=time.time(), profile="sim", provider="openai", model="sim-1",
                  tier="exact", similarity=None, lookup_ms=0.4, latency_ms=1.0, ttft_ms=0.5,
                  input_tokens=6, output_tokens=120, tokens_saved=0, cost=None,
                  cost_saved=None, status="ok", error=None)


def cpu_us(rounds: int, call: Callable[[], None],
           clock: Callable[[], float] = time.process_time) -> float:
    """Microseconds per ``call()`` by ``clock`` (CPU time unless told)."""
    started = clock()
    for _ in range(rounds):
        call()
    return (clock() - started) / rounds * 1e6


def drain(home: Path) -> None:
    connection = open_logs(home, create=True)
    assert connection is not None
    connection.close()


def direct(home: Path, one: Entry) -> None:
    """One answer into the database without the spool (the design not taken)."""
    connection = sqlite3.connect(home / "direct.db", timeout=60, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        cursor = connection.execute("INSERT INTO logs (uid, prompt, answer) VALUES (?, ?, ?)",
                                    (new_id(24), one.prompt, one.answer))
        connection.execute("INSERT INTO logs_fts (rowid, prompt, answer) VALUES (?, ?, ?)",
                           (cursor.lastrowid, one.prompt, one.answer))
        connection.execute("COMMIT")
    finally:
        connection.close()


def per_answer(home: Path, args: argparse.Namespace) -> float:
    one, log = entry(args.answer_bytes), RecordLog(home / "records")
    rounds = min(args.rounds, DRAIN_BYTES // len(to_line(cleaned(one))))
    logs_runs, record_runs = [], []
    for _ in range(args.repeat):
        logs_runs.append(cpu_us(rounds, lambda: append(one._replace(uid=new_id(24)), home)))
        record_runs.append(cpu_us(rounds, lambda: log.append(record())))
        drain(home)
    a, b = statistics.median(logs_runs), statistics.median(record_runs)
    print(f"per answer ({rounds} calls a run): logs.append {a:.1f} us CPU, "
          f"RecordLog.append {b:.1f} us; ratio {a / b:.2f}")
    return a


def per_drain(home: Path, args: argparse.Namespace, append_us: float) -> None:
    line = len(to_line(cleaned(entry(args.answer_bytes))))
    lines = DRAIN_BYTES // line + 1
    runs = []
    for _ in range(args.repeat):
        for _ in range(lines - 1):
            append(entry(args.answer_bytes), home)
        started = time.perf_counter()
        drain(home)
        runs.append((time.perf_counter() - started) * 1000)
    ms = statistics.median(runs)
    print(f"per drain of {lines} lines ({DRAIN_BYTES // 1024} KiB): {ms:.1f} ms wall, "
          f"{ms * 1000 / lines:.1f} us per line; an answer's share with its append: "
          f"{append_us + ms * 1000 / lines:.0f} us")


def versus_direct(home: Path, args: argparse.Namespace) -> None:
    one = entry(args.answer_bytes)
    setup = sqlite3.connect(home / "direct.db")
    setup.execute("PRAGMA journal_mode = WAL")
    setup.execute("CREATE TABLE logs (id INTEGER PRIMARY KEY, uid TEXT UNIQUE, prompt TEXT, "
                  "answer TEXT)")
    setup.execute("CREATE VIRTUAL TABLE logs_fts USING fts5(prompt, answer, content='logs', "
                  "content_rowid='id')")
    setup.close()
    rounds = max(args.rounds // 10, 20)
    spooled, straight = [], []
    for _ in range(args.repeat):
        spooled.append(cpu_us(rounds, lambda: append(one._replace(uid=new_id(24)), home),
                              time.perf_counter))
        straight.append(cpu_us(rounds, lambda: direct(home, one), time.perf_counter))
        drain(home)
    a, b = statistics.median(spooled), statistics.median(straight)
    print(f"per answer, wall: spooled {a:.0f} us, direct SQLite insert {b:.0f} us; "
          f"ratio {a / b:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--answer-bytes", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="llmx-logs-bench-"))
    try:
        append_us = per_answer(home / "a", args)
        per_drain(home / "b", args, append_us)
        (home / "c").mkdir()
        versus_direct(home / "c", args)
    finally:
        shutil.rmtree(home)


if __name__ == "__main__":
    main()
