"""The fast `ask` parser and the Typer command must accept the same options."""

from __future__ import annotations

import dataclasses

import pytest
import typer.main

from llmx.cli.app import app
from llmx.cli.ask import OPTIONS, AskArgs, parse_fast


def typer_ask_options() -> set[str]:
    group = typer.main.get_command(app)
    command = group.commands["ask"]  # type: ignore[attr-defined]
    names: set[str] = set()
    for param in command.params:
        names.update(getattr(param, "opts", []))
        names.update(getattr(param, "secondary_opts", []))
    return {n for n in names if n.startswith("-")} - {"-h", "--help"}


def test_fast_parser_knows_exactly_the_typer_options() -> None:
    assert set(OPTIONS) == typer_ask_options()


def test_fast_parser_fields_exist_on_askargs() -> None:
    fields = {f.name for f in dataclasses.fields(AskArgs)}
    assert {field for field, _, _ in OPTIONS.values()} <= fields


def test_parses_common_shapes() -> None:
    args = parse_fast(["-p", "sim", "--max-tokens=5", "what", "is", "--json", "x", "--no-stream"])
    assert args == AskArgs(prompt=("what", "is", "x"), profile="sim", max_tokens=5,
                           json=True, stream=False)
    assert parse_fast(["-"]) == AskArgs(prompt=("-",))
    assert parse_fast(["--", "--json"]) == AskArgs(prompt=("--json",))
    assert parse_fast(["--temperature", "0.5", "hi"]) == AskArgs(prompt=("hi",), temperature=0.5)


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["-h"], ["--bogus", "x"], ["--max-tokens", "lots"], ["-p"], ["--json=1"],
     ["-psim", "x"]],
)
def test_anything_unusual_falls_back_to_typer(argv: list[str]) -> None:
    assert parse_fast(argv) is None
