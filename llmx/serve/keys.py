"""The proxy's client keys, read once at start-up: from ``--api-key-env VAR`` (a client
named after the variable, without budgets) and from ``[serve.clients.NAME]`` tables (each
its own ``key_env``). A named variable that is unset or empty, or one key given to two
clients, refuses the start (``UsageError``): a typo must not open the proxy to everyone, and
a key must say whose budget it spends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from llmx.errors import UsageError

if TYPE_CHECKING:
    from llmx.config.serve import ServeSettings


def _split(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


def client_keys(env: Mapping[str, str] | None, names: Sequence[str], serve: ServeSettings
                ) -> dict[str, str]:
    """Each client key, with the name of the client it belongs to."""
    env = env or {}
    found: list[tuple[str, str, str]] = []  # (key, client, where it came from)
    for name in names:
        keys = _split(env.get(name, ""))
        if not keys:
            raise UsageError(f"--api-key-env {name}: the variable is unset or empty")
        found += [(key, name, f"--api-key-env {name}") for key in keys]
    for client, settings in sorted(serve.clients.items()):
        where = f"serve.clients.{client}.key_env = {settings.key_env!r}"
        keys = _split(env.get(settings.key_env, ""))
        if not keys:
            raise UsageError(f"{where}: the variable is unset or empty")
        found += [(key, client, where) for key in keys]
    owners: dict[str, str] = {}
    places: dict[str, str] = {}
    for key, client, where in found:
        if key in owners and owners[key] != client:
            raise UsageError(f"{where}: a key of client {owners[key]!r} ({places[key]}) too; "
                             "give each client its own key")
        owners[key], places[key] = client, where
    return owners
