"""The zsh completion script: one ``_arguments`` function per command."""

from __future__ import annotations

import re
from collections.abc import Sequence

from llmx.cli.completions.tree import (
    CONFIG_FLAG,
    HEADER,
    PROFILE_SED,
    PROG,
    Cmd,
    Opt,
    Values,
    builtin_profiles,
    sq,
    walk,
)


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
        specs.append(sq(spec))
    return specs


def _zsh_name(path: tuple[str, ...]) -> str:
    return "_" + "_".join(re.sub(r"\W", "_", p) for p in (PROG, *path))


def _zsh_function(cmd: Cmd) -> str:
    name = _zsh_name(cmd.path)
    specs = [s for o in cmd.options for s in _zsh_option(o)]
    if cmd.subcommands:
        listing = [sq(f"{_zsh_escape(s.path[-1])}:{_zsh_escape(s.help)}")
                   for s in cmd.subcommands]
        cases = [f"        ({s.path[-1]}) {_zsh_name(s.path)} && ret=0 ;;"
                 for s in cmd.subcommands]
        specs += [sq(f": :{name}__commands"), sq("*:: :->command")]
        return ZSH_GROUP.format(name=name, specs=" \\\n        ".join(specs),
                                listing="\n        ".join(listing), cases="\n".join(cases),
                                title=sq(f"{' '.join((PROG, *cmd.path))} command"),
                                context="-".join((PROG, *cmd.path)))
    for arg in cmd.arguments:
        prefix = "*" if arg.variadic else ""
        specs.append(sq(f"{prefix}:{_zsh_escape(arg.name)}:{_zsh_action(arg.values)}"))
    return ZSH_LEAF.format(name=name, specs=" \\\n        ".join(specs))


def zsh(tree: Cmd) -> str:
    functions = "\n".join(_zsh_function(cmd) for cmd in walk(tree))
    return ZSH.format(header=HEADER, prog=PROG, config=CONFIG_FLAG, sed=sq(PROFILE_SED),
                      builtins=" ".join(builtin_profiles()), functions=functions)


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
