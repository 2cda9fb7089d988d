"""The fish completion script: one ``complete`` line per subcommand, option and argument,
guarded by a function that finds the command being completed."""

from __future__ import annotations

from llmx.cli.completions.tree import (
    CONFIG_FLAG,
    HEADER,
    PROFILE_SED,
    PROG,
    Cmd,
    Opt,
    Values,
    builtin_profiles,
    walk,
)


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
    commands = [cmd.key for cmd in walk(tree) if cmd.path]
    lines = [line for cmd in walk(tree) for line in _fish_lines(cmd)]
    return FISH.format(header=HEADER, prog=PROG, config=CONFIG_FLAG, sed=_fish_quote(PROFILE_SED),
                       builtins=" ".join(builtin_profiles()),
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
