"""``llmx.cli.main``: the edges around every command."""

from __future__ import annotations

import pytest

import llmx.cli
from llmx.errors import ExitCode
from tests.cli.clikit import ENTRIES, run


def test_an_interrupt_before_any_command_starts_exits_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM now raises KeyboardInterrupt; one arriving while Typer is still being
    imported (outside every command's boundary) must not print a traceback."""
    def interrupted(args: list[str]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(llmx.cli, "_dispatch", interrupted)
    with pytest.raises(SystemExit) as caught:
        llmx.cli.main(["--help"])
    assert caught.value.code == ExitCode.INTERRUPTED
    assert capsys.readouterr().err == "error: interrupted\n"


NOT_UTF8 = [["ask", "-p", "sim", "caf\udce9"], ["--config", "\udcff", "profiles"],
            ["compress", "\udc80.txt"]]


@pytest.mark.parametrize("argv", NOT_UTF8)
def test_an_argument_that_is_not_utf8_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                                       argv: list[str]) -> None:
    result = run(capsys, ENTRIES["fast"], argv)
    result.assert_one_error(ExitCode.USAGE, "not valid UTF-8")
