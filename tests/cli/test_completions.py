"""The static completion scripts: current, complete, valid, and working in real shells.

Expectations come from the Typer app's command tree (walked here through ``.commands``
and ``.params``, not through the generator's walk), so new commands need no test edits.
bash is always exercised; zsh and fish only when installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pytest
import typer
import typer.main

from llmx.cli import completions
from llmx.cli.app import app
from llmx.errors import UsageError
from tests.cli.harness import memory_io

if TYPE_CHECKING:
    from typer._click import Command, Context

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "completions"
REGENERATE = "regenerate with: python -m llmx.cli.completions"
SEP = "\x1e"
SHELL_NAMES = ("bash", "fish", "zsh")
NASTY = """It's [a] "b": $HOME `x` \\ back (100%) {c} * ; done"""


# ---------------------------------------------------------------- the app's tree, walked here


@dataclass(frozen=True)
class Node:
    path: tuple[str, ...]
    options: frozenset[str]
    subcommands: frozenset[str]


def _nodes(cmd: Command, path: tuple[str, ...], parent: Context | None) -> Iterator[Node]:
    ctx = cmd.make_context(path[-1] if path else "llmx", [], parent=parent,
                           resilient_parsing=True)
    names = {name for p in cmd.params if p.param_type_name == "option"
             and not getattr(p, "hidden", False) for name in (*p.opts, *p.secondary_opts)}
    if cmd.add_help_option:
        names |= set(ctx.help_option_names) - names
    subs = {name: sub for name, sub in getattr(cmd, "commands", {}).items() if not sub.hidden}
    yield Node(path, frozenset(names), frozenset(subs))
    for name, sub in subs.items():
        yield from _nodes(sub, (*path, name), ctx)


def app_nodes() -> list[Node]:
    return list(_nodes(typer.main.get_command(app), (), None))


def test_the_tree_walk_sees_the_known_commands() -> None:
    nodes = {n.path: n for n in app_nodes()}
    assert {"ask", "config"} <= nodes[()].subcommands
    assert {"init", "path", "show"} <= nodes[("config",)].subcommands
    assert {"-p", "--profile", "--no-stream", "--json"} <= nodes[("ask",)].options


# ---------------------------------------------------------------- shell drivers


def _clean_env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TERM")}
    return {**keep, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


def bash_complete(script: Path, lines: Sequence[Sequence[str]], cwd: Path,
                  env: Mapping[str, str]) -> list[list[str]]:
    """COMPREPLY for each line (words; the last one is the word being completed)."""
    program = [f"source {shlex.quote(str(script))}",
               'q() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _llmx;'
               f" printf '%s\\n' \"${{COMPREPLY[@]}}\" '{SEP}'; }}"]
    program += ["q " + " ".join(shlex.quote(w) for w in line) for line in lines]
    run = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(program)],
                         cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return _records(run.stdout)


