"""Profiles from TOML: lookup (``llmx.paths``), checking and ``extends`` (``profile``),
files (``files``), API keys (``secrets``) and display (``show``).

Importing this package costs only the standard library's ``dataclasses``;
tomllib, tomli-w, subprocess and difflib load when first needed.
"""

from __future__ import annotations

from llmx.choices import EMBEDDED, PROVIDERS
from llmx.config.files import load, read_config_file, starter_text, write_default_config
from llmx.config.profile import (
    BUILTIN_PROFILE,
    BatchSettings,
    CacheSettings,
    CompressionSettings,
    Config,
    HttpSettings,
    Price,
    Profile,
    builtin_config,
    load_config,
    resolve_profile,
    with_overrides,
)
from llmx.config.secrets import mask, resolve_api_key
from llmx.config.show import key_status, profile_to_dict

__all__ = [
    "BUILTIN_PROFILE",
    "EMBEDDED",
    "PROVIDERS",
    "BatchSettings",
    "CacheSettings",
    "CompressionSettings",
    "Config",
    "HttpSettings",
    "Price",
    "Profile",
    "builtin_config",
    "key_status",
    "load",
    "load_config",
    "mask",
    "profile_to_dict",
    "read_config_file",
    "resolve_api_key",
    "resolve_profile",
    "starter_text",
    "with_overrides",
    "write_default_config",
]
