"""Profiles: checked TOML tables in, frozen settings tables out. Pure — no IO.

A profile never holds an API key, only where to find one (``api_key_env`` or
``api_key_cmd``; see ``llmx.config.secrets``), so no repr can leak a key.

Resolution of ``[profiles.NAME]``:

1. every table is checked key by key (unknown keys name their full path);
2. ``extends = "other"`` starts from the other profile, already resolved, and
   overrides it; sub-tables (``http``, ``cache``, ``cache.ttl``...) merge key by
   key. Setting ``api_key_env`` or ``api_key_cmd`` replaces both inherited ones;
3. per-provider defaults fill the gaps: ``base_url`` (the provider's public
   endpoint) and ``api_key_env`` (``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY``) —
   the latter only while ``base_url`` is that public endpoint, so a key is
   never sent to a third-party or local server unless the profile says so.
   ``api_key_env = ""`` means "no key".

The built-in profile ``sim`` (the embedded simulator) always exists. A
``[profiles.sim]`` table in a config is layered over it, as if it extended it.
"""

# No ``from __future__ import annotations`` here: a named tuple's string annotations are
# compiled when its class is made (the first compile of a process costs ~3 ms).

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from llmx.choices import EMBEDDED, Provider
from llmx.config import fields, schema
from llmx.config.fields import declared, defaults
from llmx.config.schema import fail
from llmx.config.settings import (
    BatchSettings,
    CacheSettings,
    CompressionSettings,
    HttpSettings,
    Price,
    Profile,
)
from llmx.errors import ConfigError
from llmx.values import replaced

__all__ = [
    "BUILTIN_PROFILE", "BatchSettings", "CacheSettings", "CompressionSettings", "Config",
    "HttpSettings", "Price", "Profile", "builtin_config", "first_use_note", "load_config",
    "resolve_profile", "temperature_rule", "with_overrides",
]

BUILTIN_PROFILE = "sim"
OVERRIDABLE = ("model", "temperature", "max_tokens", "timeout", "retries")
DEFAULT_BASE_URLS: Mapping[Provider, str] = MappingProxyType({
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://localhost:11434",
})
DEFAULT_KEY_ENVS: Mapping[Provider, str] = MappingProxyType({
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "azure": "AZURE_OPENAI_API_KEY",  # only for a base_url on an Azure host (AZURE_HOSTS)
})
AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
"""Host suffixes of Azure OpenAI resources: an ``azure`` profile sends its default key
(``AZURE_OPENAI_API_KEY``) only to these."""
MAX_TEMPERATURE: Mapping[str, float] = MappingProxyType({
    "openai": 2.0,  # the Chat Completions range
    "anthropic": 1.0,  # the Messages API range
    "ollama": 2.0,  # no documented limit; the common range
    "azure": 2.0,  # Azure OpenAI serves the OpenAI API
})
_OPENAI_KEYS = ("api", "token_param", "send_temperature")  # openai and azure only
_AZURE_KEYS = ("deployment", "api_version")  # azure only
_RESOLVED_HERE = ("provider", "model", "base_url", "api_key_env", "api_key_cmd")


class Config(NamedTuple):
    """A checked config: every profile resolved; ``source`` is the file it came from.

    Immutable (a named tuple: as cheap to define as a plain class, which the start-up of
    every command notices, unlike a frozen dataclass)."""

    default_profile: str | None
    profiles: Mapping[str, Profile]
    source: Path | None = None
    serve: object = None  # the checked [serve] table: ``llmx.config.serve.serve_of(config)``
    templates: Mapping[str, Any] = MappingProxyType({})  # name -> llmx.templates.Template

    @property
    def names(self) -> list[str]:
        return sorted(self.profiles)


def builtin_tables() -> dict[str, dict[str, Any]]:
    return {
        BUILTIN_PROFILE: {
            "provider": "openai",
            "model": "sim-1",
            "base_url": EMBEDDED,
            "description": "embedded simulator on a free loopback port (no network, no key)",
        }
    }


def builtin_config() -> Config:
    """The configuration when there is no config file: built-in profiles only."""
    return load_config({}, None)


def load_config(data: Mapping[str, Any], source: Path | None = None) -> Config:
    """Check ``data`` (a parsed TOML document) and resolve every profile.

    Raises ``ConfigError`` naming the key path (prefixed by ``source`` when given).
    """
    try:
        return _load(data, source)
    except ConfigError as exc:
        if source is None:
            raise
        raise ConfigError(f"{source}: {exc.message}", hint=exc.hint) from None


