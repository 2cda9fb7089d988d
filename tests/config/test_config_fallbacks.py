"""The ``fallback`` key: checked names, the chain it gives, cycles and unknown names refused
when the config loads, inheritance through ``extends``, `config show` and the example."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from llmx.config.example import render_example
from llmx.config.fallbacks import chain
from llmx.config.profile import load_config, resolve_profile
from llmx.config.show import profile_text, profile_to_dict
from llmx.errors import ConfigError


def table(**values: Any) -> dict[str, Any]:
    return {"provider": "openai", "model": "m", **values}


def load(**profiles: dict[str, Any]) -> Any:
    return load_config({"profiles": profiles})


def refused(**profiles: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        load(**profiles)
    assert "\n" not in raised.value.message
    return raised.value


def test_the_chain_is_depth_first_and_names_each_profile_once() -> None:
    config = load(a=table(fallback=["b", "c"]), b=table(fallback=["d", "c"]), c=table(),
                  d=table(fallback=["c"]))
    assert config.profiles["a"].fallback == ("b", "c")
    assert chain(config.profiles, "a") == ("a", "b", "d", "c")
    assert chain(config.profiles, "c") == ("c",)
    assert config.profiles["sim"].fallback == ()


@pytest.mark.parametrize(("profiles", "needle"), [
    ({"a": table(fallback=["a"])}, "profiles.a.fallback: cycle: a -> a"),
    ({"a": table(fallback=["b"]), "b": table(fallback=["c"]), "c": table(fallback=["a"])},
     "profiles.c.fallback: cycle: a -> b -> c -> a"),
    ({"a": table(fallback=["b"]), "b": table(extends="a")},  # b inherits fallback = ["b"]
     "profiles.b.fallback: cycle: b -> b"),
])
def test_a_cycle_is_refused_with_its_path(profiles: dict[str, Any], needle: str) -> None:
    error = refused(**profiles)
    assert error.message == needle
    assert error.hint is not None and "fallback = []" in error.hint


def test_a_child_clears_an_inherited_fallback() -> None:
    config = load(a=table(fallback=["b"]), b=table(extends="a", fallback=[]))
    assert config.profiles["b"].fallback == () and chain(config.profiles, "a") == ("a", "b")


def test_an_unknown_name_suggests_the_closest() -> None:
    error = refused(main=table(fallback=["bakup"]), backup=table())
    assert error.message == ("profiles.main.fallback: unknown profile 'bakup'; available: "
                             "backup, main, sim; did you mean 'backup'?")


@pytest.mark.parametrize(("value", "needle"), [
    ("backup", "profiles.a.fallback: expected an array of profile names, got string"),
    ([1], "profiles.a.fallback[0]: expected a string, got integer"),
    ([""], "profiles.a.fallback[0]: must not be empty"),
    (["sim", "sim"], "profiles.a.fallback: 'sim' is listed twice"),
])
def test_a_malformed_value_is_refused(value: object, needle: str) -> None:
    assert refused(a=table(fallback=value)).message == needle


def test_the_builtin_profile_may_fall_back_and_be_fallen_back_to() -> None:
    to_sim = load(local=table(fallback=["sim"]))
    assert chain(to_sim.profiles, "local") == ("local", "sim")
    from_sim = load(local=table(), sim={"fallback": ["local"]})
    assert chain(from_sim.profiles, "sim") == ("sim", "local")
    error = refused(local=table(fallback=["sim"]), sim={"fallback": ["local"]})
    assert error.message == "profiles.sim.fallback: cycle: local -> sim -> local"


def test_config_show_spells_it_as_a_toml_array_that_reads_back() -> None:
    config = load(a=table(fallback=["b", "sim"]), b=table())
    profile = resolve_profile(config, "a")
    assert profile_to_dict(profile)["fallback"] == ("b", "sim")
    line = next(ln for ln in profile_text(profile).splitlines() if ln.startswith("fallback"))
    assert line.split("#")[0].strip() == 'fallback = ["b", "sim"]'
    assert tomllib.loads(line.split("#")[0])["fallback"] == ["b", "sim"]


def test_the_example_shows_the_key_and_a_profile_that_uses_it() -> None:
    text = render_example()
    assert '# fallback = ["backup"]' in text
    config = load_config(tomllib.loads(text))
    assert chain(config.profiles, "production") == ("production", "claude")
    assert config.profiles["high-load"].fallback == ("claude",)  # inherited
