"""The bash completion script: tables of commands, options and values in ``case``
statements, read by one completion function."""

from __future__ import annotations

from llmx.cli.completions.tree import (
    CONFIG_FLAG,
    HEADER,
    PROFILE_SED,
    PROG,
    Cmd,
    Values,
    builtin_profiles,
    sq,
    walk,
)


def bash(tree: Cmd) -> str:
    specs: list[str] = []
    values: list[str] = []
    for cmd in walk(tree):
        valued = [n for o in cmd.options if o.values is not None for n in o.names]
        subs = " ".join(s.path[-1] for s in cmd.subcommands)
        opts = " ".join(sorted(n for o in cmd.options for n in o.names))
        specs.append(f"        {sq(cmd.key)}) subs={sq(subs)} opts={sq(opts)}"
                     f" valued={sq(' '.join(sorted(valued)))} ;;")
        for opt in cmd.options:
            values += [_bash_values(f"{cmd.key}:{n}", opt.values) for n in opt.names
                       if opt.values is not None and opt.values.kind != "none"]
        if cmd.arguments and cmd.arguments[0].values.kind != "none":
            values.append(_bash_values(f"{cmd.key}:", cmd.arguments[0].values))
    return BASH.format(header=HEADER, builtins=" ".join(builtin_profiles()), sed=sq(PROFILE_SED),
                       specs="\n".join(specs), values="\n".join(sorted(values)),
                       config=CONFIG_FLAG, prog=PROG)


def _bash_values(key: str, values: Values) -> str:
    words = f" words={sq(' '.join(values.words))}" if values.kind == "words" else ""
    return f"        {sq(key)}) kind={values.kind}{words} ;;"


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
