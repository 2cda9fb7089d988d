"""Static shell completions (bash, zsh, fish), generated from the Typer app.

Typer's own completion scripts start ``llmx`` on every Tab press; these scripts
answer from tables written into them, so completion is instant. Only profile
names are read at Tab time, with one ``sed`` over the config file llmx would
use (``--config`` on the line, ``$LLMX_CONFIG``, ``./llmx.toml``, the XDG file).

Regenerate the checked-in scripts after changing a command or an option::

    python -m llmx.cli.completions            # writes completions/llmx.{bash,zsh,fish}
    python -m llmx.cli.completions OUT_DIR    # or into another directory

``tests/cli/test_completions.py`` fails while the files differ from ``generate``.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from llmx.cli._io import Io
from llmx.errors import UsageError

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
    """The llmx app's commands as plain values."""
    import typer.main

    from llmx.cli.app import app

    return tree_of(typer.main.get_command(app))


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


def _walk(cmd: Cmd) -> list[Cmd]:
    return [cmd, *(c for sub in cmd.subcommands for c in _walk(sub))]


def _builtin_profiles() -> tuple[str, ...]:
    from llmx.config.profile import builtin_tables

    return tuple(sorted(builtin_tables()))


# ---------------------------------------------------------------- bash


def _sq(text: str) -> str:
    """A single-quoted sh/bash/zsh word."""
    return "'" + text.replace("'", "'\\''") + "'"


def bash(tree: Cmd) -> str:
    specs: list[str] = []
    values: list[str] = []
    for cmd in _walk(tree):
        valued = [n for o in cmd.options if o.values is not None for n in o.names]
        subs = " ".join(s.path[-1] for s in cmd.subcommands)
        opts = " ".join(sorted(n for o in cmd.options for n in o.names))
        specs.append(f"        {_sq(cmd.key)}) subs={_sq(subs)} opts={_sq(opts)}"
                     f" valued={_sq(' '.join(sorted(valued)))} ;;")
        for opt in cmd.options:
            values += [_bash_values(f"{cmd.key}:{n}", opt.values) for n in opt.names
                       if opt.values is not None and opt.values.kind != "none"]
        if cmd.arguments and cmd.arguments[0].values.kind != "none":
            values.append(_bash_values(f"{cmd.key}:", cmd.arguments[0].values))
    return BASH.format(header=HEADER, builtins=" ".join(_builtin_profiles()), sed=_sq(PROFILE_SED),
                       specs="\n".join(specs), values="\n".join(sorted(values)),
                       config=CONFIG_FLAG, prog=PROG)


def _bash_values(key: str, values: Values) -> str:
    words = f" words={_sq(' '.join(values.words))}" if values.kind == "words" else ""
    return f"        {_sq(key)}) kind={values.kind}{words} ;;"


