"""The request records: JSONL files per month, appended by many processes at once."""

from __future__ import annotations

import calendar
import json
import os
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from llmx.records import Record, RecordLog, Skipped, error_name
from tests.stats.factory import BASE_TS, record

REPO = Path(__file__).resolve().parents[2]
DOCUMENTED_KEYS = {
    "v", "ts", "profile", "provider", "model", "tier", "similarity", "lookup_ms", "latency_ms",
    "ttft_ms", "input_tokens", "output_tokens", "tokens_saved", "cost", "cost_saved", "status",
    "error", "reasoning_tokens", "queue_ms", "shared",
}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: float = 0.0) -> float:
    return calendar.timegm((year, month, day, hour, minute, 0, 0, 0, 0)) + second


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    written = [
        record(),
        record(ts=BASE_TS + 1.25, tier="semantic", similarity=0.9375, lookup_ms=2.5,
               ttft_ms=None, cost=0.0, cost_saved=0.00123, profile="fast", model="m/ü"),
        record(ts=BASE_TS + 2, tier="off", lookup_ms=0.0, status="error",
               error="RateLimitError", cost=0.5, input_tokens=0, output_tokens=0,
               tokens_saved=3, provider="anthropic"),
        record(ts=BASE_TS + 3, tier="off", lookup_ms=0.0, cost=0.0, cost_saved=0.5,
               queue_ms=12.5, shared=True),
    ]
    log = RecordLog(tmp_path / "records")
    for item in written:
        log.append(item)
    assert list(log.read()) == written


def test_line_holds_the_documented_keys_and_nothing_else(tmp_path: Path) -> None:
    log = RecordLog(tmp_path)
    log.append(record(error="TimeoutError", status="error"))
    (line,) = log.path_for(BASE_TS).read_text().splitlines()
    data = json.loads(line)
    assert set(data) == DOCUMENTED_KEYS
    assert data["v"] == 1 and data["error"] == "TimeoutError" and data["tier"] == "miss"


def test_error_messages_never_reach_a_record(tmp_path: Path) -> None:
    secret = "sk-live-0123456789abcdef"
    with pytest.raises(ValueError, match="class name"):
        record(status="error", error=f"invalid key {secret}")
    failure = PermissionError(f"key {secret} rejected")
    log = RecordLog(tmp_path)
    log.append(record(status="error", error=error_name(failure)))
    text = log.path_for(BASE_TS).read_text()
    assert "PermissionError" in text and secret not in text


def test_invalid_tier_status_and_time_are_refused() -> None:
    with pytest.raises(ValueError):
        record(tier="hit")
    with pytest.raises(ValueError):
        record(status="failed")
    with pytest.raises(ValueError):
        record(ts=float("nan"))


