from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmx.config import (
    BUILTIN_PROFILE,
    EMBEDDED,
    Config,
    Profile,
    builtin_config,
    load_config,
    resolve_profile,
    with_overrides,
)
from llmx.errors import ConfigError


def _profiles(**tables: dict[str, Any]) -> dict[str, Any]:
    return {"profiles": tables}


def _error(data: dict[str, Any], source: Path | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(data, source)
    message = caught.value.message
    assert "\n" not in message
    return message


OPENAI = {"provider": "openai", "model": "gpt-4o-mini"}


# --- built-ins and selection -------------------------------------------------------------


def test_sim_exists_without_any_config() -> None:
    config = builtin_config()
    sim = resolve_profile(config, None)
    assert sim.name == BUILTIN_PROFILE == "sim"
    assert (sim.provider, sim.model, sim.base_url) == ("openai", "sim-1", EMBEDDED)
    assert sim.embedded and not sim.needs_key and sim.builtin


def test_sim_survives_a_config_that_does_not_mention_it() -> None:
    config = load_config(_profiles(a=OPENAI), None)
    assert config.names == ["a", "sim"]
    assert resolve_profile(config, "sim").base_url == EMBEDDED


def test_default_profile_is_used_when_no_name_given() -> None:
    config = load_config({"default_profile": "a", **_profiles(a=OPENAI)})
    assert resolve_profile(config).name == "a"
    assert resolve_profile(config, "sim").name == "sim"


def test_default_profile_must_exist() -> None:
    message = _error({"default_profile": "prdo", **_profiles(prod=OPENAI)})
    assert message.startswith("default_profile: unknown profile 'prdo'")
    assert "did you mean 'prod'" in message


def test_unknown_profile_lists_the_available_ones_sorted() -> None:
    config = load_config(_profiles(zeta=OPENAI, alpha=OPENAI))
    with pytest.raises(ConfigError) as caught:
        resolve_profile(config, "nope")
    assert caught.value.message.startswith("unknown profile 'nope'; available: alpha, sim, zeta")


def test_user_sim_table_is_layered_over_the_builtin() -> None:
    config = load_config(_profiles(sim={"cache": {"mode": "off"}}))
    sim = resolve_profile(config, "sim")
    assert sim.cache.mode == "off"
    assert sim.base_url == EMBEDDED and sim.model == "sim-1"
    assert not sim.builtin


def test_user_sim_may_replace_everything() -> None:
    sim = resolve_profile(load_config(_profiles(sim={**OPENAI, "extends": "sim"})), "sim")
    assert sim.model == "gpt-4o-mini" and sim.base_url == EMBEDDED


# --- extends -------------------------------------------------------------------------------


def test_extends_inherits_and_merges_sub_tables_key_by_key() -> None:
    base = {**OPENAI, "temperature": 0.3, "http": {"max_connections": 5, "http2": True},
            "cache": {"ttl": {"code": "7d"}, "max_entries": 10}}
    child = {"extends": "base", "model": "gpt-4o", "http": {"max_connections": 20},
             "cache": {"ttl": {"chat": 60}}}
    profile = resolve_profile(load_config(_profiles(base=base, child=child)), "child")
    assert profile.model == "gpt-4o"
    assert profile.temperature == 0.3
    assert profile.http.max_connections == 20 and profile.http.http2 is True
    assert profile.cache.max_entries == 10
    assert dict(profile.cache.ttl) == {"default": 86400.0, "code": 604800.0, "chat": 60.0}


def test_extends_chains_through_several_levels_and_builtins() -> None:
    tables = _profiles(a={"extends": "sim", "retries": 5}, b={"extends": "a", "timeout": 9})
    b = resolve_profile(load_config(tables), "b")
    assert (b.model, b.retries, b.timeout, b.base_url) == ("sim-1", 5, 9.0, EMBEDDED)


def test_extends_does_not_change_the_parent() -> None:
    config = load_config(_profiles(base=OPENAI, child={"extends": "base", "retries": 7}))
    assert resolve_profile(config, "base").retries == 2


@pytest.mark.parametrize(
    ("tables", "loop"),
    [
        ({"a": {"extends": "a", **OPENAI}}, "a -> a"),
        ({"a": {"extends": "b"}, "b": {"extends": "a"}}, "a -> b -> a"),
        ({"a": {"extends": "b"}, "b": {"extends": "c"}, "c": {"extends": "b"}}, "b -> c -> b"),
    ],
)
def test_extends_cycles_are_named(tables: dict[str, Any], loop: str) -> None:
    message = _error(_profiles(**tables))
    assert "extends: cycle" in message and loop in message


def test_extends_unknown_parent_is_named() -> None:
    message = _error(_profiles(a={"extends": "bsae"}, base=OPENAI))
    assert message.startswith("profiles.a.extends: unknown profile 'bsae'")
    assert "did you mean 'base'" in message


def test_missing_required_keys_after_merge() -> None:
    assert "missing `model`" in _error(_profiles(a={"provider": "openai"}))
    assert "missing `provider`" in _error(_profiles(a={"model": "m"}))


# --- unknown keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path", "guess"),
    [
        ({"default_profil": "sim"}, "default_profil", "default_profile"),
        (_profiles(prod={**OPENAI, "temprature": 1}), "profiles.prod.temprature", "temperature"),
        (_profiles(prod={**OPENAI, "http": {"max_conections": 3}}),
         "profiles.prod.http.max_conections", "max_connections"),
        (_profiles(prod={**OPENAI, "cache": {"ttl": {"cod": 3}}}), "profiles.prod.cache.ttl.cod",
         "code"),
        (_profiles(prod={**OPENAI, "batch": {"concurency": 3}}), "profiles.prod.batch.concurency",
         "concurrency"),
    ],
)
def test_unknown_key_names_full_path_and_suggests(data: dict[str, Any], path: str, guess: str
                                                   ) -> None:
    message = _error(data)
    assert message.startswith(f"{path}: unknown key")
    assert f"did you mean `{guess}`?" in message


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    message = _error(_profiles(p={**OPENAI, "compression": {"zzzzzz": 1}}))
    assert "profiles.p.compression.zzzzzz" in message and "valid keys: mode" in message


