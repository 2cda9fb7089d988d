"""Both ways into ``llmx ask`` read a command line the same: the fast parser and the Typer
app, each run over the same argument lists, give the same ``AskArgs`` (or both refuse)."""

from __future__ import annotations

import pytest

import llmx.cli.ask
from llmx.cli._io import Io
from llmx.cli._run import run_app
from llmx.cli.ask import AskArgs, parse_fast
from llmx.cli.spec import ASK, parse
from llmx.errors import ExitCode
from llmx.values import names
from tests.cli.harness import invoke


def typer_parse(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> AskArgs | int:
    """The ``AskArgs`` the Typer command hands to ``run_ask``, or its exit code."""
    seen: list[AskArgs] = []

    def record(args: AskArgs, io: Io) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(llmx.cli.ask, "run_ask", record)
    result = invoke(["ask", *argv], entry=run_app)
    if result.returncode != 0 or not seen:
        return result.returncode
    return seen[0]


ACCEPTED: list[tuple[list[str], AskArgs]] = [
    (["-m=gpt", "hi"], AskArgs(prompt=("hi",), model="=gpt")),  # click: `-m` + value `=gpt`
    (["-mgpt", "hi"], AskArgs(prompt=("hi",), model="gpt")),
    (["--model=gpt", "hi"], AskArgs(prompt=("hi",), model="gpt")),
    (["--model=", "hi"], AskArgs(prompt=("hi",), model="")),
    (["--no-compress", "--compress", "aggressive", "x"], AskArgs(prompt=("x",),
                                                                 compress="aggressive")),
    (["--compress", "aggressive", "--no-compress", "x"], AskArgs(prompt=("x",), compress="off")),
    (["--compress", "aggressive", "--no-compress", "--compress", "conservative", "x"],
     AskArgs(prompt=("x",), compress="conservative")),
    (["--", "--json", "-m", "x"], AskArgs(prompt=("--json", "-m", "x"))),
    (["--json", "--", "--"], AskArgs(prompt=("--",), json=True)),
    (["-"], AskArgs(prompt=("-",))),
    (["--json", "-"], AskArgs(prompt=("-",), json=True)),
    ([], AskArgs()),
    (["-p", "a", "-p", "b", "--profile=c", "x"], AskArgs(prompt=("x",), profile="c")),
    (["-psim", "x"], AskArgs(prompt=("x",), profile="sim")),
    (["-p", "--json", "x"], AskArgs(prompt=("x",), profile="--json")),
    (["-s", "-", "x"], AskArgs(prompt=("x",), system="-")),
    (["--temperature=0.5", "x"], AskArgs(prompt=("x",), temperature=0.5)),
    (["--temperature", "-0.5", "x"], AskArgs(prompt=("x",), temperature=-0.5)),
    (["--temperature", "1e-1", "x"], AskArgs(prompt=("x",), temperature=0.1)),
    (["--max-tokens", "5", "--max-tokens=7", "x"], AskArgs(prompt=("x",), max_tokens=7)),
    (["--max-tokens", "+5", "x"], AskArgs(prompt=("x",), max_tokens=5)),
    (["--stream", "--no-stream", "x"], AskArgs(prompt=("x",), stream=False)),
    (["--no-stream", "--stream", "x"], AskArgs(prompt=("x",), stream=True)),
    (["--no-stdin", "x"], AskArgs(prompt=("x",), stdin=False)),
    (["--no-stdin", "--stdin", "x"], AskArgs(prompt=("x",), stdin=True)),
    (["what", "--json", "is", "--no-cache", "x"], AskArgs(prompt=("what", "is", "x"),
                                                         json=True, no_cache=True)),
    (["--dry-run", "--refresh", "--kind", "code", "--system", "be brief", "--config",
      "f.toml", "q"], AskArgs(prompt=("q",), dry_run=True, refresh=True, kind="code",
                              system="be brief", config="f.toml")),
    (["--temperature", "nan", "café", ""], AskArgs(prompt=("café", ""),
                                                  temperature=float("nan"))),
    (["-f", "a.txt", "q", "-fb.txt", "--file=c.txt"],
     AskArgs(prompt=("q",), files=("a.txt", "b.txt", "c.txt"))),
    (["-a", "p.png", "--attach", "https://h/i.png", "-a", "p.png", "q"],
     AskArgs(prompt=("q",), attach=("p.png", "https://h/i.png", "p.png"))),
    (["-t", "review", "-x", "q"], AskArgs(prompt=("q",), template="review", extract=True)),
    (["--extract-last", "--template=r", "-f", "-", "q"],
     AskArgs(prompt=("q",), extract_last=True, template="r", files=("-",))),
]


@pytest.mark.parametrize(("argv", "expected"), ACCEPTED, ids=[" ".join(a) for a, _ in ACCEPTED])
def test_both_parsers_give_the_same_args(monkeypatch: pytest.MonkeyPatch, argv: list[str],
                                         expected: AskArgs) -> None:
    fast = parse_fast(argv)
    typer = typer_parse(monkeypatch, argv)
    assert repr(fast) == repr(typer) == repr(expected)  # repr: nan equals itself


REFUSED = [["--help"], ["-h"], ["x", "-h"], ["--bogus", "x"], ["-z"], ["-f"], ["-a"],
           ["-x=1"], ["--extract-last=1"], ["--max-tokens", "lots"],
           ["--max-tokens", "0x10"], ["--max-tokens", "1.5"], ["--temperature", "warm"],
           ["-p"], ["--model"], ["--json=1"], ["--stream=yes"], ["--no-compress=1"],
           ["--jsonx"], ["-jp", "x"]]


@pytest.mark.parametrize("argv", REFUSED, ids=" ".join)
def test_what_the_fast_parser_leaves_typer_refuses_or_helps(
        monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    assert parse_fast(argv) is None
    outcome = typer_parse(monkeypatch, argv)
    expected = ExitCode.OK if "-h" in argv or "--help" in argv else ExitCode.USAGE
    assert outcome == expected


def test_every_option_sets_a_field_of_askargs() -> None:
    types = AskArgs.__annotations__  # field name -> its type, as written
    for opt in ASK:
        assert opt.field in names(AskArgs), opt
        if opt.kind == "value":
            assert opt.type.__name__ in str(types[opt.field]), opt


def test_each_option_word_is_declared_once() -> None:
    names = [name for opt in ASK for name in (*opt.names, *opt.off)]
    assert len(names) == len(set(names))


def test_the_generic_parser_keeps_words_apart_from_values() -> None:
    assert parse(ASK, ["a", "-m", "b", "c"]) == (("a", "c"), {"model": "b"})
