"""Secrets are masked at the one place errors are made (pure, no IO)."""

from __future__ import annotations

import pytest

from llmx.config.profile import Profile
from llmx.config.secrets import resolve_api_key
from llmx.errors import (
    AuthError,
    LlmxError,
    ProviderError,
    RateLimitError,
    StreamError,
    mask,
    redact,
    register_secret,
)

KEY = "plain-key-0d9f8e7c6b5a4"  # no recognisable shape: only registration can catch it


def test_a_registered_secret_is_masked_in_message_hint_and_str() -> None:
    register_secret(KEY)
    error = AuthError(f"openai 401: Incorrect API key provided: {KEY}.", hint=f"key {KEY}")
    assert KEY not in error.message and KEY not in str(error) and KEY not in (error.hint or "")
    assert mask(KEY) in error.message


@pytest.mark.parametrize("cls", [LlmxError, ProviderError, StreamError, RateLimitError])
def test_every_error_class_is_redacted(cls: type[LlmxError]) -> None:
    secret = "another-secret-value-77"
    register_secret(secret)
    assert secret not in str(cls(f"echo {secret} echo"))


def test_resolving_a_key_registers_it() -> None:
    value = "env-key-resolved-5c4b3a21"
    assert value in redact(f"before {value}")
    profile = Profile(name="p", provider="openai", model="m", base_url="http://h/v1",
                      api_key_env="MY_KEY")
    assert resolve_api_key(profile, {"MY_KEY": value}) == value
    assert value not in redact(f"after {value}")


@pytest.mark.parametrize("text", [
    "Authorization: Bearer abcdefgh12345678zz",
    "Incorrect API key provided: sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX",
    "invalid x-api-key sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
])
def test_clear_key_shapes_are_masked_without_registration(text: str) -> None:
    secret = text.split()[-1]
    assert secret not in redact(text)


def test_ordinary_text_is_left_alone() -> None:
    text = ("openai 404: The model `gpt-x` does not exist (model_not_found); ask-later; "
            "use bearer authentication")
    assert redact(text) == text
    register_secret("short")  # shorter than MIN_SECRET_LENGTH: not registered
    assert redact("a short answer") == "a short answer"
