"""Every key a profile may hold, with its checker: read from the declarations in
``settings.py``, so the key list, the dataclasses and the defaults cannot drift apart.

Keys match the field names of the settings dataclasses one to one, so a checked
sub-table can be passed straight to its dataclass.
"""

from __future__ import annotations

from functools import cache

from llmx.choices import COMPRESSION_MODES, EMBEDDED, EMBEDDERS, PROVIDERS, TTL_KINDS
from llmx.config import schema
from llmx.config.declare import Declared, declared
from llmx.config.schema import Checker, Spec
from llmx.config.settings import EXTENDS, MAX_CONTEXT_WINDOW, MIN_CONTEXT_WINDOW, Profile

__all__ = [
    "COMPRESSION_MODES", "EMBEDDED", "EMBEDDERS", "MAX_CONTEXT_WINDOW", "MIN_CONTEXT_WINDOW",
    "PROVIDERS", "TOP_LEVEL_KEYS", "TTL_KINDS", "profile_spec", "rule", "table_spec",
]

TOP_LEVEL_KEYS = ("default_profile", "profiles")


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