BASH = r"""# bash completion for {prog}
# {header}
# Use: `source` this file, or copy it to ~/.local/share/bash-completion/completions/{prog}

# Profile names: the built-in ones and the [profiles.NAME] tables of the config file
# {prog} would read ($1: the {config} value on the command line, if any).
_{prog}__profiles() {{
    local file=${{1-}}
    if [[ -z $file ]]; then
        if [[ -n ${{LLMX_CONFIG-}} ]]; then file=$LLMX_CONFIG
        elif [[ -f llmx.toml ]]; then file=llmx.toml
        elif [[ ${{XDG_CONFIG_HOME-}} == /* ]]; then file=$XDG_CONFIG_HOME/llmx/config.toml
        else file=$HOME/.config/llmx/config.toml
        fi
    fi
    [[ $file == '~/'* ]] && file=$HOME/${{file#'~/'}}
    {{ printf '%s\n' {builtins}
      [[ -r $file ]] && sed -n -E {sed} "$file"; }} | sort -u
}}

# Sets subs (subcommands), opts (options) and valued (options taking a value)
# for the command path $1 ('' for {prog} itself, 'config show' for `{prog} config show`).
_{prog}__spec() {{
    case $1 in
{specs}
        *) subs='' opts='' valued='' ;;
    esac
}}

# Sets kind (files, profiles, words or none) and words for the value of option $2
# of command path $1; $2 = '' means the command's arguments.
_{prog}__values() {{
    kind=none words=''
    case "$1:$2" in
{values}
    esac
}}

_{prog}() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} cmd='' config='' pending='' word i=1
    local subs opts valued kind words
    COMPREPLY=()
    while ((i < COMP_CWORD)); do
        word=${{COMP_WORDS[i]}}
        _{prog}__spec "$cmd"
        if [[ $word == -* ]]; then
            if [[ " $valued " == *" $word "* ]]; then
                ((i++))
                if ((i < COMP_CWORD)) && [[ ${{COMP_WORDS[i]}} == = ]]; then ((i++)); fi
                if ((i >= COMP_CWORD)); then pending=$word; break; fi
                [[ $word == {config} ]] && config=${{COMP_WORDS[i]}}
            fi
        elif [[ " $subs " == *" $word "* ]]; then
            cmd=${{cmd:+$cmd }}$word
        fi
        ((i++))
    done
    _{prog}__spec "$cmd"
    if [[ -n $pending ]]; then
        [[ $cur == = ]] && cur=''
        _{prog}__values "$cmd" "$pending"
    elif [[ $cur == -* ]]; then
        kind=words words=$opts
    elif [[ -n $subs ]]; then
        kind=words words=$subs
    else
        _{prog}__values "$cmd" ''
    fi
    case $kind in
        files) compopt -o filenames 2>/dev/null
               mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        profiles) mapfile -t COMPREPLY < <(compgen -W "$(_{prog}__profiles "$config")" -- "$cur") ;;
        words) mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur") ;;
    esac
    return 0
}}

complete -F _{prog} {prog}
"""


# ---------------------------------------------------------------- zsh


def _zsh_escape(text: str) -> str:
    """Text inside an _arguments `[...]` description or a _describe `name:description`."""
    return re.sub(r"([\\\[\]:])", r"\\\1", text)


def _zsh_words(words: Sequence[str]) -> str:
    return "(" + " ".join(re.sub(r"([^\w./-])", r"\\\1", w) for w in words) + ")"


def _zsh_action(values: Values) -> str:
    return {"none": " ", "files": "_files", "profiles": f"_{PROG}__profiles",
            "words": _zsh_words(values.words)}[values.kind]


def _zsh_option(opt: Opt) -> list[str]:
    exclude = "*" if opt.repeatable else f"({' '.join(opt.names)})"
    specs = []
    for name in opt.names:
        spec = f"{exclude}{name}"
        if opt.values is not None:
            spec += "=" if name.startswith("--") else "+"
        spec += f"[{_zsh_escape(opt.help)}]" if opt.help else ""
        if opt.values is not None:
            spec += f":{_zsh_escape(opt.metavar)}:{_zsh_action(opt.values)}"
        specs.append(_sq(spec))
    return specs


def _zsh_name(path: tuple[str, ...]) -> str:
    return "_" + "_".join(re.sub(r"\W", "_", p) for p in (PROG, *path))


def _zsh_function(cmd: Cmd) -> str:
    name = _zsh_name(cmd.path)
    specs = [s for o in cmd.options for s in _zsh_option(o)]
    if cmd.subcommands:
        listing = [_sq(f"{_zsh_escape(s.path[-1])}:{_zsh_escape(s.help)}")
                   for s in cmd.subcommands]
        cases = [f"        ({s.path[-1]}) {_zsh_name(s.path)} && ret=0 ;;"
                 for s in cmd.subcommands]
        specs += [_sq(f": :{name}__commands"), _sq("*:: :->command")]
        return ZSH_GROUP.format(name=name, specs=" \\\n        ".join(specs),
                                listing="\n        ".join(listing), cases="\n".join(cases),
                                title=_sq(f"{' '.join((PROG, *cmd.path))} command"),
                                context="-".join((PROG, *cmd.path)))
    for arg in cmd.arguments:
        prefix = "*" if arg.variadic else ""
        specs.append(_sq(f"{prefix}:{_zsh_escape(arg.name)}:{_zsh_action(arg.values)}"))
    return ZSH_LEAF.format(name=name, specs=" \\\n        ".join(specs))


