"""Provider name -> codec. The names are the ``provider`` values a profile may use."""

from __future__ import annotations

from llmx.choices import PROVIDERS
from llmx.errors import ConfigError
from llmx.providers.anthropic import AnthropicCodec
from llmx.providers.base import Codec
from llmx.providers.ollama import OllamaCodec
from llmx.providers.openai import OpenAICodec

PROVIDER_NAMES = PROVIDERS


def codec_for(name: str) -> Codec:
    """The codec for a provider name; ``ConfigError`` for an unknown one."""
    if name == "openai":
        return OpenAICodec()
    if name == "anthropic":
        return AnthropicCodec()
    if name == "ollama":
        return OllamaCodec()
    expected = ", ".join(PROVIDER_NAMES)
    raise ConfigError(f"unknown provider {name!r}; expected one of: {expected}")
