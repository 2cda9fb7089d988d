"""Usage errors are one ``error:`` line and a hint naming the command's help; help shows
placeholders a user can read (NAME, MODEL, N...), never Typer's ``<bool>`` / ``<str>``."""

from __future__ import annotations

import re

import pytest

from llmx.cli._run import click_app, run_app
from llmx.errors import ExitCode
from tests.cli.clikit import run

USAGE_ERRORS = [
    (["ask", "--bogus", "x"], "llmx ask", "no such option: --bogus"),
    (["ask", "--max-tokens", "many", "x"], "llmx ask", "--max-tokens"),
    (["ask", "-p"], "llmx ask", "'-p' requires an argument"),
    (["nosuchcommand"], "llmx", "no such command"),
    (["config", "show", "--profile"], "llmx config show", "requires an argument"),
    (["cache", "ls", "-n", "x"], "llmx cache ls", "--limit"),
    (["cache", "show"], "llmx cache show", "missing argument"),
    (["sim", "--port", "eighty"], "llmx sim", "--port"),
    (["stats", "--json=1"], "llmx stats", "--json"),
    (["completions"], "llmx completions", "missing argument"),
]


@pytest.mark.parametrize(("argv", "command", "needle"), USAGE_ERRORS, ids=" ".join)
def test_usage_error_is_one_line_and_a_hint(argv: list[str], command: str, needle: str) -> None:
    result = run(run_app, argv)
    result.assert_one_error(ExitCode.USAGE, needle)
    assert result.err.splitlines()[1:] == [f"hint: see `{command} --help`"]
    assert "╭" not in result.err and "Usage:" not in result.err


def _command_paths() -> list[list[str]]:
    paths: list[list[str]] = [[]]
    root = click_app()
    for name, sub in root.commands.items():
        paths.append([name])
        paths.extend([name, child] for child in getattr(sub, "commands", {}))
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "llmx")
def test_help_shows_real_placeholders(monkeypatch: pytest.MonkeyPatch, path: list[str]) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    result = run(run_app, [*path, "--help"])
    assert result.returncode == 0, result.err
    assert "Usage: llmx" in result.out
    assert not re.search(r"<(bool|str|int|float|list\[str\]|path)>", result.out), result.out


def test_ask_help_names_what_to_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    out = run(run_app, ["ask", "--help"]).out
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ --")}
    assert re.search(r"-p\s+NAME", rows["--profile"])
    assert re.search(r"-m\s+MODEL", rows["--model"])
    assert re.search(r"\sN\s", rows["--max-tokens"])
    assert re.search(r"\sPATH\s", rows["--config"])
    assert re.search(r"--no-stream\s+Stream", rows["--stream"])  # a flag: no placeholder