def _load(data: Mapping[str, Any], source: Path | None) -> Config:
    for key in data:
        if key not in fields.TOP_LEVEL_KEYS:
            schema.unknown_key("", key, fields.TOP_LEVEL_KEYS)
    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, Mapping):
        fail("profiles", f"expected a table of profiles, got {schema.type_name(raw_profiles)}")
    spec = fields.profile_spec()
    tables = {name: _check_table(name, raw, spec) for name, raw in sorted(raw_profiles.items())}
    builtins = builtin_tables()
    profiles = {
        name: _build(name, _resolve(name, tables, builtins, ()), builtin=name not in tables)
        for name in sorted(tables.keys() | builtins.keys())
    }
    if any(profile.fallback for profile in profiles.values()):
        from llmx.config.fallbacks import check_chains

        check_chains(profiles, _unknown_profile_text)
    default = data.get("default_profile")
    if default is not None:
        schema.text()("default_profile", default)
        if default not in profiles:
            fail("default_profile", _unknown_profile_text(default, profiles))
    templates: Mapping[str, Any] = MappingProxyType({})
    raw_templates = data.get("templates")
    if raw_templates is not None:
        from llmx.templates import load_templates

        templates = load_templates(raw_templates, profiles)
    return Config(default, MappingProxyType(profiles), source, _serve(data), templates)


def _serve(data: Mapping[str, Any]) -> object:
    if "serve" not in data:
        return None  # no import: most commands never look at it
    from llmx.config.serve import serve_settings

    return serve_settings(data["serve"])


def profile_path(name: str) -> str:
    return schema.join("profiles", name)


def _check_table(name: str, raw: object, spec: schema.Spec) -> dict[str, Any]:
    path = profile_path(name)
    if not name.strip():
        fail(path, "a profile name must not be empty")
    table = schema.validate_table(path, raw, spec)
    if "api_key_env" in table and "api_key_cmd" in table:
        fail(path, "set only one of `api_key_env` and `api_key_cmd`")
    return table


def _resolve(
    name: str,
    tables: Mapping[str, dict[str, Any]],
    builtins: Mapping[str, dict[str, Any]],
    chain: tuple[str, ...],
) -> dict[str, Any]:
    """The merged table of ``name``: its parents' values overridden by its own."""
    own = tables.get(name)
    if own is None:
        return dict(builtins[name])
    parent_name = own.get("extends")
    if parent_name is None or (parent_name == name and name in builtins):
        return _merge(builtins.get(name, {}), own)
    seen = (*chain, name)
    if parent_name in seen:
        loop = " -> ".join((*seen[seen.index(parent_name):], parent_name))
        fail(schema.join(profile_path(name), "extends"), f"cycle: {loop}")
    if parent_name not in tables and parent_name not in builtins:
        known = tables.keys() | builtins.keys()
        fail(schema.join(profile_path(name), "extends"), _unknown_profile_text(parent_name, known))
    return _merge(_resolve(parent_name, tables, builtins, seen), own)


def _merge(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in parent.items() if key != "extends"}
    if "api_key_env" in child or "api_key_cmd" in child:
        out.pop("api_key_env", None)
        out.pop("api_key_cmd", None)
    for key, value in child.items():
        if key == "extends":
            continue
        inherited = out.get(key)
        if isinstance(value, Mapping) and isinstance(inherited, Mapping):
            out[key] = _merge(inherited, value)
        else:
            out[key] = value
    return out


def _build(name: str, table: Mapping[str, Any], *, builtin: bool) -> Profile:
    path = profile_path(name)
    for required in ("provider", "model"):
        if required not in table:
            fail(path, f"missing `{required}` (set it here or in the profile it extends)")
    provider = table["provider"]
    if provider not in DEFAULT_BASE_URLS and "base_url" not in table:
        fail(path, f"provider {provider} has no public endpoint: set `base_url` "
                   "(e.g. \"https://RESOURCE.openai.azure.com\")")
    base_url = table.get("base_url") or DEFAULT_BASE_URLS[provider]
    key_env, key_cmd = _key_source(provider, base_url, table)
    profile = Profile(
        name=name, provider=provider, model=table["model"], base_url=base_url,
        api_key_env=key_env, api_key_cmd=key_cmd, builtin=builtin, **_given_settings(table))
    _check_combination(path, profile)
    return profile


def _given_settings(table: Mapping[str, Any]) -> dict[str, Any]:
    """The settings ``table`` writes, as ``Profile`` arguments (sub-tables built); the
    others keep their declared defaults."""
    out: dict[str, Any] = {}
    for item, decl in declared(Profile):
        if item.name in table and item.name not in _RESOLVED_HERE:
            value = table[item.name]
            if item.name in _TABLE_BUILDERS:
                value = _TABLE_BUILDERS[item.name](value)
            elif decl.table is not None:
                value = decl.table(**value)
            out[item.name] = value
    return out


