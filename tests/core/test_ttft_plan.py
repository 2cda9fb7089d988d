"""Planning a call does its fixed work once: the call options' rules are made once per
provider (every proxied request sets ``max_tokens``, so each one was checked by rules built
afresh), and they still refuse exactly what they refused, per provider."""

from __future__ import annotations

from typing import Any

import pytest

from llmx.config.profile import load_config, resolve_profile
from llmx.errors import UsageError
from llmx.prepare import Call, call_rules, check_call


def profile(provider: str) -> Any:
    table = {"provider": provider, "model": "m", "base_url": "http://h/v1"}
    return resolve_profile(load_config({"profiles": {"p": table}}), "p")


def test_the_rules_are_made_once_per_provider_and_cannot_be_changed() -> None:
    assert call_rules("openai") is call_rules("openai")
    assert call_rules("openai") is not call_rules("anthropic")
    rules = call_rules("openai")
    with pytest.raises(TypeError):
        rules["max_tokens"] = lambda path, value: value  # type: ignore[index]


@pytest.mark.parametrize(("provider", "temperature", "refused"), [
    ("openai", 1.5, False), ("anthropic", 1.5, True), ("openai", 2.5, True),
])
def test_the_shared_rules_keep_each_providers_limits(provider: str, temperature: float,
                                                     refused: bool) -> None:
    """Anthropic takes temperatures up to 1, OpenAI up to 2: one provider's rules made
    first never answer for the other's."""
    check_call(profile("openai"), Call(max_tokens=16))  # the openai rules exist first
    call = Call(temperature=temperature, max_tokens=16)
    if refused:
        with pytest.raises(UsageError, match="temperature"):
            check_call(profile(provider), call)
    else:
        check_call(profile(provider), call)


def test_a_bad_value_is_still_refused_with_the_name_given() -> None:
    with pytest.raises(UsageError, match="--max-tokens"):
        check_call(profile("openai"), Call(max_tokens=0), {"max_tokens": "--max-tokens"})
