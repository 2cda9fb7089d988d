"""Every key a profile may hold, with its checker. The single list of valid keys.

Keys here match the field names of the dataclasses in ``profile.py`` one to one,
so a checked sub-table can be passed straight to its dataclass.
"""

from __future__ import annotations

from typing import Any

from llmx.config import schema
from llmx.config.schema import Checker, Spec, fail, type_name

PROVIDERS = ("openai", "anthropic", "ollama")
CACHE_MODES = ("read-write", "read", "write", "off")
EMBEDDERS = ("lexical", "provider")
COMPRESSION_MODES = ("off", "conservative", "aggressive")
TTL_KINDS = ("default", "chat", "code", "json")
MIN_CONTEXT_WINDOW = 256
MAX_CONTEXT_WINDOW = 100_000_000
EMBEDDED = "embedded"
"""``base_url`` marker: the CLI starts the embedded simulator for the command's duration."""

_ENV_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_ENV_NAME_CHARS = _ENV_NAME_START | frozenset("0123456789")


def env_var_name() -> Checker:
    """The NAME of an environment variable; ``""`` means "no key"."""

    def check(path: str, value: Any) -> str:
        if not isinstance(value, str):
            fail(path, f"expected an environment variable's name, got {type_name(value)}")
        if value and (value[0] not in _ENV_NAME_START or not set(value) <= _ENV_NAME_CHARS):
            fail(path, "expected the NAME of an environment variable (letters, digits, _), "
                 "not the key itself", hint="export the key as e.g. OPENAI_API_KEY and write "
                 "api_key_env = \"OPENAI_API_KEY\"")
        return value

    return check


def command() -> Checker:
    """A command line as a string, or as an array of arguments (joined with shell quoting)."""

    def check(path: str, value: Any) -> str:
        if isinstance(value, list):
            if not value or not all(isinstance(part, str) and part for part in value):
                fail(path, "expected a non-empty array of non-empty strings")
            import shlex

            return shlex.join(value)
        if not isinstance(value, str):
            fail(path, f"expected a command (string or array of strings), got {type_name(value)}")
        if not value.strip():
            fail(path, "must not be empty")
        return value

    return check


def url() -> Checker:
    def check(path: str, value: Any) -> str:
        if not isinstance(value, str):
            fail(path, f"expected a URL string, got {type_name(value)}")
        if value == EMBEDDED:
            return value
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in ("http", "https") or not rest.strip("/"):
            fail(path, f"expected an http:// or https:// URL (or \"{EMBEDDED}\")")
        return value.rstrip("/")

    return check


def _http_spec() -> Spec:
    return schema.frozen({
        "max_connections": schema.integer(1, 10_000),
        "max_keepalive": schema.integer(0, 10_000),
        "keepalive_expiry": schema.duration(allow_zero=True),
        "http2": schema.boolean(),
        "connect_timeout": schema.duration(),
        "read_timeout": schema.duration(),
    })


def _cache_spec() -> Spec:
    return schema.frozen({
        "mode": schema.choice(*CACHE_MODES),
        "max_entries": schema.integer(1),
        "max_bytes": schema.size(),
        "semantic": schema.boolean(),
        "threshold": schema.number(0.0, 1.0),
        "embedder": schema.choice(*EMBEDDERS),
        "embedding_model": schema.text(),
        "ttl": schema.frozen({kind: schema.duration() for kind in TTL_KINDS}),
    })


def _batch_spec() -> Spec:
    return schema.frozen({
        "concurrency": schema.integer(1, 10_000),
        "rpm": schema.integer(0),
        "tpm": schema.integer(0),
        "max_batch_size": schema.integer(1, 10_000),
        "max_wait_ms": schema.number(0.0, 60_000.0),
    })


def profile_spec() -> Spec:
    """The keys of one ``[profiles.NAME]`` table."""
    return schema.frozen({
        "extends": schema.text(),
        "description": schema.text(allow_empty=True),
        "provider": schema.choice(*PROVIDERS),
        "model": schema.text(),
        "base_url": url(),
        "api_key_env": env_var_name(),
        "api_key_cmd": command(),
        "temperature": schema.number(0.0, 2.0),
        "max_tokens": schema.integer(1),
        "context_window": schema.integer(MIN_CONTEXT_WINDOW, MAX_CONTEXT_WINDOW),
        "timeout": schema.duration(),
        "retries": schema.integer(0, 100),
        "http": _http_spec(),
        "cache": _cache_spec(),
        "compression": schema.frozen({"mode": schema.choice(*COMPRESSION_MODES)}),
        "batch": _batch_spec(),
        "price": schema.frozen({"input": schema.number(0.0), "output": schema.number(0.0)}),
    })


TOP_LEVEL_KEYS = ("default_profile", "profiles")


def rule(dotted: str) -> Checker:
    """The checker of one profile key, e.g. ``rule("batch.concurrency")``: flags that set the
    same thing use it through ``schema.check_flag``, so a flag and the config agree."""
    found: Checker | Spec = profile_spec()
    for part in dotted.split("."):
        if callable(found):
            raise KeyError(dotted)
        found = found[part]
    if not callable(found):
        raise KeyError(dotted)
    return found
