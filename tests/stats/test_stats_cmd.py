"""``run_stats``: records on disk -> JSON or a table on stdout."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from llmx.cli.stats_cmd import run_stats
from llmx.errors import UsageError
from llmx.paths import records_dir
from llmx.records import Record, RecordLog
from tests.cli.harness import Streams, invoke, memory_io
from tests.stats.factory import record


def make_io(home: Path, *, tty: bool = False, **env: str) -> Streams:
    return memory_io(env={"LLMX_HOME": str(home), **env}, stdout_is_tty=tty)


def out(streams: Streams) -> str:
    return streams.out()


def stats_json(streams: Streams, **options: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"since": None, "by": None, "entries": None, "disk_bytes": None}
    args.update(options)
    assert run_stats(streams.io, as_json=True, **args) == 0
    text = out(streams)
    assert text.count("\n") == 1  # one JSON object on one line
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


def write(home: Path, records: list[Record]) -> None:
    log = RecordLog(records_dir({"LLMX_HOME": str(home)}))
    for item in records:
        log.append(item)


def recent(count: int) -> list[Record]:
    """``count`` records from the last few minutes, tiers cycling, tokens varying."""
    now = time.time()
    tiers = ["exact", "miss", "semantic", "off", "miss"]
    return [record(ts=now - 300 + i, tier=tiers[i % 5], input_tokens=i, output_tokens=2 * i,
                   model=f"m{i % 3}", status="error" if i % 7 == 0 else "ok",
                   error="StreamError" if i % 7 == 0 else None)
            for i in range(count)]


def test_no_records_json_has_zero_counts(tmp_path: Path) -> None:
    data = stats_json(make_io(tmp_path), entries=0, disk_bytes=4096)
    assert data["total"]["requests"] == 0
    assert data["total"]["tiers"] == {"exact": 0, "semantic": 0, "miss": 0, "off": 0}
    assert (data["entries"], data["disk_bytes"], data["since"]) == (0, 4096, None)
    assert not records_dir({"LLMX_HOME": str(tmp_path)}).exists()


def test_no_records_text_is_one_friendly_line(tmp_path: Path) -> None:
    streams = make_io(tmp_path)
    assert run_stats(streams.io, as_json=False, since="24h", by=None, entries=None,
                     disk_bytes=None) == 0
    text = out(streams)
    assert text.count("\n") == 1 and "No requests recorded in the last 24h" in text


def test_json_agrees_with_the_records(tmp_path: Path) -> None:
    written = recent(40)
    write(tmp_path, written)
    data = stats_json(make_io(tmp_path), entries=17, disk_bytes=123_456, by="model")
    tiers = Counter(r.tier for r in written)
    total = data["total"]
    assert total["requests"] == len(written)
    assert total["errors"] == sum(1 for r in written if r.status == "error")
    assert total["tiers"] == {tier: tiers[tier] for tier in ("exact", "semantic", "miss", "off")}
    hits = tiers["exact"] + tiers["semantic"]
    assert total["hit_rate"]["total"] == pytest.approx(hits / (hits + tiers["miss"]))
    answered = [r for r in written if r.tier in ("miss", "off")]
    assert total["tokens"]["input"] == sum(r.input_tokens for r in answered)
    assert total["tokens"]["output"] == sum(r.output_tokens for r in answered)
    assert total["tokens"]["saved_by_cache"] == sum(
        r.input_tokens + r.output_tokens for r in written if r.tier in ("exact", "semantic"))
    by_model = {g["name"]: g["requests"] for g in data["groups"]}
    assert by_model == dict(Counter(r.model for r in written))
    assert (data["entries"], data["disk_bytes"], data["by"]) == (17, 123_456, "model")
    assert sum(p["requests"] for p in data["hits_over_time"]["points"]) == len(written)


def test_bad_records_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    written = recent(5)
    write(tmp_path, written)
    path = RecordLog(records_dir({"LLMX_HOME": str(tmp_path)})).path_for(written[0].ts)
    with open(path, "ab") as handle:
        handle.write(b"{not a record}\n\x00\x01 binary junk\n")
    data = stats_json(make_io(tmp_path))
    assert data["total"]["requests"] == 5 and data["skipped_lines"] == 2
    streams = make_io(tmp_path)
    assert run_stats(streams.io, as_json=False, since=None, by=None, entries=None,
                     disk_bytes=None) == 0
    note = streams.err()
    assert note.count("\n") == 1 and "2 unreadable lines" in note and "skipped" in note


def test_no_skipped_lines_means_no_note(tmp_path: Path) -> None:
    write(tmp_path, recent(3))
    assert stats_json(make_io(tmp_path))["skipped_lines"] == 0
    streams = make_io(tmp_path)
    run_stats(streams.io, as_json=False, since=None, by=None, entries=None, disk_bytes=None)
    assert streams.err() == ""


def test_since_leaves_older_records_out(tmp_path: Path) -> None:
    now = time.time()
    write(tmp_path, [record(ts=now - 7200, model="old"), record(ts=now - 60, model="new"),
                     record(ts=now - 30, model="new")])
    data = stats_json(make_io(tmp_path), since="1h", by="model")
    assert [(g["name"], g["requests"]) for g in data["groups"]] == [("new", 2)]
    assert data["since"] == "1h"
    assert data["start"] == pytest.approx(now - 3600, abs=60)
    everything = stats_json(make_io(tmp_path))
    assert everything["total"]["requests"] == 3


def test_table_on_a_pipe_has_no_ansi(tmp_path: Path) -> None:
    write(tmp_path, recent(10))
    streams = make_io(tmp_path, COLUMNS="80")
    assert run_stats(streams.io, as_json=False, since=None, by="profile", entries=3,
                     disk_bytes=2048) == 0
    text = out(streams)
    assert "\x1b" not in text
    assert "requests" in text and "10" in text and "3 entries · 2.0 KiB on disk" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_terminal_gets_colour_unless_no_color(tmp_path: Path) -> None:
    write(tmp_path, recent(10))
    coloured = make_io(tmp_path, tty=True, TERM="xterm-256color")
    run_stats(coloured.io, as_json=False, since=None, by=None, entries=None, disk_bytes=None)
    plain = make_io(tmp_path, tty=True, TERM="xterm-256color", NO_COLOR="1")
    run_stats(plain.io, as_json=False, since=None, by=None, entries=None, disk_bytes=None)
    cyan = "\x1b[36m"
    assert cyan in out(coloured)
    assert cyan not in out(plain) and "requests" in out(plain)


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        run_stats(make_io(tmp_path).io, as_json=True, since="yesterday", by=None, entries=None,
                  disk_bytes=None)
    with pytest.raises(UsageError):
        run_stats(make_io(tmp_path).io, as_json=True, since=None, by="provider", entries=None,
                  disk_bytes=None)


def test_the_command_reads_records_and_the_cache_of_its_environment(tmp_path: Path) -> None:
    write(tmp_path, recent(6))
    result = invoke(["stats", "--json", "--by", "model"], env={"LLMX_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"]["requests"] == 6 and data["entries"] == 0
    assert {g["name"] for g in data["groups"]} == {"m0", "m1", "m2"}
    bad = invoke(["stats", "--since", "yesterday"], env={"LLMX_HOME": str(tmp_path)})
    bad.assert_one_error(2, "yesterday")
