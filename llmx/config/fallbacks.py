"""The ``fallback`` profile key: its checker, the chain of profiles it names, and the
check of every chain when a config loads. Pure — no IO.

``fallback = ["backup", "local"]`` in ``[profiles.main]`` says: when a call of ``main``
cannot be answered at all (``llmx.fallback`` says when), try ``backup``, then ``local``. A
named profile's own fallbacks follow it, depth first, each profile once: with
``backup.fallback = ["cheap"]`` the chain of ``main`` is main, backup, cheap, local.

What a caller may rely on:

* the key's value is checked by ``schema.profile_names`` (an array of non-empty strings,
  none twice, held as a tuple); this module is imported only by a config that uses it;
* a loaded ``Config`` has passed ``check_chains``: every name in every ``fallback`` is a
  profile of that config (else one ``ConfigError`` naming the key and the closest name),
  and no profile reaches itself through fallbacks (``profiles.b.fallback: cycle: a -> b
  -> a``); so ``chain`` never loops and never meets an unknown name;
* like every key, ``fallback`` is inherited through ``extends`` (``fallback = []`` in the
  child clears it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from llmx.config import schema
from llmx.config.schema import fail

if TYPE_CHECKING:
    from llmx.config.settings import Profile

__all__ = ["chain", "check_chains"]


def chain(profiles: Mapping[str, Profile], name: str) -> tuple[str, ...]:
    """``name``, then the profiles its fallbacks name, depth first, each once."""
    order: list[str] = []

    def visit(current: str) -> None:
        if current in order:
            return
        order.append(current)
        for target in profiles[current].fallback:
            visit(target)

    visit(name)
    return tuple(order)


def check_chains(profiles: Mapping[str, Profile],
                 unknown: Callable[[str, Any], str]) -> None:
    """Every ``fallback`` names known profiles and no profile reaches itself; else a
    ``ConfigError`` at ``profiles.NAME.fallback`` (``unknown(name, known)`` words an
    unknown name)."""
    done: set[str] = set()
    for name in sorted(profiles):
        _walk(name, profiles, (), done, unknown)


def _walk(name: str, profiles: Mapping[str, Profile], above: tuple[str, ...],
          done: set[str], unknown: Callable[[str, Any], str]) -> None:
    if name in done:
        return
    path = schema.join(schema.join("profiles", name), "fallback")
    seen = (*above, name)
    for target in profiles[name].fallback:
        if target not in profiles:
            fail(path, unknown(target, profiles))
        if target in seen:
            loop = " -> ".join((*seen[seen.index(target):], target))
            fail(path, f"cycle: {loop}",
                 hint="no chain of fallbacks may lead back to a profile in it (`fallback` is "
                      "inherited through `extends`; `fallback = []` clears it)")
        _walk(target, profiles, seen, done, unknown)
    done.add(name)
