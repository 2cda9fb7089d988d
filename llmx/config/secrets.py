"""Fetching a profile's API key, and masking keys for display.

Errors name where a key should come from (the variable's name, the command's
first word and exit status) and never a key, a command's output or its arguments.
Every key resolved here is registered with ``llmx.errors.register_secret``, so no
error made afterwards can carry it, even when a provider echoes it back.
"""

from __future__ import annotations

from collections.abc import Mapping

from llmx.config.profile import Profile
from llmx.errors import AuthError, ConfigError, mask, register_secret

__all__ = ["DEFAULT_CMD_TIMEOUT", "mask", "resolve_api_key"]

DEFAULT_CMD_TIMEOUT = 30.0
"""Seconds an ``api_key_cmd`` may take (a password manager may ask for a passphrase)."""


def resolve_api_key(
    profile: Profile, env: Mapping[str, str], *, cmd_timeout: float = DEFAULT_CMD_TIMEOUT
) -> str | None:
    """The profile's API key, or ``None`` when it needs none (``sim``, ``ollama``...).

    From ``api_key_env`` (the variable must be set and non-blank) or from
    ``api_key_cmd`` (its first non-blank stdout line). Raises ``AuthError``.
    """
    key = _find_key(profile, env, cmd_timeout)
    if key is not None:
        register_secret(key)
    return key


def _find_key(profile: Profile, env: Mapping[str, str], cmd_timeout: float) -> str | None:
    if profile.api_key_env is not None:
        value = env.get(profile.api_key_env, "").strip()
        if not value:
            state = "is empty" if profile.api_key_env in env else "is not set"
            raise AuthError(
                f"environment variable {profile.api_key_env} {state} "
                f"(profile '{profile.name}')",
                hint=f"export {profile.api_key_env}=... or change the profile's api_key_env",
            )
        return value
    if profile.api_key_cmd is not None:
        return _run_key_command(profile.name, profile.api_key_cmd, cmd_timeout)
    return None


def _run_key_command(profile_name: str, command: str, timeout: float) -> str:
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError:
        raise ConfigError(f"api_key_cmd of profile '{profile_name}' cannot be parsed "
                          "(unbalanced quotes?)") from None
    if not argv:
        raise ConfigError(f"api_key_cmd of profile '{profile_name}' is empty")
    what = f"api_key_cmd of profile '{profile_name}' ({argv[0]})"
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              timeout=timeout, check=False)
    except FileNotFoundError:
        raise AuthError(f"{what}: command not found") from None
    except PermissionError:
        raise AuthError(f"{what}: permission denied") from None
    except subprocess.TimeoutExpired:
        raise AuthError(f"{what}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise AuthError(f"{what}: cannot run ({exc.strerror})") from None
    if done.returncode != 0:
        raise AuthError(f"{what}: exited with status {done.returncode}")
    return _first_line(what, done.stdout)


def _first_line(what: str, output: bytes) -> str:
    try:
        text = output.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthError(f"{what}: printed something that is not UTF-8") from None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    raise AuthError(f"{what}: printed nothing")
