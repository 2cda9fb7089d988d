"""Reading and writing config files (TOML). The IO shell around ``profile.py``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmx.config.profile import Config, builtin_config, load_config
from llmx.errors import ConfigError
from llmx.paths import find_config, state_dir

STARTER_HEADER = """\
# llmx configuration, written by `llmx config init`.
#
# Looked up in this order: --config PATH, $LLMX_CONFIG, ./llmx.toml,
# $XDG_CONFIG_HOME/llmx/config.toml (~/.config/llmx/config.toml).
# Pick a profile per command with `llmx ask -p NAME`; see them with `llmx profiles`
# and a resolved one with `llmx config show -p NAME`.
#
# The built-in profile "sim" (the embedded simulator: no network, no key) always
# exists. API keys never go in this file: `api_key_env` names the environment
# variable holding the key, or `api_key_cmd` names a command that prints it.
# Every option (http, cache, compression, batch, price, extends) is shown in
# llmx.toml.example in the llmx repository.
"""

_STARTER_PROFILES: tuple[tuple[str, str], ...] = (
    ("openai", "OpenAI's API; needs OPENAI_API_KEY exported."),
    ("claude", "Anthropic's Messages API; needs ANTHROPIC_API_KEY exported."),
    ("local", "A local Ollama server (`ollama serve`); no key."),
)


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse one TOML file. Any problem is a one-line ``ConfigError`` naming the
    file (and, for malformed TOML, ``file:line:column``)."""
    import tomllib

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config path is a directory, not a file: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_decode_error_text(path, str(exc), text)) from None


def _decode_error_text(path: Path, message: str, text: str) -> str:
    """``Invalid value (at line 3, column 7)`` -> ``PATH:3:7: invalid value``.

    tomllib reports some errors "at end of document"; those get the last line's end.
    """
    head, sep, tail = message.rpartition(" (at line ")
    if sep:
        line, _, column = tail.rstrip(")").partition(", column ")
    else:
        head = message.removesuffix(" (at end of document)")
        lines = text.split("\n")
        line, column = str(len(lines)), str(len(lines[-1]) + 1)
    detail = (head[:1].lower() + head[1:]).replace("\n", " ")
    return f"{path}:{line}:{column}: {detail}"


def load(explicit: str | None, env: Mapping[str, str], cwd: Path) -> Config:
    """Find, read and resolve the config; with no file, only the built-in profiles. The
    parsed file is remembered in the state directory (``llmx.config.memo``: the same
    document, without loading tomllib while the file is unchanged)."""
    from llmx.config.memo import parsed

    path = find_config(explicit, env, cwd)
    if path is None:
        return builtin_config()
    return load_config(parsed(path, state_dir(env), read_config_file), path)


def starter_tables() -> dict[str, dict[str, Any]]:
    """The profiles ``llmx config init`` writes (plain data; tomli-w renders it)."""
    return {
        "openai": {"provider": "openai", "model": "gpt-4o-mini", "api_key_env": "OPENAI_API_KEY",
                   "timeout": 60, "retries": 2},
        "claude": {"provider": "anthropic", "model": "claude-3-5-haiku-latest",
                   "api_key_env": "ANTHROPIC_API_KEY", "max_tokens": 1024},
        "local": {"provider": "ollama", "model": "llama3.2",
                  "base_url": "http://localhost:11434"},
    }


def starter_text() -> str:
    """The commented starter config: comments written here, every value by tomli-w."""
    import tomli_w

    tables = starter_tables()
    parts = [STARTER_HEADER, "\n", tomli_w.dumps({"default_profile": "sim"})]
    for name, comment in _STARTER_PROFILES:
        parts.append(f"\n# {comment}\n")
        parts.append(tomli_w.dumps({"profiles": {name: tables[name]}}))
    return "".join(parts)


def write_default_config(path: Path, force: bool = False) -> Path:
    """Write the starter config to ``path`` (mode 0600, parent created 0700 if missing).

    Refuses to replace an existing file unless ``force``. The write is atomic.
    """
    if path.is_dir():
        raise ConfigError(f"config path is a directory, not a file: {path}")
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; not overwriting it",
                          hint="pass --force to replace it")
    text = starter_text()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(path, text)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    return path


def _write_private(path: Path, text: str) -> None:
    import tempfile

    fd, temp_name = tempfile.mkstemp(prefix=".llmx-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, path)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise
