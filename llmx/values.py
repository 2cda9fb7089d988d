"""Frozen, slotted, keyword-only value classes, built without ``dataclasses``. Standard
library only.

Modules on the path of every command (a cache hit included) must not create dataclasses
at import: importing ``dataclasses`` pulls in ``inspect`` and ``ast``, and each frozen
dataclass costs ~1.4 ms to create. ``@frozen`` costs a few microseconds a class. Type
checkers see a ``@frozen`` class as a frozen, keyword-only dataclass (``dataclass_transform``);
at run time it is a plain ``__slots__`` class that keeps, of such a dataclass:

* keyword construction with the declared defaults (``x: int = 0``, or
  ``x: T = field(default=..., default_factory=..., repr=...)``); a missing required field,
  an unknown one or a positional argument is a ``TypeError``;
* ``__post_init__(self)``, when the class defines one, run after the fields are set;
* read-only fields (assigning or deleting one raises ``AttributeError``);
* equality and hashing by value among instances of the very same class, a repr without
  the fields declared ``repr=False``, pickling and copying.

What stands for the rest of the ``dataclasses`` API: ``replaced(obj, **changes)`` for
``dataclasses.replace`` (it runs ``__post_init__`` again), ``names(cls)`` for the field
names, ``fields_of(cls)`` for the ``Field``s (with the ``meta`` a field was declared with),
``is_frozen(value)`` for ``is_dataclass``. A ``@frozen`` class derives from no other class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final, TypeVar, cast, dataclass_transform

T = TypeVar("T")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()  # "no default": the field is required


class Field:
    """One field: its name, default (``MISSING``: none) or factory, whether the repr shows
    it, and ``meta``, whatever its declaration attached (``llmx.config.fields``: a setting's
    check and help)."""

    __slots__ = ("default", "default_factory", "meta", "name", "repr")

    def __init__(self, default: Any = MISSING, default_factory: Callable[[], Any] | None = None,
                 repr: bool = True, meta: Any = None) -> None:
        self.name = ""  # set when the class is built
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.meta = meta


def field(*, default: Any = MISSING, default_factory: Callable[[], Any] | None = None,
          repr: bool = True) -> Any:
    """A field with a default (or a factory of one) and a repr flag."""
    return Field(default, default_factory, repr)


class Frozen:
    """What every ``@frozen`` class shares (see the module docstring)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _table: ClassVar[tuple[Field, ...]] = ()
    _post: ClassVar[Callable[[Any], None] | None] = None  # the class's __post_init__

    def __init__(self, **values: Any) -> None:
        setter = object.__setattr__
        if len(values) == len(self._fields):  # every field given (the common case)
            try:
                for name in self._fields:
                    setter(self, name, values[name])
            except KeyError:
                pass
            else:
                self._posted()
                return
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
            setter(self, item.name, value)
        if values:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument "
                            f"'{next(iter(values))}'")
        self._posted()

    def _posted(self) -> None:
        post = type(self)._post
        if post is not None:
            post(self)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field '{name}' of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field '{name}' of a frozen {type(self).__name__}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, Frozen):
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


def build(cls: type[T]) -> type[T]:
    """The ``@frozen`` class of ``cls``'s body: every annotated attribute is a field, its
    value a ``Field`` or a plain default. (Decorators that declare their own field
    specifiers, as ``llmx.config.fields.settings_table`` does, call this.)"""
    if cls.__bases__ != (object,):
        raise TypeError(f"{cls.__name__}: a frozen value class derives from no other class")
    names = tuple(cls.__annotations__)  # its own: it has no base class
    items = []
    for name in names:
        value = cls.__dict__.get(name, MISSING)
        item = value if isinstance(value, Field) else Field(value)
        item.name = name
        items.append(item)
    namespace = {key: value for key, value in cls.__dict__.items()
                 if key not in names and key not in ("__dict__", "__weakref__")}
    namespace.update(__slots__=names, _fields=names, _table=tuple(items),
                     _post=namespace.get("__post_init__"))
    return cast("type[T]", type(cls.__name__, (Frozen,), namespace))


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def frozen(cls: type[T]) -> type[T]:
    """A frozen, slotted, keyword-only value class (see the module docstring)."""
    return build(cls)


def is_frozen(value: object) -> bool:
    """Whether ``value`` is an instance of a ``@frozen`` class."""
    return isinstance(value, Frozen)


def names(cls: type) -> tuple[str, ...]:
    """The field names of a ``@frozen`` class, in declaration order."""
    if not issubclass(cls, Frozen):
        raise TypeError(f"not a frozen value class: {cls.__name__}")
    return cls._fields


def fields_of(cls: type) -> tuple[Field, ...]:
    """The fields of a ``@frozen`` class, in declaration order (none for another class)."""
    return cls._table if issubclass(cls, Frozen) else ()


def replaced(obj: T, /, **changes: Any) -> T:
    """``obj`` with ``changes`` (``dataclasses.replace`` for a ``@frozen`` instance)."""
    if not isinstance(obj, Frozen):
        raise TypeError(f"not a frozen value: {type(obj).__name__}")
    values = dict(zip(obj._fields, obj._values(), strict=True))
    values.update(changes)
    return type(obj)(**values)
