"""Grouped record writes: queued lines reach the file in whole-line writes, at the latest
after ``group_s`` seconds, on flush/close and at exit; a crash loses only queued lines."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

import llmx.records as records
from llmx.errors import ConfigError
from llmx.records import GROUP_LINES, RecordLog
from tests.stats.factory import BASE_TS, record

REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def on_disk(log: RecordLog) -> int:
    return len(list(log.read()))


def counting_writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    writes: list[bytes] = []
    real = records._write_all

    def spy(fd: int, data: bytes) -> None:
        writes.append(data)
        real(fd, data)

    monkeypatch.setattr(records, "_write_all", spy)
    return writes


def test_queued_lines_wait_for_flush_then_go_in_one_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes = counting_writes(monkeypatch)
    log = RecordLog(tmp_path / "r", group_s=60.0, clock=Clock())
    written = [record(ts=BASE_TS + i) for i in range(5)]
    for item in written:
        log.append(item)
    assert on_disk(log) == 0 and writes == []
    log.flush()
    assert list(log.read()) == written
    assert len(writes) == 1 and writes[0].count(b"\n") == 5 and writes[0].endswith(b"\n")


def test_a_full_queue_is_written_without_a_flush(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / "r", group_s=60.0, clock=Clock())
    for i in range(GROUP_LINES + 3):
        log.append(record(ts=BASE_TS + i))
    assert on_disk(log) == GROUP_LINES
    log.close()
    assert on_disk(log) == GROUP_LINES + 3


def test_an_old_queue_is_written_by_the_next_append(tmp_path: Path) -> None:
    clock = Clock()
    log = RecordLog(tmp_path / "r", group_s=1.0, clock=clock)
    log.append(record())
    clock.now += 0.5
    log.append(record(ts=BASE_TS + 1))
    assert on_disk(log) == 0
    clock.now += 0.6
    log.append(record(ts=BASE_TS + 2))
    assert on_disk(log) == 3


def test_the_event_loop_timer_writes_a_queue_no_append_follows(tmp_path: Path) -> None:
    async def go() -> tuple[int, int]:
        log = RecordLog(tmp_path / "r", group_s=0.05)
        log.append(record())
        before = on_disk(log)
        await asyncio.sleep(0.3)
        return before, on_disk(log)

    assert asyncio.run(go()) == (0, 1)


def test_records_of_two_months_go_to_their_own_files(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / "r", group_s=60.0, clock=Clock())
    january, february = 1767225600.0, 1769904000.0  # 2026-01-01, 2026-02-01 UTC
    log.append(record(ts=january))
    log.append(record(ts=february))
    log.flush()
    assert [p.name for p in log.files()] == ["records-2026-01.jsonl", "records-2026-02.jsonl"]


def test_a_failed_timer_write_is_raised_by_the_next_call(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    async def go() -> None:
        log = RecordLog(blocker / "r", group_s=0.01)
        log.append(record())
        await asyncio.sleep(0.2)  # the timer tried and failed
        with pytest.raises(ConfigError):  # what the same write raises when not grouped
            log.append(record(ts=BASE_TS + 1))
        log.append(record(ts=BASE_TS + 2))  # reported once: the next call queues again

    asyncio.run(go())


CHILD = """
import os, sys
from llmx.records import RecordLog
from tests.stats.factory import BASE_TS, record
log = RecordLog(__import__("pathlib").Path(sys.argv[1]), group_s=60.0)
for i in range(7):
    log.append(record(ts=BASE_TS + i))
log.flush()
for i in range(7, 10):
    log.append(record(ts=BASE_TS + i))
if sys.argv[2] == "crash":
    os._exit(3)
"""


@pytest.mark.parametrize("ending", ["crash", "exit"])
def test_a_crash_loses_only_queued_lines_an_exit_none(tmp_path: Path, ending: str) -> None:
    directory = tmp_path / "r"
    run = subprocess.run([sys.executable, "-c", CHILD, str(directory), ending], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == (3 if ending == "crash" else 0), run.stderr
    (path,) = RecordLog(directory).files()
    data = path.read_bytes()
    assert data.endswith(b"\n") and all(line.startswith(b'{"v":') for line in data.splitlines())
    assert on_disk(RecordLog(directory)) == (7 if ending == "crash" else 10)
