"""Profile settings as declared fields, and what is read back from them.

A setting is a class attribute whose declaration carries its default, check and help text,
next to its type: ``@settings_table`` makes a frozen, slotted, keyword-only class of them,
``setting(...)`` declares one key and ``table(...)`` a sub-table (another settings class);
the classes themselves are in ``settings.py``. Read back through ``declared(cls)``: the
checked key list (``profile_spec``, ``rule``), the defaults (``defaults``), and the
commented TOML of ``config show`` and ``llmx.toml.example`` (``render``).

The classes are not dataclasses (type checkers see them as such, through
``dataclass_transform``): every command, a cache hit included, loads these declarations,
and a frozen dataclass costs ~1.4 ms to create where ``settings_table`` costs a few
microseconds. What they keep of a frozen, slotted, keyword-only dataclass: keyword
construction with the declared defaults (a missing required key or an unknown one is a
``TypeError``), read-only attributes, equality and hashing by value among instances of one
class, a repr without the fields declared ``repr=False``, pickling. ``replaced(obj, ...)``
stands for ``dataclasses.replace`` and ``names(cls)`` for the field names.

Keys match the field names of the settings classes one to one, so a checked sub-table can
be passed straight to its class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, Final, TypeVar, cast, dataclass_transform

from llmx.config import schema
from llmx.config.schema import Checker, Spec

TOP_LEVEL_KEYS = ("default_profile", "profiles")
T = TypeVar("T")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()  # "no default": the key is required


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


class Field:
    """One field of a settings class: its name, default (``MISSING``: none) or factory,
    whether its repr shows it, and its declaration (None: a plain field, not a key)."""

    __slots__ = ("decl", "default", "default_factory", "name", "repr")

    def __init__(self, decl: Declared | None, default: Any = MISSING,
                 default_factory: Callable[[], Any] | None = None, repr: bool = True) -> None:
        self.name = ""  # set by ``settings_table``
        self.decl = decl
        self.default = default
        self.default_factory = default_factory
        self.repr = repr


def setting(*, help: str, check: Checker | Spec, default: Any = MISSING,
            default_factory: Callable[[], Any] | None = None,
            show: Callable[[Any], Any] | None = None, example: Any = None,
            repr: bool = True) -> Any:
    """A profile key: its default (none: the key is required), checker and help text."""
    return Field(Declared(help, check, None, show, example), default, default_factory, repr)


def table(*, help: str, default_factory: type | None = None, of: type | None = None,
          default: Any = MISSING) -> Any:
    """A sub-table whose keys are the settings of a class: ``default_factory=Cls`` (the
    table's own defaults apply), or ``of=Cls, default=None`` (absent unless written)."""
    cls = default_factory or of
    if cls is None:
        raise TypeError("table() needs default_factory or of")
    return Field(Declared(help, None, cls, None, None), default, default_factory)


class _Table:
    """The behaviour every settings class shares (see the module docstring)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _table: tuple[Field, ...] = ()

    def __init__(self, **values: Any) -> None:
        for item in self._table:
            if item.name in values:
                value = values.pop(item.name)
            elif item.default_factory is not None:
                value = item.default_factory()
            elif item.default is MISSING:
                raise TypeError(f"{type(self).__name__}() missing required keyword argument: "
                                f"'{item.name}'")
            else:
                value = item.default
            object.__setattr__(self, item.name, value)
        if values:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument "
                            f"'{next(iter(values))}'")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field '{name}' of a settings table")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field '{name}' of a settings table")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, _Table):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{item.name}={getattr(self, item.name)!r}"
                          for item in self._table if item.repr)
        return f"{type(self).__name__}({shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuilt, (type(self), dict(zip(self._fields, self._values(), strict=True)))


def _rebuilt(cls: type[T], values: dict[str, Any]) -> T:
    return cls(**values)


@dataclass_transform(frozen_default=True, kw_only_default=True,
                     field_specifiers=(setting, table))
def settings_table(cls: type[T]) -> type[T]:
    """A frozen, slotted, keyword-only class of settings (see the module docstring): every
    annotated attribute is a field, its value a ``setting``, a ``table`` or a plain default."""
    if cls.__bases__ != (object,):
        raise TypeError("a settings table derives from no other class")
    names = tuple(cls.__annotations__)  # its own: it has no base class
    items = []
    for name in names:
        value = cls.__dict__.get(name, MISSING)
        item = value if isinstance(value, Field) else Field(None, value)
        item.name = name
        items.append(item)
    namespace = {key: value for key, value in cls.__dict__.items()
                 if key not in names and key not in ("__dict__", "__weakref__")}
    namespace.update(__slots__=names, _fields=names, _table=tuple(items))
    return cast("type[T]", type(cls.__name__, (_Table,), namespace))


def is_table(value: object) -> bool:
    """Whether ``value`` is an instance of a settings class."""
    return isinstance(value, _Table)


def names(cls: type) -> tuple[str, ...]:
    """The field names of a settings class, in declaration order."""
    if not issubclass(cls, _Table):
        raise TypeError(f"not a settings table: {cls.__name__}")
    return cls._fields


def replaced(obj: T, /, **changes: Any) -> T:
    """``obj`` with ``changes`` (``dataclasses.replace`` for a settings class instance)."""
    if not isinstance(obj, _Table):
        raise TypeError(f"not a settings table: {type(obj).__name__}")
    values = dict(zip(obj._fields, obj._values(), strict=True))
    values.update(changes)
    return type(obj)(**values)


def declared(cls: type) -> Iterator[tuple[Field, Declared]]:
    """The declared settings of ``cls`` in declaration order (plain fields left out)."""
    for item in getattr(cls, "_table", ()):
        if item.decl is not None:
            yield item, item.decl


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
