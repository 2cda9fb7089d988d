"""One declaration per setting: the key list, defaults, help, `config show` and the example
config are all read from llmx/config/settings.py, and the choice sets from llmx/choices.py."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

import pytest

from llmx import choices
from llmx.config import builtin_config, load_config, resolve_profile, schema
from llmx.config.example import render_example
from llmx.config.fields import (
    MISSING,
    declared,
    default_of,
    defaults,
    profile_spec,
    rule,
    table_spec,
)
from llmx.config.profile import DEFAULT_BASE_URLS, MAX_TEMPERATURE
from llmx.config.render import key_names
from llmx.config.settings import CacheSettings, HttpSettings, Profile
from llmx.config.show import profile_text, profile_to_dict
from llmx.errors import ConfigError
from llmx.values import names

EXAMPLE = Path(__file__).resolve().parents[2] / "llmx.toml.example"
SETTINGS = [(cls, item, decl) for cls in (Profile, *(d.table for _, d in declared(Profile)
                                                     if d.table is not None))
            for item, decl in declared(cls)]
SCALARS = [(cls, item, decl) for cls, item, decl in SETTINGS if decl.table is None]


def _id(setting: tuple[type, Any, Any]) -> str:
    return f"{setting[0].__name__}.{setting[1].name}"


def test_the_committed_example_is_what_the_declarations_render() -> None:
    committed = EXAMPLE.read_text(encoding="utf-8")
    assert committed == render_example(), (
        "llmx.toml.example is stale: run `python -m llmx.config.example llmx.toml.example`")


def test_the_rendered_example_parses_and_every_profile_validates() -> None:
    config = load_config(tomllib.loads(render_example()), EXAMPLE)
    assert config.default_profile == "development"
    assert {"development", "production", "high-load", "llamacpp", "claude", "ollama",
            "sim-nocache", "sim"} <= set(config.names)
    for name in config.names:
        resolve_profile(config, name)


def test_the_example_lists_every_setting_set_or_commented_out() -> None:
    text = render_example()
    _head, _, rest = text.partition("[profiles.development]")
    first = rest.partition("\n# Production")[0]
    for dotted in key_names(Profile):
        if f"[profiles.development.{dotted}]" in first:  # a table of free keys (cache.ttl)
            continue
        *tables, key = dotted.split(".")
        if tables:
            section = first.partition(f"[profiles.development.{'.'.join(tables)}]")[2]
            section = section.partition("\n[")[0]
        else:
            section = first.partition("\n[")[0]
        assert f"\n{key} = " in section or f"\n# {key} = " in section, dotted
    assert "\n# extends = " in first


def test_every_key_the_checker_accepts_is_a_declared_field() -> None:
    spec = profile_spec()
    assert set(spec) == {"extends"} | {item.name for item, _ in declared(Profile)}
    assert set(names(Profile)) - set(spec) == {"name", "builtin"}
    http, ttl = spec["http"], table_spec(CacheSettings)["ttl"]
    assert isinstance(http, Mapping) and isinstance(ttl, Mapping)
    assert set(http) == set(names(HttpSettings))
    assert set(ttl) == set(choices.TTL_KINDS)


@pytest.mark.parametrize("setting", SETTINGS, ids=_id)
def test_every_setting_has_help_text(setting: tuple[type, Any, Any]) -> None:
    _, _, decl = setting
    assert decl.help.strip() and "\n" not in decl.help


@pytest.mark.parametrize("setting", SCALARS, ids=_id)
def test_a_default_passes_its_own_check_in_its_toml_spelling(
        setting: tuple[type, Any, Any]) -> None:
    _cls, item, decl = setting
    default = default_of(item)
    if default is MISSING or default is None:
        assert decl.example is not None, "a key without a default needs an example value"
        assert callable(decl.check)
        decl.check("k", decl.example)
        return
    spelled = decl.show(default) if decl.show else default
    if not isinstance(spelled, Mapping):
        assert tomllib.loads(f"k = {_toml(spelled)}")["k"] == spelled
    checked = (schema.validate_table("k", spelled, decl.check)
               if isinstance(decl.check, Mapping) else decl.check("k", spelled))
    assert checked == default


def _toml(value: Any) -> str:
    from llmx.config.render import toml_value

    return toml_value(value)


def test_a_resolved_profile_gets_the_declared_defaults() -> None:
    config = load_config({"profiles": {"p": {"provider": "openai", "model": "m"}}})
    profile = resolve_profile(config, "p")
    for name, value in defaults(Profile).items():
        if name != "api_key_env":  # resolved per provider (see test_config_profile)
            assert getattr(profile, name) == value, name
    assert profile.http == HttpSettings() and profile.cache == CacheSettings()


def test_max_keepalive_follows_max_connections_when_unset() -> None:
    config = load_config({"profiles": {"p": {"provider": "openai", "model": "m",
                                             "http": {"max_connections": 3}}}})
    assert resolve_profile(config, "p").http.max_keepalive == 3


def test_the_http_endpoint_defaults_are_the_declared_ones() -> None:
    from llmx.providers.http import Endpoint

    endpoint, pool = Endpoint(base_url="http://h"), HttpSettings()
    for name in ("connect_timeout", "read_timeout", "max_connections", "max_keepalive",
                 "keepalive_expiry", "http2"):
        assert getattr(endpoint, name) == getattr(pool, name), name
    assert (endpoint.timeout, endpoint.retries) == (defaults(Profile)["timeout"],
                                                    defaults(Profile)["retries"])


@pytest.mark.parametrize(("dotted", "choice_set"), [
    ("provider", choices.PROVIDERS), ("cache.mode", choices.CACHE_MODES),
    ("cache.embedder", choices.EMBEDDERS), ("compression.mode", choices.COMPRESSION_MODES),
])
def test_a_choice_key_accepts_exactly_its_set(dotted: str, choice_set: tuple[str, ...]) -> None:
    check = rule(dotted)
    for value in choice_set:
        assert check(dotted, value) == value
    with pytest.raises(ConfigError, match="expected one of " + ", ".join(choice_set)):
        check(dotted, "bogus")


def test_each_choice_tuple_is_its_literal_alias() -> None:
    pairs = [(choices.Provider, choices.PROVIDERS), (choices.CacheMode, choices.CACHE_MODES),
             (choices.Embedder, choices.EMBEDDERS), (choices.RuleMode, choices.RULE_MODES),
             (choices.CompressionMode, choices.COMPRESSION_MODES),
             (choices.ContentKind, choices.CONTENT_KINDS), (choices.TtlKind, choices.TTL_KINDS),
             (choices.HitTier, choices.HIT_TIERS)]
    for alias, values in pairs:
        assert values == get_args(alias) and len(set(values)) == len(values)
    assert ("off", *choices.RULE_MODES) == choices.COMPRESSION_MODES
    assert ("default", *choices.CONTENT_KINDS) == choices.TTL_KINDS


def test_the_places_that_used_to_spell_a_set_use_the_declared_one() -> None:
    from llmx.batch import jobs
    from llmx.cache import kinds, tiers
    from llmx.cli import compress_cmd
    from llmx.compress import rules
    from llmx.prepare import KINDS
    from llmx.providers.registry import PROVIDER_NAMES, codec_for
    from llmx.types import CacheTier

    assert PROVIDER_NAMES is choices.PROVIDERS and KINDS is choices.CONTENT_KINDS
    assert kinds.KINDS is choices.TTL_KINDS and compress_cmd.MODES is choices.RULE_MODES
    assert get_args(rules.Mode) == choices.RULE_MODES
    assert get_args(tiers.Tier) == choices.HIT_TIERS
    assert get_args(CacheTier) == (False, *choices.HIT_TIERS)
    assert not hasattr(jobs, "COMPRESS_MODES")
    for provider in choices.PROVIDERS:
        codec_for(provider)
    assert set(MAX_TEMPERATURE) == set(choices.PROVIDERS)
    assert set(DEFAULT_BASE_URLS) == set(choices.PROVIDERS) - {"azure"}  # per-resource URLs


def test_member_types_a_value_or_refuses_it() -> None:
    assert choices.member("aggressive", choices.RULE_MODES) == "aggressive"
    assert choices.member("off", choices.RULE_MODES) is None


@pytest.mark.parametrize(("seconds", "spelled"), [(60.0, "1m"), (86_400.0, "1d"),
                                                   (90.0, "90s"), (0.25, "250ms"),
                                                   (604_800.0, "1w"), (1.5, "1500ms"),
                                                   (0.0005, 0.0005), (0.0, 0.0)])
def test_format_duration_reads_back(seconds: float, spelled: Any) -> None:
    assert schema.format_duration(seconds) == spelled
    if isinstance(spelled, str):
        assert schema.parse_duration(spelled) == seconds


@pytest.mark.parametrize(("count", "spelled"), [(256 * 1024**2, "256MiB"), (1024**3, "1GiB"),
                                                (1536, "1536"), (2048, "2KiB")])
def test_format_size_reads_back(count: int, spelled: str) -> None:
    assert str(schema.format_size(count)) == spelled
    assert schema.parse_size(spelled) == count


def test_config_show_is_the_profile_with_each_keys_help() -> None:
    config = load_config({"profiles": {"p": {
        "provider": "openai", "model": "m", "api_key_env": "MY_KEY", "timeout": "90s",
        "cache": {"ttl": {"chat": "1h"}}, "price": {"input": 1.0}}}})
    profile = resolve_profile(config, "p")
    env = {"MY_KEY": "sk-secret-value-123456"}
    text = profile_text(profile, env)
    assert "sk-secret-value-123456" not in text
    parsed = load_config({"profiles": {"p": {k: v for k, v in tomllib.loads(text).items()
                                              if k not in ("name", "api_key")}}})
    assert resolve_profile(parsed, "p") == profile  # show's output is a config of the profile
    assert tomllib.loads(text)["api_key"] == profile_to_dict(profile, env)["api_key"]
    read_timeout = [line for line in text.splitlines() if line.startswith("read_timeout")]
    assert read_timeout == ['read_timeout = "30s"                # ' + next(
        decl.help for item, decl in declared(HttpSettings) if item.name == "read_timeout")]
    assert 'timeout = "90s"' in text


def test_config_show_of_the_builtin_profile_parses() -> None:
    text = profile_text(resolve_profile(builtin_config(), "sim"), {})
    assert tomllib.loads(text)["base_url"] == choices.EMBEDDED


def test_the_module_entry_point_writes_what_the_test_compares(tmp_path: Path) -> None:
    from llmx.config.example import main

    target = tmp_path / "llmx.toml.example"
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_example()