def test_a_key_written_into_the_config_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_profiles(p={**OPENAI, "api_key": "sk-SENTINEL-123456789012345"}))
    assert "SENTINEL" not in caught.value.message
    assert "api_key_env" in (caught.value.hint or "")


def test_errors_are_prefixed_with_the_source_file() -> None:
    message = _error({"bogus": 1}, Path("/etc/llmx.toml"))
    assert message.startswith("/etc/llmx.toml: bogus: unknown key")


def test_profile_names_needing_quotes_are_quoted_in_paths() -> None:
    message = _error(_profiles(**{"my.prof": {**OPENAI, "nope": 1}}))
    assert message.startswith('profiles."my.prof".nope')


# --- types and ranges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "path", "expected", "got"),
    [
        ({"timeout": True}, "profiles.p.timeout", "seconds", "boolean"),
        ({"retries": 1.5}, "profiles.p.retries", "integer", "float"),
        ({"temperature": "hot"}, "profiles.p.temperature", "number", "string"),
        ({"http": {"http2": "yes"}}, "profiles.p.http.http2", "true or false", "string"),
        ({"http": 5}, "profiles.p.http", "table", "integer"),
        ({"cache": {"max_bytes": [1]}}, "profiles.p.cache.max_bytes", "bytes", "array"),
        ({"model": 4}, "profiles.p.model", "string", "integer"),
    ],
)
def test_type_errors_name_path_expected_and_actual_type(
    extra: dict[str, Any], path: str, expected: str, got: str
) -> None:
    message = _error(_profiles(p={**OPENAI, **extra}))
    assert message.startswith(f"{path}: expected")
    assert expected in message and f"got {got}" in message


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"timeout": -1}, "profiles.p.timeout"),
        ({"timeout": 0}, "profiles.p.timeout"),
        ({"temperature": 2.5}, "profiles.p.temperature"),
        ({"retries": -1}, "profiles.p.retries"),
        ({"max_tokens": 0}, "profiles.p.max_tokens"),
        ({"cache": {"threshold": 1.5}}, "profiles.p.cache.threshold"),
        ({"http": {"max_connections": 0}}, "profiles.p.http.max_connections"),
        ({"http": {"max_connections": 2, "max_keepalive": 5}}, "profiles.p.http.max_keepalive"),
        ({"timeout": "soon"}, "profiles.p.timeout"),
        ({"timeout": "-5m"}, "profiles.p.timeout"),
        ({"cache": {"max_bytes": "lots"}}, "profiles.p.cache.max_bytes"),
    ],
)
def test_out_of_range_values_name_the_path(extra: dict[str, Any], path: str) -> None:
    assert _error(_profiles(p={**OPENAI, **extra})).startswith(f"{path}: ")


def test_anthropic_temperature_is_limited_to_one() -> None:
    message = _error(_profiles(p={"provider": "anthropic", "model": "c", "temperature": 1.5}))
    assert message.startswith("profiles.p.temperature: must be between 0 and 1")


