"""Settings as commented TOML, read from their declarations (``settings.py``): the lines of
``llmx.toml.example`` and of ``llmx config show``. Pure; values are spelled by tomli-w.

A table is rendered key by key in declaration order, each key's help text as a comment
beside it (wrapped, aligned at ``COMMENT_COLUMN``). In *full* mode a key the table does not
set is written commented out, with its declared example or default, so that one rendered
profile lists every setting there is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from llmx.config import schema
from llmx.config.fields import MISSING, Declared, Field, declared, default_of

COMMENT_COLUMN = 36
WIDTH = 96


def toml_value(value: Any) -> str:
    """``value`` spelled as TOML (by tomli-w); an array on one line."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    import tomli_w

    return tomli_w.dumps({"k": value}).removeprefix("k = ").rstrip("\n")


def commented(line: str, note: str) -> list[str]:
    """``line`` with ``note`` as a comment beside it, wrapped onto aligned lines."""
    if not note:
        return [line]
    import textwrap

    if len(line) >= WIDTH // 2:  # too long to keep a readable comment beside it: put it above
        return [*(f"# {chunk}" for chunk in textwrap.wrap(note, WIDTH - 2)), line]
    column = max(COMMENT_COLUMN, len(line) + 1)
    chunks = textwrap.wrap(note, WIDTH - column - 2) or [note]
    first = f"{line.ljust(column)}# {chunks[0]}"
    return [first, *(f"{' ' * column}# {chunk}" for chunk in chunks[1:])]


class Style:
    """How to render: ``full`` writes unset keys commented out; ``helped`` puts each key's
    help beside it; ``notes`` adds a text to a key (by its dotted name under the table),
    and writes it commented out when the table does not set it; ``examples`` replaces the
    declared example value of such a commented-out key; ``spelled`` writes normalised
    values (seconds, bytes) the way a config would (``"1m"``, ``"256MiB"``)."""

    __slots__ = ("examples", "full", "helped", "notes", "spelled")

    def __init__(self, *, full: bool = False, helped: bool = True, spelled: bool = False,
                 notes: Mapping[str, str] | None = None,
                 examples: Mapping[str, Any] | None = None) -> None:
        self.full = full
        self.spelled = spelled
        self.helped = helped
        self.notes = notes or {}
        self.examples = examples or {}

    def note(self, dotted: str, decl: Declared) -> str:
        parts = (decl.help if self.helped else "", self.notes.get(dotted, ""))
        return "; ".join(part for part in parts if part)


def table_lines(cls: type, path: str, values: Mapping[str, Any], style: Style, *,
                head: str = "", extra: Mapping[str, Declared] | None = None,
                prefix: str = "") -> list[str]:
    """The lines of the table at ``path`` (no header line when ``path`` is empty): the
    ``extra`` keys first, then the declared settings of ``cls``; sub-tables follow, each
    after a blank line. ``prefix`` is the dotted name of this table under the profile."""
    lines = [*commented(f"[{path}]", head)] if path else []
    later: list[str] = []
    entries = [*((name, None, decl) for name, decl in (extra or {}).items()),
               *((item.name, item, decl) for item, decl in declared(cls))]
    for name, item, decl in entries:
        dotted, where = prefix + name, schema.join(path, name) if path else name
        given = values.get(name, MISSING)
        if decl.table is not None or isinstance(decl.check, Mapping):
            later.extend(_sub_table(name, item, decl, where, given, style, dotted))
        else:
            lines.extend(_key_lines(name, item, decl, given, style, dotted, where))
    return [*lines, *later]


def _sub_table(name: str, item: Field | None, decl: Declared, where: str, given: Any,
               style: Style, dotted: str) -> list[str]:
    default: Any = MISSING if item is None else default_of(item)
    if given is MISSING and not (style.full and default not in (MISSING, None)):
        return []
    head = style.note(dotted, decl)
    if decl.table is not None:
        body = table_lines(decl.table, where, {} if given is MISSING else given, style,
                           head=head, prefix=dotted + ".")
        return ["", *body]
    lines = ["", *commented(f"[{where}]", head)]
    if given is MISSING:
        shown = decl.show(default) if decl.show else default
        return [*lines, *(f"# {key} = {toml_value(value)}" for key, value in shown.items())]
    if style.spelled and decl.show:
        given = decl.show(given)
    return [*lines, *(f"{key} = {toml_value(value)}" for key, value in given.items())]


def _key_lines(name: str, item: Field | None, decl: Declared, given: Any, style: Style,
               dotted: str, where: str) -> list[str]:
    default = MISSING if item is None else default_of(item)
    note = style.note(dotted, decl)
    if given is not MISSING:
        differs = _default_note(decl, default, given, where) if style.full else ""
        if style.spelled and decl.show:
            given = decl.show(given)
        return commented(f"{name} = {toml_value(given)}", "; ".join(filter(None, (note, differs))))
    if not (style.full or dotted in style.notes):
        return []
    shown = style.examples.get(dotted, decl.example)
    if shown is None:
        shown = _shown(decl, default)
    if shown is None:
        return []
    return commented(f"# {name} = {toml_value(shown)}", note)


def _shown(decl: Declared, default: Any) -> Any:
    if default is MISSING or default is None:
        return None
    return decl.show(default) if decl.show else default


def _default_note(decl: Declared, default: Any, given: Any, where: str) -> str:
    """``default X`` when ``given`` (checked like the key) is not the declared default."""
    if default is MISSING or default is None or not callable(decl.check):
        return ""
    if decl.check(where, given) == default:
        return ""
    return f"default {toml_value(_shown(decl, default))}"


def key_names(cls: type, prefix: str = "") -> Iterator[str]:
    """The dotted name of every declared key under ``cls`` (sub-tables recursively)."""
    for item, decl in declared(cls):
        if decl.table is not None:
            yield from key_names(decl.table, f"{prefix}{item.name}.")
        else:
            yield prefix + item.name
