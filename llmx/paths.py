"""Where llmx reads its config and keeps its state. The only place paths are decided.

Config lookup, first match wins:

1. ``--config PATH``               (must exist)
2. ``$LLMX_CONFIG``                (must exist when set and non-empty)
3. ``./llmx.toml``
4. ``$XDG_CONFIG_HOME/llmx/config.toml`` (default ``~/.config/llmx/config.toml``)

State (cache, records): ``$LLMX_HOME``, else ``$XDG_STATE_HOME/llmx``, else
``~/.local/state/llmx``; created 0700 by ``ensure_private_dir``.

Functions take the environment as a mapping (never ``os.environ`` directly) so
callers and tests decide what they see. Relative XDG variables are ignored, as
the XDG spec asks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from llmx.errors import ConfigError

CONFIG_ENV = "LLMX_CONFIG"
HOME_ENV = "LLMX_HOME"
LOCAL_CONFIG = "llmx.toml"
FROM_FLAG = "--config"
FROM_ENV = "$LLMX_CONFIG"
FROM_CWD = "./llmx.toml"
FROM_XDG = "XDG config"
_MUST_EXIST = (FROM_FLAG, FROM_ENV)


def home_dir(env: Mapping[str, str]) -> Path:
    home = env.get("HOME")
    return Path(home) if home else Path.home()


def _expand(raw: str, env: Mapping[str, str], cwd: Path) -> Path:
    home_relative = raw == "~" or raw.startswith("~/")
    path = home_dir(env) / raw[2:] if home_relative else Path(raw).expanduser()
    return path if path.is_absolute() else cwd / path


def _xdg_dir(env: Mapping[str, str], variable: str, *fallback: str) -> Path:
    value = env.get(variable)
    if value and Path(value).is_absolute():
        return Path(value)
    return home_dir(env).joinpath(*fallback)


def user_config_path(env: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/llmx/config.toml``: where ``llmx config init`` writes by default."""
    return _xdg_dir(env, "XDG_CONFIG_HOME", ".config") / "llmx" / "config.toml"


def config_candidates(
    explicit: str | None, env: Mapping[str, str], cwd: Path
) -> list[tuple[Path, str]]:
    """Every place a config may come from, in lookup order, as ``(path, why)`` pairs.

    ``why`` is one of ``"--config"``, ``"$LLMX_CONFIG"``, ``"./llmx.toml"``, ``"XDG config"``.
    """
    found: list[tuple[Path, str]] = []
    if explicit is not None:
        found.append((_expand(explicit, env, cwd), FROM_FLAG))
    from_env = env.get(CONFIG_ENV)
    if from_env:
        found.append((_expand(from_env, env, cwd), FROM_ENV))
    found.append((cwd / LOCAL_CONFIG, FROM_CWD))
    found.append((user_config_path(env), FROM_XDG))
    return found


def find_config(explicit: str | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    """The config file to use, or ``None`` when there is none (built-in profiles only).

    A path given by ``--config`` or ``$LLMX_CONFIG`` must exist: ``ConfigError`` otherwise.
    """
    for path, why in config_candidates(explicit, env, cwd):
        if why in _MUST_EXIST:
            if path.is_dir():
                raise ConfigError(f"config path is a directory, not a file: {path} (from {why})")
            if not path.is_file():
                raise ConfigError(f"config file not found: {path} (from {why})",
                                  hint="create one with `llmx config init`")
            return path
        if path.is_file():
            return path
    return None


def state_dir(env: Mapping[str, str]) -> Path:
    """``$LLMX_HOME``, else ``$XDG_STATE_HOME/llmx``, else ``~/.local/state/llmx`` (not created)."""
    home = env.get(HOME_ENV)
    if home:
        path = _expand(home, env, Path(os.path.abspath(os.curdir)))
        return path
    return _xdg_dir(env, "XDG_STATE_HOME", ".local", "state") / "llmx"


def cache_dir(env: Mapping[str, str]) -> Path:
    return state_dir(env) / "cache"


def records_dir(env: Mapping[str, str]) -> Path:
    return state_dir(env) / "records"


def ensure_private_dir(path: Path) -> Path:
    """``mkdir -p path`` where every directory made (``$LLMX_HOME`` itself and any missing
    parent too) is 0700, whatever the umask; an existing ``path`` open to others is
    tightened to 0700, existing parents are left alone. Shared sticky directories (like
    /tmp) are refused."""
    import stat

    try:
        _make_private(path)
        info = path.stat()
        if info.st_mode & stat.S_ISVTX and info.st_mode & 0o002:
            raise ConfigError(f"refusing to use the shared directory {path} for private state",
                              hint=f"point ${HOME_ENV} at a directory of your own")
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(path, 0o700)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"cannot create directory {path}: a file is in the way") from None
    except OSError as exc:
        raise ConfigError(f"cannot create private directory {path}: {exc.strerror}") from None
    return path


def _make_private(path: Path) -> None:
    """Create ``path`` and its missing parents, each 0700 (``mkdir -p`` gives parents the
    umask's mode, e.g. 0755)."""
    missing: list[Path] = []
    probe = path
    while not probe.is_dir() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            if not directory.is_dir():
                raise
            continue  # made meanwhile by another process: theirs to set
        os.chmod(directory, 0o700)  # exactly 0700 under any umask
