"""Checking raw TOML values: one checker per key, unknown keys with suggestions.

Pure: values in, normalised values out (durations to seconds, sizes to bytes),
or a one-line ``ConfigError`` naming the full key path. Values of keys whose
path mentions ``key``, ``token`` or ``secret`` are never quoted in a message,
and type errors only ever name the value's type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NoReturn, TypeAlias

from llmx.choices import EMBEDDED
from llmx.errors import ConfigError

Checker: TypeAlias = Callable[[str, Any], Any]
Spec: TypeAlias = Mapping[str, "Checker | Spec"]

_SECRET_WORDS = ("key", "token", "secret")
_BARE_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_DURATION_UNITS = (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86400.0),
                   ("w", 604800.0))
_SIZE_UNITS = (("kib", 1024), ("mib", 1024**2), ("gib", 1024**3), ("kb", 1000),
               ("mb", 1000**2), ("gb", 1000**3), ("k", 1024), ("m", 1024**2), ("g", 1024**3),
               ("b", 1))


def fail(path: str, problem: str, *, hint: str | None = None) -> NoReturn:
    raise ConfigError(f"{path}: {problem}", hint=hint)


def join(path: str, key: str) -> str:
    """The dotted TOML path of ``key`` under ``path`` (quoted when not a bare key)."""
    shown = key if key and set(key) <= _BARE_KEY_CHARS else '"' + key.replace('"', '\\"') + '"'
    return f"{path}.{shown}" if path else shown


def is_secret_path(path: str) -> bool:
    lowered = path.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def type_name(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
             dict: "table"}
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if isinstance(value, Mapping):
        return "table"
    return type(value).__name__


def shown(path: str, value: object) -> str:
    """``, got VALUE`` — or nothing when the key could hold a secret."""
    return "" if is_secret_path(path) else f", got {value!r}"


def closest(word: str, options: Any) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_key(path: str, key: str, valid: Any) -> NoReturn:
    guess = closest(key, valid)
    where = join(path, key)
    if guess is not None:
        problem = f"unknown key; did you mean `{guess}`?"
    else:
        problem = "unknown key; valid keys: " + ", ".join(sorted(valid))
    hint = None
    if key.lower() in {"api_key", "apikey", "key", "token", "secret", "password"}:
        hint = "never write a key into the config: set api_key_env = \"VAR\" and export VAR"
    fail(where, problem, hint=hint)


def validate_table(path: str, raw: object, spec: Spec) -> dict[str, Any]:
    """Check every key of ``raw`` against ``spec`` (recursively); return normalised values."""
    if not isinstance(raw, Mapping):
        fail(path, f"expected a table, got {type_name(raw)}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        rule = spec.get(key)
        if rule is None:
            unknown_key(path, key, spec.keys())
        where = join(path, key)
        out[key] = validate_table(where, value, rule) if isinstance(rule, Mapping) else rule(
            where, value
        )
    return out


def text(*, allow_empty: bool = False) -> Checker:
    def check(path: str, value: Any) -> str:
        if not isinstance(value, str):
            fail(path, f"expected a string, got {type_name(value)}")
        if not allow_empty and not value.strip():
            fail(path, "must not be empty")
        return value

    return check


def integer(lo: int | None = None, hi: int | None = None) -> Checker:
    def check(path: str, value: Any) -> int:
        if type(value) is not int:
            fail(path, f"expected an integer, got {type_name(value)}")
        _in_range(path, value, lo, hi)
        return value

    return check


def number(lo: float | None = None, hi: float | None = None, *, above: float | None = None
           ) -> Checker:
    """A float (integers accepted); ``above`` is an exclusive lower bound."""

    def check(path: str, value: Any) -> float:
        if type(value) not in (int, float):
            fail(path, f"expected a number, got {type_name(value)}")
        result = float(value)
        if result != result or result in (float("inf"), float("-inf")):
            fail(path, "must be a finite number")
        if above is not None and result <= above:
            fail(path, f"must be greater than {above:g}{shown(path, value)}")
        _in_range(path, result, lo, hi)
        return result

    return check


def _in_range(path: str, value: float, lo: float | None, hi: float | None) -> None:
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            rule = f"between {lo:g} and {hi:g}"
        elif lo is not None:
            rule = f"at least {lo:g}"
        else:
            rule = f"at most {hi:g}"
        fail(path, f"must be {rule}{shown(path, value)}")


def boolean() -> Checker:
    def check(path: str, value: Any) -> bool:
        if type(value) is not bool:
            fail(path, f"expected true or false, got {type_name(value)}")
        return value

    return check


def choice(*options: str) -> Checker:
    def check(path: str, value: Any) -> str:
        if not isinstance(value, str):
            fail(path, f"expected a string (one of {', '.join(options)}), got {type_name(value)}")
        if value not in options:
            guess = closest(value, options)
            tip = f"; did you mean '{guess}'?" if guess else ""
            fail(path, f"expected one of {', '.join(options)}{shown(path, value)}{tip}")
        return value

    return check


def duration(*, allow_zero: bool = False) -> Checker:
    """Seconds as a number, or a string like ``"250ms"``, ``"30s"``, ``"5m"``, ``"1h"``."""

    def check(path: str, value: Any) -> float:
        if isinstance(value, str):
            seconds = parse_duration(value)
            if seconds is None:
                fail(path, "expected seconds or a duration like '30s', '5m', '1h', '7d'"
                     + shown(path, value))
        elif type(value) in (int, float):
            seconds = float(value)
        else:
            fail(path, f"expected seconds (a number) or a duration string, got {type_name(value)}")
        bound = 0.0 if allow_zero else None
        return float(number(lo=bound, above=None if allow_zero else 0.0)(path, seconds))

    return check


def parse_duration(raw: str) -> float | None:
    cleaned = raw.strip().lower()
    for unit, factor in _DURATION_UNITS:
        if cleaned.endswith(unit):
            amount = _parse_float(cleaned[: -len(unit)])
            return None if amount is None else amount * factor
    return _parse_float(cleaned)


def format_duration(seconds: float) -> str | float:
    """``seconds`` in the largest unit that spells it exactly (``3600.0`` -> ``"1h"``);
    ``parse_duration`` reads it back. Non-positive values stay numbers."""
    if seconds <= 0:
        return seconds
    for unit, factor in reversed(_DURATION_UNITS):
        amount = seconds / factor
        if amount == int(amount):
            return f"{int(amount)}{unit}"
    return seconds


def size() -> Checker:
    """Bytes as an integer, or a string like ``"512KiB"``, ``"256MiB"``, ``"1GB"``."""

    def check(path: str, value: Any) -> int:
        if isinstance(value, str):
            parsed = parse_size(value)
            if parsed is None:
                fail(path, "expected bytes or a size like '64MiB', '1GB'" + shown(path, value))
            value = parsed
        elif type(value) is not int:
            fail(path, f"expected bytes (an integer) or a size string, got {type_name(value)}")
        return int(integer(lo=1)(path, value))

    return check


def parse_size(raw: str) -> int | None:
    cleaned = raw.strip().lower().replace(" ", "")
    for unit, factor in _SIZE_UNITS:
        if cleaned.endswith(unit):
            amount = _parse_float(cleaned[: -len(unit)])
            return None if amount is None else int(amount * factor)
    amount = _parse_float(cleaned)
    return None if amount is None or amount != int(amount) else int(amount)


def format_size(count: int) -> str | int:
    """``count`` bytes in the largest binary unit that spells it exactly (``"256MiB"``);
    ``parse_size`` reads it back."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count > 0 and count % factor == 0:
            return f"{count // factor}{unit}"
    return count


def _parse_float(raw: str) -> float | None:
    raw = raw.strip()
    if not raw or raw.lstrip("+-") in ("inf", "infinity", "nan"):
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def frozen(spec: dict[str, Checker | Spec]) -> Spec:
    return MappingProxyType(spec)


def check_flag(flag: str, checker: Checker, value: Any) -> Any:
    """A command-line value checked by the config's own rule: the same limits, and a usage
    error that names the flag (``--temperature: must be between 0 and 2, got 9.0``)."""
    from llmx.errors import UsageError

    try:
        return checker(flag, value)
    except ConfigError as exc:
        raise UsageError(exc.message) from None


# -- llmx's own value shapes --------------------------------------------------------------

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


def profile_names() -> Checker:
    """An array of profile names (non-empty strings, each once), as a tuple; whether they
    name profiles is checked once the whole config is known (``llmx.config.fallbacks``)."""
    one = text()

    def check(path: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            fail(path, f"expected an array of profile names, got {type_name(value)}")
        found: list[str] = []
        for index, item in enumerate(value):
            one(f"{path}[{index}]", item)
            if item in found:
                fail(path, f"'{item}' is listed twice")
            found.append(item)
        return tuple(found)

    return check
