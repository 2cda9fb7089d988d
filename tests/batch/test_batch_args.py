"""Both ways into ``llmx batch`` read a command line the same: the fast parser and the Typer
app, each run over the same argument lists, give the same ``BatchArgs`` (or both refuse)."""

from __future__ import annotations

import pytest

import llmx.cli.batch_cmd
from llmx.cli._io import Io
from llmx.cli._run import run_app
from llmx.cli.batch_spec import BATCH, BatchArgs, parse_fast
from llmx.errors import ExitCode
from tests.cli.harness import invoke


class Handed:
    """Stands in for ``run_batch_command``: keeps the ``BatchArgs`` the Typer app hands it."""

    def __init__(self) -> None:
        self.args: list[BatchArgs] = []

    def __call__(self, args: BatchArgs, io: Io) -> int:
        self.args.append(args)
        return 0


def typer_parse(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> BatchArgs | int:
    """What the Typer command would run with, or its exit code when it runs nothing."""
    handed = Handed()
    monkeypatch.setattr(llmx.cli.batch_cmd, "run_batch_command", handed)
    code = invoke(["batch", *argv], entry=run_app).returncode
    return handed.args[0] if code == 0 and handed.args else code


ACCEPTED: list[tuple[list[str], BatchArgs]] = [
    ([], BatchArgs()),
    (["-"], BatchArgs()),
    (["in.jsonl"], BatchArgs(source="in.jsonl")),
    (["in.jsonl", "-o", "out.jsonl", "-j", "100"],
     BatchArgs(source="in.jsonl", output="out.jsonl", concurrency=100)),
    (["-j100", "--output=o", "x"], BatchArgs(source="x", output="o", concurrency=100)),
    (["-o", "-", "x"], BatchArgs(source="x", output="-")),
    (["--unordered", "--resume", "--provider-batch", "--semantic", "--no-cache", "--refresh"],
     BatchArgs(unordered=True, resume=True, mode="provider", semantic=True,
               no_cache=True, refresh=True)),
    (["--provider-batch", "--mode", "direct"], BatchArgs(mode="direct")),  # the last wins
    (["--mode=auto", "--deadline", "36h", "--provider-batch"],
     BatchArgs(mode="provider", deadline="36h")),
    (["--rpm", "60", "--tpm=1000", "--line-retries", "0", "--grace", "0.5"],
     BatchArgs(rpm=60, tpm=1000, line_retries=0, grace=0.5)),
    (["--grace", "-1", "x"], BatchArgs(source="x", grace=-1.0)),  # checked by the command
    (["--summary-json", "-", "-p", "a", "--profile=b", "--config", "c.toml"],
     BatchArgs(summary_json="-", profile="b", config="c.toml")),
    (["--", "-o"], BatchArgs(source="-o")),
    (["-j", "5", "-j", "7"], BatchArgs(concurrency=7)),
]


@pytest.mark.parametrize(("argv", "expected"), ACCEPTED, ids=[" ".join(a) for a, _ in ACCEPTED])
def test_both_parsers_give_the_same_args(monkeypatch: pytest.MonkeyPatch, argv: list[str],
                                         expected: BatchArgs) -> None:
    assert repr(parse_fast(argv)) == repr(typer_parse(monkeypatch, argv)) == repr(expected)


REFUSED = [["--help"], ["-h"], ["x", "-h"], ["--bogus"], ["-x"], ["-j", "lots"], ["-j", "1.5"],
           ["--grace", "soon"], ["-o"], ["--unordered=1"], ["a", "b"], ["-jx"]]


@pytest.mark.parametrize("argv", REFUSED, ids=" ".join)
def test_what_the_fast_parser_leaves_typer_refuses_or_helps(
        monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    assert parse_fast(argv) is None
    expected = ExitCode.OK if "-h" in argv or "--help" in argv else ExitCode.USAGE
    assert typer_parse(monkeypatch, argv) == expected


def test_every_option_sets_a_field_of_its_type_and_each_word_is_declared_once() -> None:
    types = {name: str(kind) for name, kind in BatchArgs.__annotations__.items()}
    valued = [opt for opt in BATCH if opt.kind == "value"]
    assert all(opt.type.__name__ in types[opt.field] for opt in valued)
    # every field reachable (``warm`` is set by the command `cache warm`, not by an option)
    assert {opt.field for opt in BATCH} | {"source", "warm"} == set(types)
    words = [name for opt in BATCH for name in (*opt.names, *opt.off)]
    assert len(words) == len(set(words))


def test_a_batch_line_does_not_import_typer() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom llmx.cli import run\nrun(['batch', '--grace', '-1'])\n"
            "print('typer' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr
    assert "--grace" in done.stderr  # refused by the command's own check, not by click


def test_cache_warm_takes_the_batch_options_but_no_output_ones() -> None:
    assert parse_fast(["faq.jsonl", "-j", "5", "--refresh"], warm=True) == BatchArgs(
        source="faq.jsonl", concurrency=5, refresh=True, warm=True)
    for argv in (["-o", "out.jsonl"], ["--resume"], ["--unordered"], ["--provider-batch"],
                 ["--no-cache"]):
        assert parse_fast(argv, warm=True) is None  # left to Typer, which refuses it
        assert parse_fast(argv) is not None  # a batch takes it
