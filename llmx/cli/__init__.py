"""Entry point. ``main`` keeps the common commands off Typer's import cost.

``llmx --version`` and well-formed ``llmx ask ...`` lines are served without importing
Typer (which loads pydantic and Rich: ~140 ms here). Everything else, including
``--help`` and every error in parsing, goes through the Typer app.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    sys.exit(_dispatch(args))


def _dispatch(args: list[str]) -> int:
    if args in (["--version"], ["-V"]):
        from llmx import __version__

        sys.stdout.write(f"llmx {__version__}\n")
        return 0
    if args[:1] == ["ask"]:
        from llmx.cli._boundary import guarded
        from llmx.cli._io import Io
        from llmx.cli.ask import parse_fast, run_ask

        parsed = parse_fast(args[1:])
        if parsed is not None:
            return guarded(lambda: run_ask(parsed, Io.system()))
    from llmx.cli.app import run_app

    return run_app(args)
