"""The output file as a transaction (llmx/batch/outfile.py): whole lines, partial + rename,
the resume merge, failures that keep every whole line."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from llmx.batch.jobs import OrderedWriter, Result
from llmx.batch.outfile import (
    LineSink,
    OutputFailed,
    OutputFile,
    partial_path,
    real_target,
    write_atomic,
)
from llmx.errors import ExitCode, ProviderError
from llmx.types import Usage


def ok(index: int, text: str = "t") -> bytes:
    return Result(index, f"id{index}", text, Usage(2, 3), False, 1.0, 1).to_line()


def failed(index: int) -> bytes:
    return Result.failed(index, f"id{index}", ProviderError("x"), 1).to_line()


def ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_bytes().splitlines()]


def test_a_run_writes_beside_the_target_and_renames_at_commit(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(ok(9))
    os.chmod(target, 0o640)
    output, done = OutputFile.begin(target, resume=False)
    assert done == set()
    OrderedWriter(output.sink).add(0, Result(0, "id0", "t"))
    assert target.read_bytes() == ok(9)  # the old output stays until the run ends
    assert ids(partial_path(target)) == ["id0"]
    output.commit()
    assert ids(target) == ["id0"]
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_resume_merges_the_target_and_a_killed_runs_partial(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(ok(0) + failed(1) + ok(2) + ok(0, "again") + b"garbage\n" + ok(3)[:20])
    partial_path(target).write_bytes(ok(2, "later") + ok(4) + failed(5) + ok(6).rstrip(b"\n"))
    before = target.read_bytes()
    output, done = OutputFile.begin(target, resume=True)
    assert done == {"id0", "id2", "id4", "id6"}
    assert target.read_bytes() == before  # untouched until the commit
    assert partial_path(target).read_bytes() == ok(0) + ok(2) + ok(4) + ok(6)
    output.sink.write(ok(1) + ok(3))
    output.commit()
    assert ids(target) == ["id0", "id2", "id4", "id6", "id1", "id3"]


def test_a_refused_or_empty_run_leaves_the_target_alone(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(ok(0))
    output, _ = OutputFile.begin(target, resume=False)
    output.abandon()
    assert target.read_bytes() == ok(0) and not partial_path(target).exists()


def test_a_symlinked_target_is_replaced_behind_its_link(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    real.write_bytes(ok(0))
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    output, done = OutputFile.begin(real_target(str(link)), resume=True)
    output.sink.write(ok(1))
    output.commit()
    assert link.is_symlink() and done == {"id0"}
    assert ids(real) == ["id0", "id1"]


def test_a_failed_write_keeps_whole_lines_and_fails_every_later_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.jsonl"
    output, _ = OutputFile.begin(target, resume=False)
    sink = output.sink
    sink.write(ok(0))
    real_write = os.write

    def short_then_full(fd: int, data: bytes | memoryview) -> int:
        if len(data) > 10:
            return real_write(fd, bytes(data[:10]))  # a short write, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("llmx.batch.outfile.os.write", short_then_full)
    with pytest.raises(OutputFailed, match="No space left on device") as info:
        sink.write(ok(1) + ok(2))
    assert info.value.exit_code == ExitCode.OUTPUT and "1 whole lines kept" in info.value.message
    assert partial_path(target).read_bytes() == ok(0)  # the half line was cut off
    monkeypatch.setattr("llmx.batch.outfile.os.write", real_write)
    with pytest.raises(OutputFailed):
        sink.write(ok(3))  # sticky: no line after a gap
    output.commit()
    assert target.read_bytes() == ok(0)


def test_a_full_device_fails_cleanly() -> None:
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        sink = LineSink(fd, "/dev/full")
        with pytest.raises(OutputFailed, match="No space left"):
            sink.write(ok(0))
    finally:
        os.close(fd)


def test_a_broken_pipe_stays_a_broken_pipe() -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        with pytest.raises(BrokenPipeError):
            LineSink(write, "stdout").write(ok(0))
    finally:
        os.close(write)


def test_resume_that_cannot_write_its_merge_leaves_both_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(ok(0) + failed(1))
    partial_path(target).write_bytes(ok(2))

    def full(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("llmx.batch.outfile.os.write", full)
    with pytest.raises(OutputFailed, match="unchanged"):
        OutputFile.begin(target, resume=True)
    assert target.read_bytes() == ok(0) + failed(1)
    assert partial_path(target).read_bytes() == ok(2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.jsonl.llmx-partial",
                                                          "out.jsonl"]


def test_write_atomic_replaces_whole_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text("old")
    os.chmod(path, 0o600)
    write_atomic(path, b'{"ok": 1}\n')
    assert path.read_bytes() == b'{"ok": 1}\n' and path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_abandoning_a_resume_keeps_a_killed_runs_partial(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(ok(0))
    output, _ = OutputFile.begin(target, resume=True)
    output.abandon()  # nothing of its own: the merge is dropped, the target stays
    assert target.read_bytes() == ok(0) and not partial_path(target).exists()
    partial_path(target).write_bytes(ok(1))
    output, _ = OutputFile.begin(target, resume=True)
    output.abandon()
    assert target.read_bytes() == ok(0)
    assert partial_path(target).read_bytes() == ok(0) + ok(1)  # id1 lives only here
