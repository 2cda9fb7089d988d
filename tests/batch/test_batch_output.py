"""Output lines, the reorder buffer, resume helpers."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from llmx.batch.jobs import OrderedWriter, Result, done_ids, prepare_resume
from llmx.errors import ProviderError, RateLimitError
from llmx.types import Completion, Usage

from .fakes import lines_of


def ok(index: int, text: str = "t") -> Result:
    return Result(index, f"id{index}", text, Usage(2, 3), False, 12.3456, 1)


class CountingStream(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.flushes = 0

    def write(self, data: object) -> int:
        self.writes += 1
        return super().write(data)  # type: ignore[arg-type]

    def flush(self) -> None:
        self.flushes += 1


def test_answered_line_shape() -> None:
    completion = Completion("héllo\nworld", "m", "p", Usage(4, 5), latency_ms=7.25,
                            cached="exact")
    line = Result.answered(3, "q3", completion, attempts=2).to_line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"id": "q3", "text": "héllo\nworld",
                                "usage": {"input_tokens": 4, "output_tokens": 5},
                                "cached": "exact", "latency_ms": 7.25, "attempts": 2}


def test_error_line_shape_and_one_line_messages() -> None:
    exc = RateLimitError("too many\nrequests   now", retry_after=3)
    line = json.loads(Result.failed(0, "q0", exc, attempts=3).to_line())
    assert line == {"id": "q0", "error": {"type": "RateLimitError",
                                          "message": "too many requests now"}, "attempts": 3}
    assert json.loads(Result.failed(0, "b", ("BadLine", "line 1: x"), 0).to_line())["error"] == {
        "type": "BadLine", "message": "line 1: x"}


def test_foreign_exception_messages_are_not_copied() -> None:
    secret = "sk-live-abcdef"
    line = Result.failed(0, "q", KeyError(secret), 1).to_line()
    assert secret.encode() not in line
    assert json.loads(line)["error"]["type"] == "KeyError"


def test_lone_surrogates_still_give_a_valid_line() -> None:
    line = Result(0, "s", "bad \ud800 text").to_line()
    assert json.loads(line)["text"] == "bad \ud800 text"


def test_ordered_writer_holds_until_the_gap_fills_then_writes_once() -> None:
    out = CountingStream()
    writer = OrderedWriter(out)
    assert writer.add(2, ok(2)) == 0
    assert writer.add(1, ok(1)) == 0
    assert out.getvalue() == b"" and writer.buffered == 2
    assert writer.add(0, ok(0)) == 3
    assert [line["id"] for line in lines_of(out.getvalue())] == ["id0", "id1", "id2"]
    assert (out.writes, out.flushes) == (1, 1)  # the ready run went out in one write
    assert writer.add(3, ok(3)) == 1
    assert (writer.written, writer.buffered, writer.max_buffered) == (4, 0, 2)


def test_unordered_writer_writes_as_results_come() -> None:
    out = CountingStream()
    writer = OrderedWriter(out, ordered=False)
    for seq in (2, 0, 1):
        assert writer.add(seq, ok(seq)) == 1
    assert [line["id"] for line in lines_of(out.getvalue())] == ["id2", "id0", "id1"]
    assert out.writes == 3 and writer.max_buffered == 0


def test_drain_writes_what_is_held_skipping_gaps() -> None:
    out = io.BytesIO()
    writer = OrderedWriter(out)
    writer.add(0, ok(0))
    writer.add(2, ok(2))
    writer.add(5, ok(5))
    assert writer.drain() == 2
    assert [line["id"] for line in lines_of(out.getvalue())] == ["id0", "id2", "id5"]
    assert writer.drain() == 0


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def test_done_ids_reads_successes_and_tolerates_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    assert done_ids(path) == set()
    write_lines(path, [ok(0).to_line(), Result.failed(1, "id1", ProviderError("x"), 1).to_line(),
                       b"not json\n", ok(2).to_line(), ok(3).to_line()[:20]])
    assert done_ids(path) == {"id0", "id2"}


def test_prepare_resume_keeps_successes_once_and_drops_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    good0, good2 = ok(0).to_line(), ok(2).to_line()
    write_lines(path, [good0, Result.failed(1, "id1", ProviderError("x"), 1).to_line(),
                       good2, ok(0, "again").to_line(), ok(3).to_line()[:25]])
    os.chmod(path, 0o600)
    assert prepare_resume(path) == {"id0", "id2"}
    assert path.read_bytes() == good0 + good2
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary left behind


def test_prepare_resume_completes_a_whole_line_missing_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    good0, good1 = ok(0).to_line(), ok(1).to_line()
    write_lines(path, [good0, good1.rstrip(b"\n")])
    assert prepare_resume(path) == {"id0", "id1"}
    assert path.read_bytes() == good0 + good1
    with path.open("ab") as out:  # appending now starts on a fresh line
        OrderedWriter(out).add(0, ok(2))
    assert [line["id"] for line in lines_of(path.read_bytes())] == ["id0", "id1", "id2"]


def test_prepare_resume_leaves_a_clean_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_lines(path, [ok(0).to_line(), ok(1).to_line()])
    inode = path.stat().st_ino
    assert prepare_resume(path) == {"id0", "id1"}
    assert path.stat().st_ino == inode
    assert prepare_resume(tmp_path / "missing.jsonl") == set()
