"""Profiles from TOML: lookup (``llmx.paths``), the declared settings (``settings``),
checking and ``extends`` (``profile``), files (``files``), API keys (``secrets``) and
display (``show``).

Importing this package costs nothing: the names below load their module on first use,
so a command pays only for the modules it touches (tomllib, tomli-w, subprocess and
difflib load later still, when first needed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

_LAZY = {
    "EMBEDDED": "llmx.choices", "PROVIDERS": "llmx.choices",
    "load": "llmx.config.files", "read_config_file": "llmx.config.files",
    "starter_text": "llmx.config.files", "write_default_config": "llmx.config.files",
    "BUILTIN_PROFILE": "llmx.config.profile", "Config": "llmx.config.profile",
    "builtin_config": "llmx.config.profile", "load_config": "llmx.config.profile",
    "resolve_profile": "llmx.config.profile", "with_overrides": "llmx.config.profile",
    "BatchSettings": "llmx.config.profile", "CacheSettings": "llmx.config.profile",
    "CompressionSettings": "llmx.config.profile", "HttpSettings": "llmx.config.profile",
    "Price": "llmx.config.profile", "Profile": "llmx.config.profile",
    "mask": "llmx.config.secrets", "resolve_api_key": "llmx.config.secrets",
    "key_status": "llmx.config.show", "profile_to_dict": "llmx.config.show",
}

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmx.config' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
