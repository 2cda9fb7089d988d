"""Provider name -> codec. The names are the ``provider`` values a profile may use.

``codec_for(name)`` is a provider's codec with the defaults; ``codec_for_profile`` the one a
profile asks for: its ``api`` (Chat Completions or the Responses API), its
``token_param`` / ``send_temperature`` overrides, and for ``azure`` its deployment URL.
"""

from __future__ import annotations

from llmx.choices import PROVIDERS
from llmx.config.settings import Profile
from llmx.errors import ConfigError
from llmx.providers.anthropic import AnthropicCodec
from llmx.providers.base import Codec
from llmx.providers.ollama import OllamaCodec
from llmx.providers.openai import OpenAICodec
from llmx.providers.openai_models import Overrides

PROVIDER_NAMES = PROVIDERS


def codec_for(name: str) -> Codec:
    """The codec for a provider name; ``ConfigError`` for an unknown one."""
    if name == "openai":
        return OpenAICodec()
    if name == "anthropic":
        return AnthropicCodec()
    if name == "ollama":
        return OllamaCodec()
    if name == "azure":
        from llmx.providers.azure import AzureCodec

        return AzureCodec(model="", deployment=None, api_version=None)
    expected = ", ".join(PROVIDER_NAMES)
    raise ConfigError(f"unknown provider {name!r}; expected one of: {expected}")


def codec_for_profile(profile: Profile) -> Codec:
    """The codec for ``profile``: its provider, api, overrides and Azure URL."""
    overrides = Overrides(profile.token_param, profile.send_temperature)
    if profile.provider == "azure":
        from llmx.providers.azure import AzureCodec

        return AzureCodec(model=profile.model, deployment=profile.deployment,
                          api_version=profile.api_version, api=profile.api or "chat",
                          overrides=overrides)
    if profile.provider == "openai" and profile.api == "responses":
        from llmx.providers.responses import ResponsesCodec

        return ResponsesCodec(overrides)
    if profile.provider == "openai":
        return OpenAICodec(overrides)
    return codec_for(profile.provider)
