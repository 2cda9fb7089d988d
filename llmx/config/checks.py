"""Checkers of llmx's own value shapes (on top of the generic ones in ``schema``): an
environment variable's name, a command line, a provider URL. Pure."""

from __future__ import annotations

from typing import Any

from llmx.choices import EMBEDDED
from llmx.config.schema import Checker, fail, type_name

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
    """An http(s) URL (trailing slashes dropped), or the embedded simulator's marker."""

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
