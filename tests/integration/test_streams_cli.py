"""Closed, full and vanishing streams: documented exit codes, one line, no traceback.

Each rule runs over every command in-process, with stdout (or stderr) failing the way a
full disk (``ENOSPC``), a closed descriptor (``EBADF``) or a reader that went away
(``EPIPE``) makes it fail, both buffered (the failure comes at a flush) and unbuffered
(at the first write). The ``real`` tests check the same rules on real processes, since
only they have descriptors to close and a final flush at exit: each case with
``PYTHONUNBUFFERED`` set and unset where stdout's buffering matters.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
from collections.abc import Callable

import pytest

from llmx.errors import ExitCode
from tests.cli.harness import Fault, InProcessCli, Result, in_process_cli  # noqa: F401
from tests.cli.harness import invoke as invoke_cli
from tests.integration.conftest import LLMX

BUFFERING = pytest.mark.parametrize("unbuffered", ["1", ""], ids=["unbuffered", "buffered"])


def run(cli: InProcessCli, args: list[str], *, unbuffered: str, stdout: object = subprocess.PIPE,
        stdin: object = subprocess.DEVNULL, stderr: object = subprocess.PIPE,
        close: tuple[int, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    """A real ``llmx`` process with ``close``d descriptors or redirected streams."""
    env = {**cli.env, "PYTHONUNBUFFERED": unbuffered}

    def closing() -> None:
        for fd in close:
            os.close(fd)

    return subprocess.run([*LLMX, *args], stdin=stdin, stdout=stdout, stderr=stderr, env=env,
                          cwd=cli.home, timeout=60, preexec_fn=closing if close else None)


def invoke(cli: InProcessCli, args: list[str], *, unbuffered: str, stdout: Fault | None = None,
           stderr: Fault | None = None) -> Result:
    """The command in-process, its stdout/stderr failing as ``stdout``/``stderr`` say."""
    return invoke_cli(args, env=cli.env, cwd=cli.home, stdout=stdout, stderr=stderr,
                      buffered=not unbuffered)


def one_error(stderr: bytes, *needles: str) -> str:
    text = stderr.decode()
    assert "Traceback" not in text and "Exception ignored" not in text, text
    lines = text.strip().splitlines()
    assert lines and lines[0].startswith("error: "), text
    assert all(line.startswith("hint: ") for line in lines[1:]), text
    for needle in needles:
        assert needle in lines[0], text
    return lines[0]


def test_real_closed_stdin_reads_as_empty(cli: InProcessCli) -> None:
    """stdin has no buffering to vary: one run with a prompt, one without."""
    result = run(cli, ["ask", "-p", "sim", "hi"], unbuffered="", stdin=None, close=(0,))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    result = run(cli, ["ask", "-p", "sim"], unbuffered="", stdin=None, close=(0,))
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
]


@BUFFERING
@pytest.mark.parametrize("args", FULL_STDOUT, ids=" ".join)
def test_full_stdout_is_one_line_and_exit_8(cli: InProcessCli, args: list[str],
                                            unbuffered: str) -> None:
    result = invoke(cli, args, unbuffered=unbuffered, stdout=Fault(errno.ENOSPC))
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    one_error(result.stderr, "cannot write the output", "No space left")


@BUFFERING
@pytest.mark.parametrize("args", [["ask", "-p", "sim", "hi"],
                                  ["sim", "--port", "0"]],  # it must not serve blind
                         ids=" ".join)
def test_real_full_stdout_is_one_line_and_exit_8(cli: InProcessCli, args: list[str],
                                                 unbuffered: str) -> None:
    with open("/dev/full", "wb") as full:
        result = run(cli, args, unbuffered=unbuffered, stdout=full)
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    one_error(result.stderr, "cannot write the output", "No space left")


@BUFFERING
@pytest.mark.parametrize("args", [["ask", "-p", "sim", "hi"], ["--version"], ["profiles"]],
                         ids=" ".join)
def test_closed_stdout_is_one_line_and_exit_8(cli: InProcessCli, args: list[str],
                                              unbuffered: str) -> None:
    result = invoke(cli, args, unbuffered=unbuffered, stdout=Fault(errno.EBADF))
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    one_error(result.stderr, "stdout is closed")


def test_real_closed_stdout_is_one_line_and_exit_8(cli: InProcessCli) -> None:
    result = run(cli, ["ask", "-p", "sim", "hi"], unbuffered="", stdout=None, close=(1,))
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    one_error(result.stderr, "stdout is closed")


STDERR_CASES = [(["ask", "-p", "sim", "hi"], ExitCode.OK),
                (["ask", "--max-tokens", "0", "hi"], ExitCode.USAGE), (["compress"], ExitCode.OK)]


@BUFFERING
@pytest.mark.parametrize(("args", "code"), STDERR_CASES, ids=str)
def test_closed_or_full_stderr_keeps_the_exit_code(cli: InProcessCli, args: list[str], code: int,
                                                   unbuffered: str) -> None:
    closed = invoke(cli, args, unbuffered=unbuffered, stderr=Fault(errno.EBADF))
    filled = invoke(cli, args, unbuffered=unbuffered, stderr=Fault(errno.ENOSPC))
    assert (closed.returncode, filled.returncode) == (code, code)
    if code == ExitCode.OK and args[0] == "ask":
        assert closed.stdout.strip() and filled.stdout == closed.stdout


def test_real_closed_or_full_stderr_keeps_the_exit_code(cli: InProcessCli) -> None:
    args = ["ask", "-p", "sim", "hi"]
    closed = run(cli, args, unbuffered="", stderr=None, close=(2,))
    with open("/dev/full", "wb") as full:
        filled = run(cli, args, unbuffered="", stderr=full)
    assert (closed.returncode, filled.returncode) == (ExitCode.OK, ExitCode.OK)
    assert closed.stdout.strip() and filled.stdout == closed.stdout


ASK_LONG = ["ask", "-p", "sim", "--max-tokens", "400", "hi"]


@BUFFERING
@pytest.mark.parametrize("args", [ASK_LONG, ["completions", "zsh"]], ids=" ".join)
def test_reader_going_away_is_a_quiet_exit(cli: InProcessCli, args: list[str],
                                           unbuffered: str) -> None:
    result = invoke(cli, args, unbuffered=unbuffered, stdout=Fault(errno.EPIPE, room=1))
    assert len(result.stdout) == 1  # `| head -c1`: one byte was read, then the pipe closed
    assert result.returncode == ExitCode.OK
    assert result.stderr == b""


@pytest.mark.parametrize("args", [ASK_LONG, ["--help"]], ids=" ".join)
def test_real_reader_going_away_is_a_quiet_exit(cli: InProcessCli, args: list[str]) -> None:
    """``--help`` only here: Rich handles a broken pipe by pointing the real descriptor of
    ``sys.stdout`` at the null device, which an in-memory stream does not have."""
    proc = subprocess.Popen([*LLMX, *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli.env,
                            cwd=cli.home)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(1)
    proc.stdout.close()  # `| head -c1`
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == ExitCode.OK
    assert err == b""


def test_real_non_utf8_argument_is_a_usage_error(cli: InProcessCli) -> None:
    result = subprocess.run([os.fsencode(LLMX[0]), b"-m", b"llmx", b"ask", b"-p", b"sim",
                             b"caf\xe9"], capture_output=True, env=cli.env, cwd=cli.home,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == b""
    one_error(result.stderr, "argument 4", "UTF-8", "0xe9")


def test_real_sim_on_a_port_in_use_is_a_usage_error(cli: InProcessCli,
                                                    sim_factory: Callable[..., object]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = cli.run_process("sim", "--port", str(port), timeout=30)
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert result.stdout == b""
    one_error(result.stderr, f"127.0.0.1:{port}", "in use")
