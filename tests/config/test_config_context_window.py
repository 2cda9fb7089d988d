"""The per-profile `context_window` key (tokens the model accepts, prompt + reply)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmx.config import load_config, resolve_profile
from llmx.config.files import read_config_file
from llmx.config.show import profile_to_dict
from llmx.errors import ConfigError

OPENAI = {"provider": "openai", "model": "gpt-4o-mini"}
EXAMPLE = Path(__file__).resolve().parents[2] / "llmx.toml.example"


def _profile(**extra: Any) -> Any:
    return resolve_profile(load_config({"profiles": {"p": {**OPENAI, **extra}}}), "p")


def _error(**extra: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        _profile(**extra)
    return caught.value.message


def test_unset_means_the_model_default() -> None:
    profile = _profile()
    assert profile.context_window is None
    assert "context_window" not in profile_to_dict(profile)


def test_a_valid_window_is_kept_inherited_and_shown() -> None:
    config = load_config({"profiles": {
        "local": {"provider": "ollama", "model": "llama3.2", "context_window": 4096},
        "child": {"extends": "local"},
        "wide": {"extends": "local", "context_window": 32768},
    }})
    assert resolve_profile(config, "local").context_window == 4096
    assert resolve_profile(config, "child").context_window == 4096
    assert resolve_profile(config, "wide").context_window == 32768
    assert profile_to_dict(resolve_profile(config, "local"))["context_window"] == 4096


@pytest.mark.parametrize(("value", "got"), [
    ("128k", "string"), (8192.0, "float"), (True, "boolean"), ([8192], "array"),
])
def test_the_window_must_be_an_integer(value: Any, got: str) -> None:
    message = _error(context_window=value)
    assert message.startswith("profiles.p.context_window: expected an integer")
    assert f"got {got}" in message


@pytest.mark.parametrize("value", [0, -1, 255, 100_000_001])
def test_the_window_must_be_in_range(value: int) -> None:
    assert _error(context_window=value).startswith("profiles.p.context_window: must be between")


def test_the_smallest_window_is_accepted() -> None:
    assert _profile(context_window=256).context_window == 256


@pytest.mark.parametrize("typo", ["context_windw", "contextwindow", "context_windows"])
def test_a_misspelt_key_suggests_context_window(typo: str) -> None:
    message = _error(**{typo: 8192})
    assert message.startswith(f"profiles.p.{typo}: unknown key")
    assert "did you mean `context_window`?" in message


def test_the_example_file_documents_the_key_commented_out() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "# context_window = " in text
    config = load_config(read_config_file(EXAMPLE), EXAMPLE)
    assert all(resolve_profile(config, name).context_window is None for name in config.names)
