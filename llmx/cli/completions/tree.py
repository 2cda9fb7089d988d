"""The Typer app's command tree as plain values, and what every script shares.

``tree_of`` walks a click command (hidden commands and options left out) into ``Cmd`` /
``Opt`` / ``Arg`` values; the renderers (``render_bash``, ``render_zsh``, ``render_fish``)
turn such a tree into a script. The constants and ``sq`` here are common to all three.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from typer._click import Command as ClickCommand
    from typer._click import Context
    from typer.core import TyperArgument, TyperOption

SHELLS = ("bash", "fish", "zsh")
PROG = "llmx"
CONFIG_FLAG = "--config"
HEADER = "Generated from the Typer app by `python -m llmx.cli.completions`; do not edit."
# `[profiles.NAME]` and `[profiles.NAME.sub]` table headers -> NAME (sed -E, all three shells).
PROFILE_SED = (r"s/^[[:space:]]*\[[[:space:]]*profiles[[:space:]]*\.[[:space:]]*"
               r'"?([A-Za-z0-9_-]+)"?[[:space:]]*[].].*/\1/p')

Kind = Literal["none", "files", "profiles", "words"]


@dataclass(frozen=True)
class Values:
    """What completes a value: nothing, file names, profile names or fixed words."""

    kind: Kind = "none"
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Opt:
    names: tuple[str, ...]  # every spelling: -p --profile, or --stream --no-stream
    help: str
    metavar: str
    values: Values | None  # None: a flag, it takes no value
    repeatable: bool


@dataclass(frozen=True)
class Arg:
    name: str
    variadic: bool
    values: Values


@dataclass(frozen=True)
class Cmd:
    path: tuple[str, ...]  # () for llmx itself, ("config", "show") for `llmx config show`
    help: str
    options: tuple[Opt, ...]
    arguments: tuple[Arg, ...]
    subcommands: tuple[Cmd, ...]

    @property
    def key(self) -> str:
        return " ".join(self.path)


# ---------------------------------------------------------------- the command tree


def command_tree() -> Cmd:
    """The llmx app's commands as plain values (with the placeholders help shows)."""
    from llmx.cli._run import click_app

    return tree_of(click_app())


def tree_of(root: ClickCommand) -> Cmd:
    """A click command tree as plain values (hidden commands and options left out)."""
    return _command(root, root.make_context(PROG, [], resilient_parsing=True), ())


def _command(cmd: ClickCommand, ctx: Context, path: tuple[str, ...]) -> Cmd:
    from typer.core import TyperArgument, TyperGroup, TyperOption

    params = [p for p in cmd.get_params(ctx) if not getattr(p, "hidden", False)]
    subs: list[Cmd] = []
    if isinstance(cmd, TyperGroup):
        for name in sorted(cmd.list_commands(ctx)):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                sub_ctx = sub.make_context(name, [], parent=ctx, resilient_parsing=True)
                subs.append(_command(sub, sub_ctx, (*path, name)))
    options = [_option(p) for p in params if isinstance(p, TyperOption)]
    arguments = [_argument(p, path) for p in params if isinstance(p, TyperArgument)]
    return Cmd(path, _summary(getattr(cmd, "help", None)),
               tuple(sorted(options, key=_option_order)), tuple(arguments), tuple(subs))


def _option(param: TyperOption) -> Opt:
    flag = param.is_flag or param.count
    names = tuple(sorted({*param.opts, *param.secondary_opts}, key=lambda n: (len(n), n)))
    metavar = (param.metavar or param.name or "value").lower()
    values = None if flag else _values(param, param.name or "", None)
    return Opt(names, _summary(param.help), metavar, values, param.multiple or param.count)


def _argument(param: TyperArgument, path: tuple[str, ...]) -> Arg:
    name = param.name or "arg"
    return Arg(name.lower(), param.nargs < 0, _values(param, name, path))


def _values(param: TyperOption | TyperArgument, name: str,
            path: tuple[str, ...] | None) -> Values:
    desc = param.type_descriptor
    if desc.choices is not None:
        words = {str(c.value if isinstance(c, Enum) else c) for c in desc.choices}
        return Values("words", tuple(sorted(words)))
    if path == ("completions",) and name == "shell":
        return Values("words", SHELLS)
    if name == "profile":
        return Values("profiles")
    if desc.is_path or desc.is_file or name in ("config", "path"):
        return Values("files")
    return Values()


def _option_order(opt: Opt) -> tuple[str, ...]:
    return tuple(n.lstrip("-").lower() for n in reversed(opt.names))


def _summary(text: str | None) -> str:
    """The first paragraph of a help text, on one line."""
    paragraph = inspect.cleandoc(text or "").split("\f")[0].split("\n\n")[0]
    return " ".join(paragraph.replace("\b", "").split())



def walk(cmd: Cmd) -> list[Cmd]:
    """``cmd`` and every command below it, depth first, parents before children."""
    return [cmd, *(c for sub in cmd.subcommands for c in walk(sub))]


def builtin_profiles() -> tuple[str, ...]:
    from llmx.config.profile import builtin_tables

    return tuple(sorted(builtin_tables()))


def sq(text: str) -> str:
    """A single-quoted sh/bash/zsh word."""
    return "'" + text.replace("'", "'\\''") + "'"