def zsh(tree: Cmd) -> str:
    functions = "\n".join(_zsh_function(cmd) for cmd in _walk(tree))
    return ZSH.format(header=HEADER, prog=PROG, config=CONFIG_FLAG, sed=_sq(PROFILE_SED),
                      builtins=" ".join(_builtin_profiles()), functions=functions)


ZSH_GROUP = """{name}() {{
    local curcontext=$curcontext state state_descr line ret=1
    typeset -A opt_args
    _arguments -C \\
        {specs} && ret=0
    if [[ $state == command ]]; then
        curcontext=${{curcontext%:*:*}}:{context}-$words[1]:
        case $words[1] in
{cases}
        esac
    fi
    return ret
}}

{name}__commands() {{
    local -a commands
    commands=(
        {listing}
    )
    _describe -t commands {title} commands
}}
"""

ZSH_LEAF = """{name}() {{
    typeset -A opt_args
    _arguments \\
        {specs}
}}
"""

ZSH = r"""#compdef {prog}
# zsh completion for {prog}
# {header}
# Use: save as _{prog} in a directory on $fpath (then compinit), or `source` it.

# Profile names: the built-in ones and the [profiles.NAME] tables of the config file
# {prog} would read ({config} on the command line, $LLMX_CONFIG, ./llmx.toml, XDG).
_{prog}__profiles() {{
    local file=${{(Q)opt_args[{config}]-}}
    if [[ -z $file ]]; then
        if [[ -n ${{LLMX_CONFIG-}} ]]; then file=$LLMX_CONFIG
        elif [[ -f llmx.toml ]]; then file=llmx.toml
        elif [[ ${{XDG_CONFIG_HOME-}} == /* ]]; then file=$XDG_CONFIG_HOME/llmx/config.toml
        else file=$HOME/.config/llmx/config.toml
        fi
    fi
    [[ $file == '~/'* ]] && file=$HOME/${{file#'~/'}}
    local -a names
    names=({builtins} ${{(f)"$([[ -r $file ]] && sed -n -E {sed} "$file")"}})
    _wanted profiles expl profile compadd -- ${{(u)names}}
}}

{functions}
if [[ ${{zsh_eval_context[-1]-}} == loadautofunc ]]; then
    _{prog} "$@"
else
    compdef _{prog} {prog}
fi
"""


# ---------------------------------------------------------------- fish


def _fish_option(cmd: Cmd, opt: Opt) -> str:
    parts = [f"complete -c {PROG} {_fish_at(cmd)}"]
    for name in opt.names:
        if name.startswith("--"):
            parts.append(f"-l {_fish_quote(name[2:])}")
        elif len(name) == 2:
            parts.append(f"-s {_fish_quote(name[1:])}")
        else:
            parts.append(f"-o {_fish_quote(name[1:])}")
    parts += _fish_values(opt.values)
    return " ".join([*parts, "-d", _fish_quote(opt.help)] if opt.help else parts)


def _fish_values(values: Values | None) -> list[str]:
    if values is None:
        return []
    return {"none": ["-x"], "files": ["-r", "-F"],
            "profiles": ["-x", "-a", f"'(__{PROG}_profiles)'"],
            "words": ["-x", "-a", _fish_quote(" ".join(values.words))]}[values.kind]


