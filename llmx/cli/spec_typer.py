"""Typer commands built from an option table of ``llmx.cli.spec``.

``command_function`` makes a function whose signature Typer reads (``inspect.signature``
and the annotations): one ``Annotated[type, typer.Option(...)]`` parameter per option, in
table order, after a ``ctx`` and the positional words. Typer turns a ``const`` option into
an ordinary flag; ``wire_consts`` then makes it store its constant into its field's own
option, so click keeps the last word given, exactly as the fast parser does.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperOption

from llmx.cli.spec import Opt, Words

Body = Callable[[typer.Context, tuple[str, ...], dict[str, Any]], None]


def option(opt: Opt) -> Any:
    """The ``typer.Option`` of ``opt`` (names, help, placeholder)."""
    names = list(opt.names)
    if opt.off:
        names = [*names[:-1], f"{names[-1]}/{'/'.join(opt.off)}"]
    return typer.Option(*names, help=opt.help, metavar=opt.metavar,
                        show_default=opt.show_default)


def annotation(opt: Opt, default: Any) -> Any:
    """``Annotated[type, typer.Option(...)]`` for ``opt`` with this default."""
    if opt.kind == "many":
        return Annotated[list[opt.type] | None, option(opt)]  # type: ignore[name-defined]
    base: Any = bool if opt.kind not in ("value", "many") else opt.type
    if default is None and opt.kind != "const":
        base = base | None
    return Annotated[base, option(opt)]


def command_function(table: Sequence[Opt], words: Words, defaults: Mapping[str, Any],
                     body: Body) -> Callable[..., None]:
    """A function Typer reads as a command with ``words`` and the options of ``table``;
    calling it calls ``body(ctx, words, {param: value})``."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    given: Any = list[str] | None if words.many else str | None
    words_type = Annotated[given, typer.Argument(help=words.help, show_default=False)]
    params = [inspect.Parameter("ctx", keyword, annotation=typer.Context),
              inspect.Parameter(words.field, keyword, annotation=words_type, default=None)]
    many = [opt.field for opt in table if opt.kind == "many"]
    for opt in table:
        default = False if opt.kind == "const" else (
            None if opt.kind == "many" else defaults[opt.field])
        params.append(inspect.Parameter(opt.param, keyword, annotation=annotation(opt, default),
                                        default=default))

    def run(**values: Any) -> None:
        ctx = values.pop("ctx")
        found = values.pop(words.field)
        values.update({field: tuple(values[field] or ()) for field in many})
        body(ctx, tuple(found or ()) if words.many else (() if found is None else (found,)),
             values)

    run.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
    return run


class ConstInto(TyperOption):
    """A flag whose word stores ``const`` into the value of the option named ``target``."""

    target: str
    const: Any

    def add_to_parser(self, parser: Any, ctx: Any) -> None:
        parser.add_option(obj=self, opts=self.opts, dest=self.target, action="store_const",
                          const=self.const)


def wire_consts(command: Any, table: Sequence[Opt]) -> None:
    """Replace each ``const`` option's plain flag in ``command`` by a ``ConstInto``."""
    consts = {opt.param: opt for opt in table if opt.kind == "const"}
    for index, param in enumerate(command.params):
        opt = consts.get(param.name)
        if opt is None or isinstance(param, ConstInto):
            continue
        wired = copy.copy(param)
        wired.__class__ = ConstInto
        assert isinstance(wired, ConstInto)
        wired.target, wired.const = opt.field, opt.const
        command.params[index] = wired