def test_private_modes_even_with_a_permissive_umask(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "records"
    log = RecordLog(directory)
    old = os.umask(0)
    try:
        log.append(record())
    finally:
        os.umask(old)
    assert mode(directory) == 0o700
    assert mode(log.path_for(BASE_TS)) == 0o600


def test_an_existing_open_file_is_tightened(tmp_path: Path) -> None:
    log = RecordLog(tmp_path)
    path = log.path_for(BASE_TS)
    path.write_text("")
    path.chmod(0o644)
    log.append(record())
    assert mode(path) == 0o600


def test_a_removed_directory_is_created_again(tmp_path: Path) -> None:
    directory = tmp_path / "records"
    log = RecordLog(directory)
    log.append(record(input_tokens=1))
    log.path_for(BASE_TS).unlink()
    directory.rmdir()
    log.append(record(input_tokens=2))
    assert [r.input_tokens for r in log.read()] == [2]
    assert mode(directory) == 0o700


def test_reading_creates_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "never"
    assert list(RecordLog(directory).read()) == []
    assert not directory.exists()


def test_malformed_lines_are_skipped(tmp_path: Path) -> None:
    good = [record(input_tokens=n) for n in (1, 2, 3, 4)]
    line = [json.dumps(item.to_json()) for item in good]
    bad_error = {**good[0].to_json(), "error": "a message with spaces", "status": "error"}
    lines = [
        line[0],
        "not json at all",
        line[1][: len(line[1]) // 2],  # cut short by a crash ...
        "[1, 2, 3]",
        json.dumps({**good[0].to_json(), "v": 99}),
        json.dumps({**good[0].to_json(), "input_tokens": -1}),
        json.dumps({**good[0].to_json(), "latency_ms": "fast"}),
        json.dumps({**good[0].to_json(), "input_tokens": True}),
        json.dumps({key: v for key, v in good[0].to_json().items() if key != "model"}),
        json.dumps(bad_error),
        "",
        line[2],
    ]
    log = RecordLog(tmp_path)
    path = log.path_for(BASE_TS)
    # the cut line has the next append glued to it; a trailing partial line has no newline
    content = "\n".join(lines) + "\n" + line[1][:40] + line[3] + "\n" + line[0][:30]
    path.write_bytes(content.encode() + b"\xff\xfe\n")
    assert [r.input_tokens for r in log.read()] == [1, 3, 4]
    skipped = Skipped()
    assert [r.input_tokens for r in log.read(skipped=skipped)] == [1, 3, 4]
    # ten bad lines, the empty one, the cut one with a record glued to it, the last partial
    assert skipped.lines == 12


def test_skipped_lines_are_counted_across_files_and_not_for_since(tmp_path: Path) -> None:
    log = RecordLog(tmp_path)
    old, new = record(ts=utc(2026, 1, 5)), record(ts=utc(2026, 2, 5))
    log.append(old)
    log.append(new)
    for item in (old, new):
        with open(log.path_for(item.ts), "ab") as handle:
            handle.write(b"garbage\n")
    everything = Skipped()
    assert list(log.read(skipped=everything)) == [old, new] and everything.lines == 2
    recent = Skipped()
    assert list(log.read(utc(2026, 2, 1), skipped=recent)) == [new] and recent.lines == 1


def test_unknown_keys_from_a_newer_writer_are_ignored(tmp_path: Path) -> None:
    log = RecordLog(tmp_path)
    extended = {**record(input_tokens=7).to_json(), "region": "eu"}
    log.path_for(BASE_TS).write_text(json.dumps(extended) + "\n")
    assert [r.input_tokens for r in log.read()] == [7]


def test_month_rollover_and_since(tmp_path: Path) -> None:
    log = RecordLog(tmp_path)
    december = record(ts=utc(2023, 12, 31, 23, 59, 59.5), model="dec")
    january = record(ts=utc(2024, 1, 31, 23, 59, 59.999), model="jan")
    february = record(ts=utc(2024, 2, 1), model="feb")
    later = record(ts=utc(2024, 2, 9, 12), model="feb-later")
    for item in (december, january, february, later):
        log.append(item)
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["records-2023-12.jsonl", "records-2024-01.jsonl", "records-2024-02.jsonl"]
    assert [r.model for r in log.read()] == ["dec", "jan", "feb", "feb-later"]
    assert [r.model for r in log.read(utc(2024, 2, 1))] == ["feb", "feb-later"]
    assert [r.model for r in log.read(utc(2024, 1, 15))] == ["jan", "feb", "feb-later"]
    assert list(log.read(utc(2024, 3, 1))) == []


def test_since_keeps_a_later_record_glued_to_an_older_cut_line(tmp_path: Path) -> None:
    log = RecordLog(tmp_path)
    old = json.dumps(record(ts=BASE_TS, model="old").to_json())
    new = json.dumps(record(ts=BASE_TS + 100, model="new").to_json())
    later = json.dumps(record(ts=BASE_TS + 200, model="later").to_json())
    log.path_for(BASE_TS).write_text(f"{old}\n{old[:50]}{new}\n{later}\n")
    assert [r.model for r in log.read(BASE_TS + 50)] == ["new", "later"]
    assert [r.model for r in log.read(BASE_TS + 150)] == ["later"]
    assert [r.model for r in log.read(BASE_TS)] == ["old", "new", "later"]


def test_since_skips_files_of_earlier_months(tmp_path: Path) -> None:
    log = RecordLog(tmp_path)
    log.append(record(ts=utc(2024, 2, 3), model="feb"))
    # a record in the January file that claims a February time: only found if January is read
    stray = record(ts=utc(2024, 2, 5), model="stray").to_json()
    (tmp_path / "records-2024-01.jsonl").write_text(json.dumps(stray) + "\n")
    assert [r.model for r in log.read(utc(2024, 2, 1))] == ["feb"]
    assert sorted(r.model for r in log.read()) == ["feb", "stray"]


def test_other_files_in_the_directory_are_ignored(tmp_path: Path) -> None:
    log = RecordLog(tmp_path)
    log.append(record())
    (tmp_path / "records-2023-11.jsonl.bak").write_text(json.dumps(record().to_json()) + "\n")
    (tmp_path / "records-20x3-11.jsonl").write_text(json.dumps(record().to_json()) + "\n")
    (tmp_path / "records-2023-12.jsonl").mkdir()
    assert len(list(log.read())) == 1


WORKER = """
import sys
from pathlib import Path
from llmx.records import Record, RecordLog
worker, count = int(sys.argv[2]), int(sys.argv[3])
log = RecordLog(Path(sys.argv[1]))
sys.stdin.readline()  # wait until every worker is up
for i in range(count):
    log.append(Record(ts=1_700_000_000.0 + i / 1000, profile=f"w{worker}", provider="sim",
                      model="m" * 300, tier="miss", similarity=None, lookup_ms=0.25,
                      latency_ms=12.5, ttft_ms=3.0, input_tokens=i, output_tokens=worker,
                      tokens_saved=0, cost=None, cost_saved=None, status="ok", error=None))
"""


def test_eight_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    workers, each = 8, 500
    directory = tmp_path / "records"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(directory), str(w), str(each)],
                              stdin=subprocess.PIPE, env=env) for w in range(workers)]
    for proc in procs:  # all started: let them go together
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
    assert [proc.wait(timeout=120) for proc in procs] == [0] * workers

    (path,) = directory.iterdir()
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    assert lines[-1] == b""  # the file ends with a complete line
    parsed = [Record.from_json(json.loads(line)) for line in lines[:-1]]
    assert len(parsed) == workers * each
    seen = Counter((r.profile, r.input_tokens) for r in parsed)
    assert set(seen) == {(f"w{w}", i) for w in range(workers) for i in range(each)}
    assert max(seen.values()) == 1
    assert all(r.output_tokens == int(r.profile[1:]) for r in parsed)
