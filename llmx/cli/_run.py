"""Running the Typer app (``llmx.cli.app``) for every command line the fast path leaves.

Click's own ways of ending are mapped to llmx's: a usage error is one ``error:`` line and
a ``hint: see `llmx CMD --help``` line (exit 2), never a box; help cut off by a closed
pipe is a quiet exit 0; help that cannot be written at all raises ``OSError`` to
``llmx.cli.main``, which reports it (exit 8).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from typer.core import TyperGroup

from llmx.cli._boundary import guarded
from llmx.cli._metavars import with_metavars
from llmx.errors import ExitCode, UsageError
from llmx.ui.stream import discard_output

if TYPE_CHECKING:
    from llmx.cli._io import Io


@functools.cache
def click_app() -> TyperGroup:
    """The app as a click command tree, with a value placeholder on every option; built
    once per process (~17 ms), as a command line is one run but in-process tests run many.
    Click keeps a run's state in its Context, never in the tree."""
    import typer.main

    from llmx.cli.app import app
    from llmx.cli.batch_spec import BATCH
    from llmx.cli.spec import ASK
    from llmx.cli.spec_typer import wire_consts

    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    wire_consts(command.commands["ask"], ASK)
    wire_consts(command.commands["batch"], BATCH)
    with_metavars(command)
    return command


def run_app(args: list[str], io: Io) -> int:
    """Run the Typer app with ``io`` as every command's streams and environment (click's
    ``ctx.obj``); a usage error is one ``error:`` line and a hint (exit 2). Help and
    click's own messages go to ``sys.stdout``/``sys.stderr``, as click writes them."""
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer._click.exceptions import UsageError as ClickUsageError
    from typer.exceptions import Abort

    root = click_app()
    try:
        code = root.main(args=args, prog_name="llmx", standalone_mode=False, obj=io)
    except NoArgsIsHelpError:
        return int(ExitCode.USAGE)  # the help was printed (to stdout)
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None) if isinstance(exc, ClickUsageError) else None
        command = ctx.command_path if ctx is not None else _command_path(root, args)
        message = exc.format_message()
        return guarded(lambda: _usage_error(message, command), io)
    except Abort:
        return int(ExitCode.INTERRUPTED)
    except SystemExit as exc:
        # Commands end with typer.Exit (returned above); SystemExit(1) here is how Rich and
        # click give up on a closed pipe while printing help (`llmx --help | head -1`).
        if exc.code != 1:
            raise
        discard_output(io.stdout)
        return int(ExitCode.OK)
    return code if isinstance(code, int) else 0


def _usage_error(message: str, command: str) -> int:
    text = message[:1].lower() + message[1:]
    raise UsageError(text.removesuffix("."), hint=f"see `{command} --help`")


def _command_path(root: TyperGroup, args: list[str]) -> str:
    """``llmx ask`` for ``["ask", "-p"]``: the deepest command the words name."""
    path, node = ["llmx"], root
    for word in args:
        sub = getattr(node, "commands", {}).get(word)
        if sub is None:
            if not word.startswith("-"):
                break
            continue
        path.append(word)
        node = sub
    return " ".join(path)
