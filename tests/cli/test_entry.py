"""``llmx.cli.run``: the edges around every command, in-process."""

from __future__ import annotations

import signal

import pytest

import llmx.cli
from llmx.cli._io import Io
from llmx.errors import ExitCode
from tests.cli.clikit import ENTRIES, run
from tests.cli.harness import invoke


def test_an_interrupt_before_any_command_starts_exits_130(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM now raises KeyboardInterrupt; one arriving while Typer is still being
    imported (outside every command's boundary) must not print a traceback."""
    def interrupted(args: list[str], io: Io | None = None) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(llmx.cli, "_dispatch", interrupted)
    result = invoke(["--help"])
    assert result.returncode == ExitCode.INTERRUPTED
    assert (result.stdout, result.stderr) == (b"", b"error: interrupted\n")


NOT_UTF8 = [["ask", "-p", "sim", "caf\udce9"], ["--config", "\udcff", "profiles"],
            ["compress", "\udc80.txt"]]


@pytest.mark.parametrize("argv", NOT_UTF8)
def test_an_argument_that_is_not_utf8_is_a_usage_error(argv: list[str]) -> None:
    result = run(ENTRIES["fast"], argv)
    result.assert_one_error(ExitCode.USAGE, "not valid UTF-8")


def test_the_harness_restores_streams_and_handlers() -> None:
    import sys

    before = (sys.stdin, sys.stdout, sys.stderr, signal.getsignal(signal.SIGTERM))
    assert invoke(["--version"]).stdout.startswith(b"llmx ")
    assert invoke(["ask", "--help"]).returncode == 0
    assert (sys.stdin, sys.stdout, sys.stderr, signal.getsignal(signal.SIGTERM)) == before


def test_version_writes_through_the_given_io() -> None:
    result = invoke(["-V"])
    assert result.returncode == 0
    assert result.stdout == f"llmx {llmx.__version__}\n".encode()
    assert result.stderr == b""
