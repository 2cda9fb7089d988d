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

from collections.abc import Callable, Sequence
from pathlib import Path

from llmx.cli._io import Io
from llmx.cli.completions.render_bash import bash
from llmx.cli.completions.render_fish import fish
from llmx.cli.completions.render_zsh import zsh
from llmx.cli.completions.tree import PROG, SHELLS, Cmd, command_tree, tree_of
from llmx.errors import UsageError

__all__ = ["SHELLS", "Cmd", "bash", "command_tree", "default_directory", "fish", "generate",
           "main", "run_completions", "script_path", "tree_of", "write_all", "zsh"]


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
    return Path(__file__).resolve().parents[3] / "completions"


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

