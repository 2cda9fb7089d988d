"""The ``[serve]`` table: who may use ``llmx serve`` and how much, declared once. Pure.

    [serve.clients.ci]              # one client; its name shows in the access log
    key_env = "LLMX_KEY_CI"         # the variable holding its key (comma-separated: several)
    rpm = 120                       # requests a minute (0 or unset: no limit)
    tpm = 200000                    # tokens a minute, prompt + answer (0 or unset: no limit)

A key never goes in the file, only the name of the variable that holds it (checked like
``api_key_env``). Budgets are token buckets holding one minute's worth, refilled
continuously: a client may burst up to its whole minute, then is held to the rate. With
``cache.backend = "redis"`` on the default profile, every proxy using that Redis draws from
one bucket per client (``llmx.serve.budgets``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from llmx.config import schema
from llmx.config.fields import setting, settings_table, table_spec
from llmx.config.schema import fail


@settings_table
class ClientSettings:
    """One client of the proxy: where its key is, and its per-minute budgets."""

    key_env: str = setting(
        check=schema.env_var_name(), example="LLMX_KEY_CI",
        help="the environment variable holding this client's key (several keys: "
             "comma-separated); never the key itself")
    rpm: int | None = setting(
        default=None, check=schema.integer(0), example=120,
        help="requests a minute (0 or unset: no limit); over it: 429 with retry-after")
    tpm: int | None = setting(
        default=None, check=schema.integer(0), example=200_000,
        help="tokens a minute sent to and received from the provider (0 or unset: no "
             "limit); over it: 429 with retry-after")


class ServeSettings:
    """The checked ``[serve]`` table: ``clients`` by name (empty without the table)."""

    __slots__ = ("clients",)

    def __init__(self, clients: Mapping[str, ClientSettings] | None = None) -> None:
        self.clients: Mapping[str, ClientSettings] = MappingProxyType(dict(clients or {}))

    def __repr__(self) -> str:
        return f"ServeSettings(clients={sorted(self.clients)!r})"


SERVE_KEYS = ("clients",)


def serve_of(config: Any) -> ServeSettings:
    """The ``[serve]`` table of a loaded ``Config`` (no clients when it has none)."""
    found = getattr(config, "serve", None)
    return found if isinstance(found, ServeSettings) else ServeSettings()


def serve_settings(raw: object) -> ServeSettings:
    """Check a parsed ``[serve]`` table (``ConfigError`` naming the key path)."""
    if not isinstance(raw, Mapping):
        fail("serve", f"expected a table, got {schema.type_name(raw)}")
    for key in raw:
        if key not in SERVE_KEYS:
            schema.unknown_key("serve", key, SERVE_KEYS)
    clients = raw.get("clients", {})
    if not isinstance(clients, Mapping):
        fail("serve.clients", f"expected a table of clients, got {schema.type_name(clients)}")
    return ServeSettings({name: _client(name, value) for name, value in clients.items()})


def _client(name: str, raw: Any) -> ClientSettings:
    path = schema.join("serve.clients", name)
    if not name.strip():
        fail(path, "a client name must not be empty")
    values = schema.validate_table(path, raw, table_spec(ClientSettings))
    if not values.get("key_env"):
        fail(schema.join(path, "key_env"), "missing: the variable that holds this client's key")
    for limit in ("rpm", "tpm"):
        if limit in values:
            values[limit] = values[limit] or None
    return ClientSettings(**values)