def _fish_quote(text: str) -> str:
    """A single-quoted fish word (only \\ and ' are special inside)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_at(cmd: Cmd) -> str:
    return "-n " + _fish_quote(" ".join((f"__{PROG}_at", *cmd.path)))


def _fish_lines(cmd: Cmd) -> list[str]:
    at = _fish_at(cmd)
    lines = [f"complete -c {PROG} {at} -a {_fish_quote(s.path[-1])} -d {_fish_quote(s.help)}"
             for s in cmd.subcommands]
    lines += [_fish_option(cmd, opt) for opt in cmd.options]
    if not cmd.subcommands and cmd.arguments:
        values = cmd.arguments[0].values
        if values.kind == "files":
            lines.append(f"complete -c {PROG} {at} -F")
        elif values.kind == "profiles":
            lines.append(f"complete -c {PROG} {at} -a '(__{PROG}_profiles)'")
        elif values.kind == "words":
            lines.append(f"complete -c {PROG} {at} -a {_fish_quote(' '.join(values.words))}")
    return lines


def fish(tree: Cmd) -> str:
    commands = [cmd.key for cmd in _walk(tree) if cmd.path]
    lines = [line for cmd in _walk(tree) for line in _fish_lines(cmd)]
    return FISH.format(header=HEADER, prog=PROG, config=CONFIG_FLAG, sed=_fish_quote(PROFILE_SED),
                       builtins=" ".join(_builtin_profiles()),
                       known=" ".join(_fish_quote(c) for c in commands), lines="\n".join(lines))


FISH = r"""# fish completion for {prog}
# {header}
# Use: copy to ~/.config/fish/completions/{prog}.fish

# The (sub)command being completed, as words joined by spaces ('' for {prog} itself).
function __{prog}_command
    set -l known {known}
    set -l path ''
    for word in (commandline -opc)[2..-1]
        set -l candidate (string trim -- "$path $word")
        contains -- $candidate $known; and set path $candidate
    end
    echo $path
end

# Is the command being completed `{prog} $argv`?
function __{prog}_at
    set -l command (__{prog}_command)
    test "$command" = "$argv"
end

# Profile names: the built-in ones and the [profiles.NAME] tables of the config file
# {prog} would read ({config} on the command line, $LLMX_CONFIG, ./llmx.toml, XDG).
function __{prog}_profiles
    set -l tokens (commandline -opc)
    set -l file
    set -l i (contains -i -- {config} $tokens); and set file $tokens[(math $i + 1)]
    for token in $tokens
        string match -q -- '{config}=*' $token
        and set file (string replace -- '{config}=' '' $token)
    end
    if test -z "$file"
        if test -n "$LLMX_CONFIG"
            set file $LLMX_CONFIG
        else if test -f llmx.toml
            set file llmx.toml
        else if string match -q -- '/*' "$XDG_CONFIG_HOME"
            set file $XDG_CONFIG_HOME/llmx/config.toml
        else
            set file $HOME/.config/llmx/config.toml
        end
    end
    set file (string replace -r -- '^~/' "$HOME/" $file)
    begin
        printf '%s\n' {builtins}
        test -r "$file"; and sed -n -E {sed} $file
    end | sort -u
end

complete -c {prog} -f
{lines}
"""


# ---------------------------------------------------------------- entry points

def _renderer(shell: str) -> Callable[[Cmd], str]:
    if shell == "bash":
        return bash
    if shell == "fish":
        return fish
    if shell == "zsh":
        return zsh
    raise UsageError(f"unknown shell {shell!r}: choose one of {', '.join(SHELLS)}")


def generate(shell: str) -> str:
    """The completion script for ``shell`` (one of ``SHELLS``)."""
    return _renderer(shell)(command_tree())


def run_completions(shell: str, io: Io) -> int:
    io.stdout.write(generate(shell))
    io.stdout.flush()
    return 0


def script_path(directory: Path, shell: str) -> Path:
    return directory / f"{PROG}.{shell}"


def default_directory() -> Path:
    """``completions/`` at the root of a source checkout."""
    return Path(__file__).resolve().parents[2] / "completions"


def write_all(directory: Path) -> list[Path]:
    written = []
    for shell in SHELLS:
        path = script_path(directory, shell)
        path.write_text(generate(shell), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str]) -> int:
    directory = Path(argv[0]) if argv else default_directory()
    for path in write_all(directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
