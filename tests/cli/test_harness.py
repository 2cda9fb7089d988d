"""The in-process harness gives a command exactly what it was told, and takes nothing away."""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
from pathlib import Path

from llmx.errors import ExitCode
from tests.cli.harness import Fault, invoke, memory_io


def test_a_command_sees_the_given_environment_not_the_process_one(tmp_path: Path) -> None:
    config = tmp_path / "given.toml"
    config.write_text('default_profile = "sim"\n')
    result = invoke(["config", "path"], env={"LLMX_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{config}\n".encode()
    assert "LLMX_CONFIG" not in os.environ


def test_cwd_streams_and_handlers_are_restored_after_a_failure(tmp_path: Path) -> None:
    here = os.getcwd()
    before = (sys.stdin, sys.stdout, sys.stderr, signal.getsignal(signal.SIGTERM),
              signal.getsignal(signal.SIGINT))
    result = invoke(["ask", "--bogus"], cwd=tmp_path)
    assert result.returncode == ExitCode.USAGE
    assert os.getcwd() == here
    assert before == (sys.stdin, sys.stdout, sys.stderr, signal.getsignal(signal.SIGTERM),
                      signal.getsignal(signal.SIGINT))


def test_batch_writes_its_lines_through_the_binary_stdout(tmp_path: Path) -> None:
    lines = b"".join(json.dumps({"id": str(i), "prompt": f"question {i}"}).encode() + b"\n"
                     for i in range(3))
    result = invoke(["batch", "-p", "sim", "-"], stdin=lines, env={"LLMX_HOME": str(tmp_path)},
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["0", "1", "2"] and all(a["text"] for a in answers)
    assert b"3 ok" in result.stderr


def test_text_and_bytes_reach_stdout_in_the_order_written() -> None:
    streams = memory_io(buffered=True)
    streams.io.stdout.write("text first\n")
    streams.io.stdout.flush()
    streams.io.binary_stdout().write(b"bytes next\n")
    assert streams.stdout() == b"text first\nbytes next\n"


def test_a_fault_keeps_what_fitted_and_then_fails_every_write() -> None:
    sink = Fault(errno.EPIPE, room=3)
    assert sink.write(b"ab") == 2
    for _ in range(2):
        try:
            sink.write(b"cde")
        except BrokenPipeError:
            pass
        else:
            raise AssertionError("the write should fail")
    assert sink.getvalue() == b"abc"
    sink.settle()
    assert sink.write(b"dropped") == len(b"dropped") and sink.getvalue() == b"abc"
