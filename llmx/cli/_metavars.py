"""The placeholders help shows for option values: one rule for every command.

Typer shows ``<bool>``, ``<str>``, ``<list[str]>`` where a user wants to read what to type.
A flag (``--help`` too) takes no value, so it shows none; an option declared with a
``metavar`` keeps it; any other option gets a word for its type (``N`` for an integer,
``NUMBER`` for a float, ``TEXT`` for a string). An argument is shown by its name
(``PROMPT...``), with no type column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typer._click import Command

BY_TYPE = {int: "N", float: "NUMBER", str: "TEXT"}
HELP_NAMES = ["-h", "--help"]


def with_metavars(command: Command) -> None:
    """Fill the placeholders of ``command`` and its subcommands in place."""
    from typer._click import Context
    from typer.core import TyperArgument, TyperOption

    help_option = command.get_help_option(Context(command, help_option_names=HELP_NAMES))
    for param in [*command.params, *([help_option] if help_option else [])]:
        if isinstance(param, TyperOption) and (param.is_flag or param.count):
            param.metavar = ""
        elif isinstance(param, TyperArgument):
            vars(param)["display_type_rich"] = _no_type  # the name says it all
        elif isinstance(param, TyperOption) and param.metavar is None:
            kind = param.type_descriptor.annotation
            param.metavar = BY_TYPE.get(kind, (param.name or "value").upper())
    for sub in getattr(command, "commands", {}).values():
        with_metavars(sub)


def _no_type(ctx: Any) -> None:
    return None