@pytest.mark.parametrize(("key", "bad", "guess"), [
    ("provider", "opnai", "openai"),
    ("cache", {"mode": "readwrite"}, "read-write"),
    ("compression", {"mode": "agressive"}, "aggressive"),
])
def test_unknown_choices_are_listed_with_a_suggestion(key: str, bad: Any, guess: str) -> None:
    message = _error(_profiles(p={**OPENAI, key: bad}))
    assert "expected one of" in message and f"did you mean '{guess}'" in message


def test_values_of_secret_looking_keys_are_never_echoed() -> None:
    sentinel = "sk-SENTINEL-abcdefghijklmnop"
    for table in ({"api_key_env": sentinel}, {"api_key_cmd": 12}, {"max_tokens": -7}):
        with pytest.raises(ConfigError) as caught:
            load_config(_profiles(p={**OPENAI, **table}))
        assert "SENTINEL" not in caught.value.message
        assert "-7" not in caught.value.message


def test_both_key_sources_in_one_table_is_an_error() -> None:
    message = _error(_profiles(p={**OPENAI, "api_key_env": "A", "api_key_cmd": "x"}))
    assert "only one of" in message


# --- defaults and normalisation -------------------------------------------------------------


@pytest.mark.parametrize(("provider", "url", "env"), [
    ("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    ("anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    ("ollama", "http://localhost:11434", None),
])
def test_provider_defaults(provider: str, url: str, env: str | None) -> None:
    profile = resolve_profile(load_config(_profiles(p={"provider": provider, "model": "m"})), "p")
    assert (profile.base_url, profile.api_key_env) == (url, env)


def test_no_default_key_is_sent_to_another_server() -> None:
    table = {**OPENAI, "base_url": "http://127.0.0.1:8080/v1/"}
    profile = resolve_profile(load_config(_profiles(p=table)), "p")
    assert profile.base_url == "http://127.0.0.1:8080/v1"
    assert profile.api_key_env is None and not profile.needs_key


def test_empty_api_key_env_means_no_key() -> None:
    profile = resolve_profile(load_config(_profiles(p={**OPENAI, "api_key_env": ""})), "p")
    assert profile.api_key_env is None and profile.api_key_cmd is None


def test_child_key_command_replaces_inherited_variable() -> None:
    tables = _profiles(base={**OPENAI, "api_key_env": "BASE_KEY"},
                       child={"extends": "base", "api_key_cmd": ["pass", "show", "x y"]})
    child = resolve_profile(load_config(tables), "child")
    assert child.api_key_env is None
    assert child.api_key_cmd == "pass show 'x y'"


def test_durations_sizes_and_zero_limits_are_normalised() -> None:
    table = {**OPENAI, "timeout": "2m", "http": {"connect_timeout": "250ms"},
             "cache": {"max_bytes": "64MiB", "ttl": {"default": "1h", "json": 30}},
             "batch": {"rpm": 0, "tpm": 1000}, "price": {"input": 1, "output": 2.5}}
    profile = resolve_profile(load_config(_profiles(p=table)), "p")
    assert profile.timeout == 120.0
    assert profile.http.connect_timeout == 0.25
    assert profile.cache.max_bytes == 64 * 1024 * 1024
    assert profile.cache.ttl_for("json") == 30.0 and profile.cache.ttl_for("code") == 3600.0
    assert (profile.batch.rpm, profile.batch.tpm) == (None, 1000)
    assert profile.price is not None and profile.price.output == 2.5


def test_bad_url_is_rejected_without_echoing_it() -> None:
    message = _error(_profiles(p={**OPENAI, "base_url": "ftp://user:SENTINEL@host"}))
    assert message.startswith("profiles.p.base_url: expected an http")
    assert "SENTINEL" not in message


def test_config_is_immutable() -> None:
    config = load_config(_profiles(p=OPENAI))
    with pytest.raises(TypeError):
        config.profiles["x"] = config.profiles["p"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        config.profiles["p"].model = "other"  # type: ignore[misc]


# --- overrides from the command line -------------------------------------------------------


def test_overrides_are_checked_and_name_the_flag() -> None:
    sim = resolve_profile(builtin_config())
    changed = with_overrides(sim, model="m2", temperature=0.5, max_tokens=None)
    assert (changed.model, changed.temperature, changed.max_tokens) == ("m2", 0.5, None)
    assert with_overrides(sim) is sim
    with pytest.raises(ConfigError, match=r"^--temperature: must be between 0 and 2"):
        with_overrides(sim, temperature=3)
    with pytest.raises(ValueError):
        with_overrides(sim, base_url="http://x")


def test_profile_repr_never_holds_a_key() -> None:
    config: Config = load_config(_profiles(p={**OPENAI, "api_key_cmd": "echo sk-SENTINEL"}))
    profile: Profile = resolve_profile(config, "p")
    assert "SENTINEL" not in repr(profile) and "SENTINEL" not in repr(config)
