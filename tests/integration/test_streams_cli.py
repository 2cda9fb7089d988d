"""Closed, full and vanishing streams: documented exit codes, one line, no traceback.

Real processes, since only they have file descriptors to close. Each case runs with
``PYTHONUNBUFFERED`` set and unset: a buffered stdout fails at the final flush, an
unbuffered one at the first write, and both must end the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable

import pytest

from llmx.errors import ExitCode
from tests.integration.conftest import LLMX, Cli

BUFFERING = pytest.mark.parametrize("unbuffered", ["1", ""], ids=["unbuffered", "buffered"])


def run(cli: Cli, args: list[str], *, unbuffered: str, stdout: object = subprocess.PIPE,
        stdin: object = subprocess.DEVNULL, stderr: object = subprocess.PIPE,
        close: tuple[int, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    env = {**cli.env, "PYTHONUNBUFFERED": unbuffered}

    def closing() -> None:
        for fd in close:
            os.close(fd)

    return subprocess.run([*LLMX, *args], stdin=stdin, stdout=stdout, stderr=stderr, env=env,
                          cwd=cli.home, timeout=60, preexec_fn=closing if close else None)


def one_error(stderr: bytes, *needles: str) -> str:
    text = stderr.decode()
    assert "Traceback" not in text and "Exception ignored" not in text, text
    lines = text.strip().splitlines()
    assert lines and lines[0].startswith("error: "), text
    assert all(line.startswith("hint: ") for line in lines[1:]), text
    for needle in needles:
        assert needle in lines[0], text
    return lines[0]


@BUFFERING
def test_closed_stdin_reads_as_empty(cli: Cli, unbuffered: str) -> None:
    result = run(cli, ["ask", "-p", "sim", "hi"], unbuffered=unbuffered, stdin=None, close=(0,))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@BUFFERING
def test_closed_stdin_without_a_prompt_is_a_usage_error(cli: Cli, unbuffered: str) -> None:
    result = run(cli, ["ask", "-p", "sim"], unbuffered=unbuffered, stdin=None, close=(0,))
    assert result.returncode == ExitCode.USAGE
    one_error(result.stderr, "empty")


FULL_STDOUT = [
    ["ask", "-p", "sim", "hi"],
    ["ask", "-p", "sim", "--no-stream", "hi"],
    ["ask", "-p", "sim", "--json", "hi"],
    ["--help"],
    ["ask", "--help"],
    ["--version"],
    ["profiles"],
    ["config", "show"],
    ["cache", "path"],
    ["completions", "bash"],
    ["stats"],
    ["sim", "--port", "0"],  # its base URL cannot be printed: it must not serve blind
]


@BUFFERING
@pytest.mark.parametrize("args", FULL_STDOUT, ids=" ".join)
def test_full_stdout_is_one_line_and_exit_8(cli: Cli, args: list[str], unbuffered: str) -> None:
    with open("/dev/full", "wb") as full:
        result = run(cli, args, unbuffered=unbuffered, stdout=full)
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    one_error(result.stderr, "cannot write the output", "No space left")


@BUFFERING
@pytest.mark.parametrize("args", [["ask", "-p", "sim", "hi"], ["--version"], ["profiles"]],
                         ids=" ".join)
def test_closed_stdout_is_one_line_and_exit_8(cli: Cli, args: list[str], unbuffered: str) -> None:
    result = run(cli, args, unbuffered=unbuffered, stdout=None, close=(1,))
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    one_error(result.stderr, "stdout is closed")


@BUFFERING
@pytest.mark.parametrize(("args", "code"), [(["ask", "-p", "sim", "hi"], ExitCode.OK),
                                            (["ask", "--max-tokens", "0", "hi"], ExitCode.USAGE),
                                            (["compress"], ExitCode.OK)], ids=str)
def test_closed_or_full_stderr_keeps_the_exit_code(cli: Cli, args: list[str], code: int,
                                                   unbuffered: str) -> None:
    closed = run(cli, args, unbuffered=unbuffered, stderr=None, close=(2,))
    with open("/dev/full", "wb") as full:
        filled = run(cli, args, unbuffered=unbuffered, stderr=full)
    assert (closed.returncode, filled.returncode) == (code, code)
    if code == ExitCode.OK and args[0] == "ask":
        assert closed.stdout.strip() and filled.stdout == closed.stdout


@BUFFERING
@pytest.mark.parametrize("args", [["ask", "-p", "sim", "--max-tokens", "400", "hi"],
                                  ["--help"], ["completions", "zsh"]], ids=" ".join)
def test_reader_going_away_is_a_quiet_exit(cli: Cli, args: list[str], unbuffered: str) -> None:
    env = {**cli.env, "PYTHONUNBUFFERED": unbuffered}
    proc = subprocess.Popen([*LLMX, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=cli.home)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(1)
    proc.stdout.close()  # `| head -c1`
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == ExitCode.OK
    assert err == b""


def test_non_utf8_argument_is_a_usage_error(cli: Cli) -> None:
    result = subprocess.run([os.fsencode(LLMX[0]), b"-m", b"llmx", b"ask", b"-p", b"sim",
                             b"caf\xe9"], capture_output=True, env=cli.env, cwd=cli.home,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == b""
    one_error(result.stderr, "argument 4", "UTF-8", "0xe9")


def test_sim_on_a_port_in_use_is_a_usage_error(cli: Cli,
                                               sim_factory: Callable[..., object]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = cli.run("sim", "--port", str(port), timeout=30)
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert result.stdout == b""
    one_error(result.stderr, f"127.0.0.1:{port}", "in use")