def fish_complete(script: Path, lines: Sequence[str], cwd: Path,
                  env: Mapping[str, str]) -> list[dict[str, str]]:
    """Candidates (with descriptions) fish offers for each command line."""
    def quoted(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    program = [f"source {quoted(str(script))}"]
    program += [f"complete -C {quoted(line)}; printf '%s\\n' '{SEP}'" for line in lines]
    run = subprocess.run(["fish", "--no-config", "-c", "\n".join(program)], cwd=cwd,
                         env=dict(env), capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return [dict(_candidate(c) for c in record) for record in _records(run.stdout)]


def _candidate(line: str) -> tuple[str, str]:
    word, _, description = line.partition("\t")
    return word, description


def _records(stdout: str) -> list[list[str]]:
    records: list[list[str]] = [[]]
    for line in stdout.split("\n"):
        if line == SEP:
            records.append([])
        elif line:
            records[-1].append(line)
    return records[:-1]


def needs(shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")


def script(shell: str) -> Path:
    return SCRIPTS / f"llmx.{shell}"


# ---------------------------------------------------------------- (1) the files are current


@pytest.mark.parametrize("shell", SHELL_NAMES)
def test_checked_in_script_is_current(shell: str) -> None:
    path = script(shell)
    assert path.is_file(), f"{path} is missing; {REGENERATE}"
    assert path.read_text(encoding="utf-8") == completions.generate(shell), (
        f"{path.relative_to(REPO)} is stale (the app changed); {REGENERATE}")


def test_module_main_writes_all_three_scripts(tmp_path: Path) -> None:
    assert completions.main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"llmx.{s}" for s in SHELL_NAMES]
    for shell in SHELL_NAMES:
        assert (tmp_path / f"llmx.{shell}").read_text() == completions.generate(shell)


def test_run_completions_prints_the_script() -> None:
    streams = memory_io(stdin_is_tty=True)
    assert completions.run_completions("zsh", streams.io) == 0
    assert streams.out() == completions.generate("zsh")
    assert streams.out().startswith("#compdef llmx")


def test_unknown_shell_is_a_usage_error_naming_the_valid_ones() -> None:
    with pytest.raises(UsageError) as caught:
        completions.generate("powershell")
    assert all(shell in caught.value.message for shell in SHELL_NAMES)
    assert "powershell" in caught.value.message


# ---------------------------------------------------------------- (2) every command and option


def test_bash_offers_every_command_and_option(tmp_path: Path) -> None:
    nodes = app_nodes()
    lines = [["llmx", *n.path, "-"] for n in nodes]
    lines += [["llmx", *n.path, ""] for n in nodes if n.subcommands]
    got = bash_complete(script("bash"), lines, tmp_path, _clean_env(tmp_path))
    for node, offered in zip(nodes, got[: len(nodes)], strict=True):
        assert set(offered) == node.options, node.path
    groups = [n for n in nodes if n.subcommands]
    for node, offered in zip(groups, got[len(nodes):], strict=True):
        assert set(offered) == node.subcommands, node.path


def test_fish_offers_every_command_and_option(tmp_path: Path) -> None:
    needs("fish")
    nodes = app_nodes()
    lines = [" ".join(("llmx", *n.path, "-")) for n in nodes]
    lines += [" ".join(("llmx", *n.path, "")) for n in nodes if n.subcommands]
    got = fish_complete(script("fish"), lines, tmp_path, _clean_env(tmp_path))
    for node, offered in zip(nodes, got[: len(nodes)], strict=True):
        assert set(offered) == node.options, node.path
    groups = [n for n in nodes if n.subcommands]
    for node, offered in zip(groups, got[len(nodes):], strict=True):
        assert set(offered) == node.subcommands, node.path
        assert all(offered.values()), f"a subcommand of {node.path} has no description"


def test_zsh_script_names_every_command_and_option() -> None:
    text = script("zsh").read_text()
    for node in app_nodes():
        body = _zsh_function(text, "_" + "_".join(("llmx", *node.path)))
        for option in node.options:
            # ")--opt" after an exclusion list, or "'*--opt" for a repeatable option
            assert re.search(rf"(\)|'\*){re.escape(option)}[=+]?(\[|')", body), (node.path,
                                                                                option)
        if node.subcommands:
            listing = _zsh_function(text, "_" + "_".join(("llmx", *node.path)) + "__commands")
            for sub in node.subcommands:
                assert f"'{sub}:" in listing, (node.path, sub)


def _zsh_function(text: str, name: str) -> str:
    found = re.search(rf"^{re.escape(name)}\(\) {{\n(.*?)^}}", text, re.M | re.S)
    assert found, f"no zsh function {name}"
    return found.group(1)


# ---------------------------------------------------------------- (3) syntax


@pytest.mark.parametrize(("shell", "check"), [("bash", ["bash", "-n"]), ("zsh", ["zsh", "-n"]),
                                              ("fish", ["fish", "--no-execute"])])
def test_script_syntax(shell: str, check: list[str]) -> None:
    needs(shell)
    run = subprocess.run([*check, str(script(shell))], capture_output=True, text=True,
                         timeout=30)
    assert run.returncode == 0, run.stderr


# ---------------------------------------------------------------- (4) bash, for real


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "confs").mkdir()
    (tmp_path / "confs" / "team.toml").write_text(
        'default_profile = "dev"\n[profiles.dev]\nmodel = "m"\n\n'
        '[ profiles.prod.http ]\nhttp2 = true\n[profiles."fast"]\n[other.table]\n'
        '# [profiles.commented]\n')
    (tmp_path / "confs" / "notes.txt").write_text("")
    return tmp_path, _clean_env(tmp_path)


def test_bash_completes_names_by_prefix(workspace: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workspace
    nodes = {n.path: n for n in app_nodes()}
    got = bash_complete(script("bash"), [["llmx", "a"], ["llmx", "ask", "--no-"],
                                         ["llmx", "config", "s"], ["llmx", "zz"]], cwd, env)
    assert set(got[0]) == {c for c in nodes[()].subcommands if c.startswith("a")} >= {"ask"}
    assert set(got[1]) == {o for o in nodes[("ask",)].options if o.startswith("--no-")}
    assert {"--no-stream"} <= set(got[1])
    assert set(got[2]) == {c for c in nodes[("config",)].subcommands if c.startswith("s")}
    assert got[3] == []


def test_bash_completes_option_values(workspace: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workspace
    got = bash_complete(script("bash"), [
        ["llmx", "ask", "--config", "confs/t"],
        ["llmx", "ask", "--config", "=", "confs/n"],
        ["llmx", "config", "show", "--config", "confs/team.toml", "-p", ""],
        ["llmx", "ask", "--config", "=", "confs/team.toml", "--profile", "p"],
        ["llmx", "ask", "-p", ""],
        ["llmx", "completions", ""],
        ["llmx", "ask", "--model", ""],
        ["llmx", "ask", "-s", "config", ""],
    ], cwd, env)
    assert got[0] == ["confs/team.toml"]
    assert got[1] == ["confs/notes.txt"]
    assert {"dev", "prod", "fast", "sim"} == set(got[2])  # sim: the built-in profile
    assert got[3] == ["prod"]
    assert got[4] == ["sim"]  # no config anywhere: only the built-in profile
    assert set(got[5]) == set(SHELL_NAMES)
    assert got[6] == []  # a model name: nothing to offer
    assert got[7] == []  # "config" was the value of -s, not the config command


def test_bash_profiles_follow_the_config_lookup(workspace: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workspace
    team = (cwd / "confs" / "team.toml").read_text()
    line = [["llmx", "ask", "-p", ""]]
    from_env = bash_complete(script("bash"), line, cwd,
                             {**env, "LLMX_CONFIG": str(cwd / "confs" / "team.toml")})
    (cwd / "llmx.toml").write_text("[profiles.local]\n")
    from_cwd = bash_complete(script("bash"), line, cwd, env)
    (cwd / "llmx.toml").unlink()
    (cwd / ".config" / "llmx").mkdir(parents=True)
    (cwd / ".config" / "llmx" / "config.toml").write_text(team)
    from_xdg = bash_complete(script("bash"), line, cwd, env)
    assert set(from_env[0]) == {"dev", "prod", "fast", "sim"}
    assert set(from_cwd[0]) == {"local", "sim"}
    assert set(from_xdg[0]) == {"dev", "prod", "fast", "sim"}


# ---------------------------------------------------------------- a made-up app: choices, escaping


class Color(StrEnum):
    red = "red"
    dark_blue = "dark-blue"


def _odd_app() -> typer.Typer:
    odd = typer.Typer()

    @odd.command(help=NASTY)
    def paint(color: Annotated[Color, typer.Option("-c", "--color", help=NASTY)] = Color.red,
              out: Annotated[Path, typer.Argument()] = Path(".")) -> None:
        del color, out

    @odd.command()
    def mix() -> None:
        """Mix: plain."""

    @odd.command(hidden=True)
    def secret() -> None:
        """Not offered."""

    return odd


@pytest.fixture
def odd_scripts(tmp_path: Path) -> dict[str, Path]:
    tree = completions.tree_of(typer.main.get_command(_odd_app()))
    paths = {}
    for shell, render in (("bash", completions.bash), ("fish", completions.fish),
                          ("zsh", completions.zsh)):
        paths[shell] = tmp_path / f"odd.{shell}"
        paths[shell].write_text(render(tree))
    return paths


def test_bash_choices_and_hidden_commands(odd_scripts: dict[str, Path], tmp_path: Path) -> None:
    got = bash_complete(odd_scripts["bash"], [["llmx", ""], ["llmx", "paint", "-c", ""],
                                               ["llmx", "paint", "--color", "=", "d"]],
                        tmp_path, _clean_env(tmp_path))
    assert set(got[0]) == {"mix", "paint"}
    assert set(got[1]) == {c.value for c in Color}
    assert got[2] == ["dark-blue"]


def test_fish_descriptions_survive_quoting(odd_scripts: dict[str, Path], tmp_path: Path) -> None:
    needs("fish")
    got = fish_complete(odd_scripts["fish"], ["llmx ", "llmx paint --c", "llmx paint -c "],
                        tmp_path, _clean_env(tmp_path))
    assert got[0] == {"paint": NASTY, "mix": "Mix: plain."}
    assert got[1] == {"--color": NASTY}
    assert set(got[2]) == {c.value for c in Color}


ZSH_DRIVER = r"""
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
# The prompt reads "@@@@": keys are sent only once zle waits for them (typed ahead
# while a command runs, the terminal's line editing would eat the Tab and Ctrl-U).
zpty -w z 'stty columns 400; PS1="@@%(?..)@@"; RPROMPT=""; unsetopt zle_bracketed_paste'
zpty -w z "autoload -U compinit; compinit -u -D; source ${(q)1}"
zpty -w z 'zstyle ":completion:*" list-grouped false'
zpty -w z "print RE''ADY"
zpty -r z line '*READY*@@@@*'
shift
local n=0 out
for query in "$@"; do
    n=$((n + 1))
    zpty -w -n z "$query"$'\t'
    zpty -w -n z $'\C-u'
    zpty -w z "print EN''D$n"
    out=''
    zpty -r z out "*END$n*@@@@*"
    print -r -- "$out"
    print -r -- $'\x1e'
done
zpty -d z
"""


def zsh_screens(script_path: Path, lines: Sequence[str], cwd: Path) -> list[str]:
    """What the terminal shows after Tab on each line (ANSI stripped)."""
    needs("zsh")
    run = subprocess.run(["zsh", "-f", "-c", ZSH_DRIVER, "zsh", str(script_path), *lines],
                         cwd=cwd, env=_clean_env(cwd), capture_output=True, text=True,
                         timeout=60)
    if run.returncode == 3:
        pytest.skip("zsh has no zpty module")
    assert run.returncode == 0, run.stderr
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", run.stdout)
    return text.split(SEP)[: len(lines)]


def test_zsh_completes_for_real(tmp_path: Path) -> None:
    nodes = {n.path: n for n in app_nodes()}
    screens = zsh_screens(script("zsh"), ["llmx ", "llmx ask --no-", "llmx config s",
                                          "llmx completions "], tmp_path)
    assert all(name in screens[0] for name in nodes[()].subcommands)
    assert "--no-stream" in screens[1]
    assert "llmx config show" in screens[2]  # the only match is inserted
    assert all(shell in screens[3] for shell in SHELL_NAMES)


def test_zsh_descriptions_survive_quoting(odd_scripts: dict[str, Path], tmp_path: Path) -> None:
    screens = zsh_screens(odd_scripts["zsh"], ["llmx ", "llmx paint -"], tmp_path)
    assert re.search(rf"paint +-- {re.escape(NASTY)}", screens[0])  # _describe
    assert f"-- {NASTY}" in screens[1]  # _arguments
    assert "secret" not in screens[0]
