"""Profile settings as declared fields, and what is read back from them.

A setting is a class attribute whose declaration carries its default, check and help text,
next to its type: ``@settings_table`` makes a frozen, slotted, keyword-only class of them
(``llmx.values``: not a dataclass, which every command would pay for at import),
``setting(...)`` declares one key and ``table(...)`` a sub-table (another settings class);
the classes themselves are in ``settings.py``. Read back through ``declared(cls)``: the
checked key list (``profile_spec``, ``rule``), the defaults (``defaults``), and the
commented TOML of ``config show`` and ``llmx.toml.example`` (``render``). A changed copy
is ``llmx.values.replaced(profile, ...)``; the field names, ``llmx.values.names(cls)``.

Keys match the field names of the settings classes one to one, so a checked sub-table can
be passed straight to its class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, TypeVar, dataclass_transform

from llmx.config import schema
from llmx.config.schema import Checker, Spec
from llmx.values import MISSING, Field, build, fields_of

__all__ = ["MISSING", "TOP_LEVEL_KEYS", "Declared", "Field", "declared", "default_of",
           "defaults", "profile_spec", "rule", "setting", "settings_table", "table",
           "table_spec"]

TOP_LEVEL_KEYS = ("default_profile", "profiles", "serve", "templates")
T = TypeVar("T")


class Declared:
    """One setting as declared. ``check`` is the key's checker, or a ``Spec`` for a table of
    free keys (``cache.ttl``); ``table`` is the settings class of a sub-table; ``show`` turns
    a default into its TOML spelling (seconds -> ``"30s"``); ``example`` is the value the
    example config shows, commented out, for a key without a constant default."""

    __slots__ = ("check", "example", "help", "show", "table")

    def __init__(self, help: str, check: Checker | Spec | None, table: type | None,
                 show: Callable[[Any], Any] | None, example: Any) -> None:
        self.help = help
        self.check = check
        self.table = table
        self.show = show
        self.example = example


def setting(*, help: str, check: Checker | Spec, default: Any = MISSING,
            default_factory: Callable[[], Any] | None = None,
            show: Callable[[Any], Any] | None = None, example: Any = None,
            repr: bool = True) -> Any:
    """A profile key: its default (none: the key is required), checker and help text."""
    return Field(default, default_factory, repr, Declared(help, check, None, show, example))


def table(*, help: str, default_factory: type | None = None, of: type | None = None,
          default: Any = MISSING) -> Any:
    """A sub-table whose keys are the settings of a class: ``default_factory=Cls`` (the
    table's own defaults apply), or ``of=Cls, default=None`` (absent unless written)."""
    cls = default_factory or of
    if cls is None:
        raise TypeError("table() needs default_factory or of")
    return Field(default, default_factory, meta=Declared(help, None, cls, None, None))


@dataclass_transform(frozen_default=True, kw_only_default=True,
                     field_specifiers=(setting, table))
def settings_table(cls: type[T]) -> type[T]:
    """A frozen, slotted, keyword-only class of settings (``llmx.values.frozen``): every
    annotated attribute is a field, its value a ``setting``, a ``table`` or a plain default."""
    return build(cls)


def declared(cls: type) -> Iterator[tuple[Field, Declared]]:
    """The declared settings of ``cls`` in declaration order (plain fields left out)."""
    for item in fields_of(cls):
        if isinstance(item.meta, Declared):
            yield item, item.meta


def default_of(item: Field) -> Any:
    """The default of a field (``MISSING`` when it has none)."""
    if item.default_factory is not None:
        return item.default_factory()
    return item.default


def defaults(cls: type) -> dict[str, Any]:
    """Every setting of ``cls`` that has a default, with it."""
    found = ((item.name, default_of(item)) for item, _ in declared(cls))
    return {name: value for name, value in found if value is not MISSING}


@cache
def table_spec(cls: type) -> Spec:
    """The keys of a settings class (sub-tables recursively), each with its checker."""
    return schema.frozen({item.name: _entry(decl) for item, decl in declared(cls)})


def _entry(decl: Declared) -> Checker | Spec:
    if decl.table is not None:
        return table_spec(decl.table)
    if decl.check is None:
        raise TypeError("a setting needs a checker or a table")
    return decl.check


@cache
def profile_spec() -> Spec:
    """The keys of one ``[profiles.NAME]`` table: ``extends`` and every ``Profile`` setting."""
    from llmx.config.settings import EXTENDS, Profile

    return schema.frozen({"extends": _entry(EXTENDS), **table_spec(Profile)})


def rule(dotted: str) -> Checker:
    """The checker of one profile key, e.g. ``rule("batch.concurrency")``: flags that set the
    same thing use it through ``schema.check_flag``, so a flag and the config agree."""
    found: Checker | Spec = profile_spec()
    for part in dotted.split("."):
        if callable(found):
            raise KeyError(dotted)
        found = found[part]
    if not callable(found):
        raise KeyError(dotted)
    return found