def _key_source(
    provider: Provider, base_url: str, table: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    if "api_key_cmd" in table:
        return None, table["api_key_cmd"]
    if "api_key_env" in table:
        return table["api_key_env"] or None, None
    if base_url == DEFAULT_BASE_URLS.get(provider) or (
            provider == "azure" and _azure_host(base_url)):
        return DEFAULT_KEY_ENVS.get(provider), None
    return None, None


def _azure_host(base_url: str) -> bool:
    host = base_url.partition("://")[2].partition("/")[0].rpartition("@")[2].partition(":")[0]
    return host.lower().endswith(AZURE_HOSTS)


def _http(table: Mapping[str, Any]) -> HttpSettings:
    values = dict(table)
    if "max_keepalive" not in values:
        values["max_keepalive"] = values.get("max_connections",
                                             defaults(HttpSettings)["max_connections"])
    return HttpSettings(**values)


def _cache(table: Mapping[str, Any]) -> CacheSettings:
    values = dict(table)
    values["ttl"] = MappingProxyType({**defaults(CacheSettings)["ttl"], **values.get("ttl", {})})
    return CacheSettings(**values)


def _batch(table: Mapping[str, Any]) -> BatchSettings:
    values = dict(table)
    for limit in ("rpm", "tpm"):
        if limit in values:
            values[limit] = values[limit] or None
    return BatchSettings(**values)


_TABLE_BUILDERS: Mapping[str, Any] = MappingProxyType({
    "http": _http, "cache": _cache, "batch": _batch})


def _check_combination(path: str, profile: Profile) -> None:
    """Rules that involve more than one key (checked after merging)."""
    if profile.temperature is not None:
        temperature_rule(profile.provider)(schema.join(path, "temperature"), profile.temperature)
    if profile.http.max_keepalive > profile.http.max_connections:
        fail(schema.join(schema.join(path, "http"), "max_keepalive"),
             f"must be at most http.max_connections ({profile.http.max_connections})")
    if profile.http.min_connections > profile.http.max_connections:
        fail(schema.join(schema.join(path, "http"), "min_connections"),
             f"must be at most http.max_connections ({profile.http.max_connections})")
    if profile.cache.embedder == "provider" and profile.provider in ("anthropic", "azure"):
        fail(schema.join(schema.join(path, "cache"), "embedder"),
             f"provider {profile.provider} has no embeddings API in llmx; use \"lexical\"")
    _check_api_keys(path, profile)


def _check_api_keys(path: str, profile: Profile) -> None:
    """The OpenAI- and Azure-only keys, on the providers they belong to."""
    provider = profile.provider
    checks: list[tuple[str, tuple[str, ...]]] = [(key, ("openai", "azure"))
                                                 for key in _OPENAI_KEYS]
    checks += [(key, ("azure",)) for key in _AZURE_KEYS]
    declared_defaults = defaults(Profile)
    for key, providers in checks:
        if provider not in providers and getattr(profile, key) != declared_defaults[key]:
            fail(schema.join(path, key),
                 f"only for provider {' or '.join(providers)} (this profile's is {provider})")
    if provider == "azure" and profile.api_version is not None and profile.deployment is None:
        fail(schema.join(path, "deployment"),
             "missing: with `api_version` an azure profile needs `deployment` "
             "(the URL is /openai/deployments/DEPLOYMENT/...)")


def temperature_rule(provider: str) -> schema.Checker:
    """The temperature check for ``provider``: the key's own rule (a finite number in
    0..2), then the provider's range (``MAX_TEMPERATURE``). The config file and the
    ``--temperature`` flag both use it."""
    top = MAX_TEMPERATURE[provider]

    def check(path: str, value: Any) -> float:
        result = float(fields.rule("temperature")(path, value))
        if result > top:
            fail(path, f"must be between 0 and {top:g} for provider {provider}"
                 f"{schema.shown(path, value)}")
        return result

    return check


def _unknown_profile_text(name: str, known: Any) -> str:
    names = sorted(known)
    text = f"unknown profile '{name}'; available: {', '.join(names)}"
    guess = schema.closest(name, names)
    return f"{text}; did you mean '{guess}'?" if guess else text


def resolve_profile(config: Config, name: str | None = None) -> Profile:
    """The profile ``name``; ``None`` means the config's default, else ``sim``."""
    chosen = name or config.default_profile or BUILTIN_PROFILE
    profile = config.profiles.get(chosen)
    if profile is None:
        raise ConfigError(_unknown_profile_text(chosen, config.profiles),
                          hint="list them with `llmx profiles`")
    return profile


FIRST_USE_NOTE = ("note: no config file, so this answer comes from the built-in simulator "
                  "(profile sim); `llmx config init` sets up a real provider")


def first_use_note(config: Config, name: str | None) -> str | None:
    """The one line to show when ``resolve_profile(config, name)`` falls back to the
    built-in simulator because there is no config at all (not when ``-p sim`` asks for it,
    nor when a config names it as its default)."""
    if name is None and config.source is None and config.default_profile is None:
        return FIRST_USE_NOTE
    return None


def with_overrides(profile: Profile, **values: Any) -> Profile:
    """``profile`` with command-line values applied (``None`` values are ignored).

    Each value is checked like its TOML key; errors name the flag (``--max-tokens``).
    """
    spec = fields.profile_spec()
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        rule = spec[key] if key in OVERRIDABLE else None
        if rule is None or isinstance(rule, Mapping):
            raise ValueError(f"not an overridable profile field: {key}")
        changes[key] = rule("--" + key.replace("_", "-"), value)
    if not changes:
        return profile
    updated = replaced(profile, **changes)
    _check_combination(profile_path(profile.name), updated)
    return updated

