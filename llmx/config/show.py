"""A resolved profile as plain data, for ``llmx config show`` and ``llmx profiles``.

The result uses the TOML key names (so it can be rendered back as TOML, with each
key's help text beside it: ``profile_text``, or as JSON), leaves out unset values,
and never contains a key: the
``api_key`` entry says where the key comes from and, when an environment is
given and the variable is set, a masked preview.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmx.config.fields import Declared
from llmx.config.profile import Profile
from llmx.config.secrets import mask
from llmx.values import is_frozen, names

_SHOWN_ONLY = {  # keys `config show` adds to the declared settings
    "name": Declared("the profile's name", None, None, None, None),
    "api_key": Declared("where the key comes from (the key itself is never shown)",
                        None, None, None, None),
}


def profile_to_dict(profile: Profile, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``profile`` as a dict of TOML-compatible values (no ``None``)."""
    data: dict[str, Any] = _plain(profile)
    del data["builtin"]
    data["base_url"] = _hide_userinfo(profile.base_url)
    if profile.api_key_cmd is not None:
        data["api_key_cmd"] = _first_word(profile.api_key_cmd)
    data["api_key"] = key_status(profile, env)
    return data


def profile_text(profile: Profile, env: Mapping[str, str] | None = None) -> str:
    """``profile_to_dict`` as TOML, each key with its declared help text as a comment;
    durations and sizes spelled as a config would (``"1m"``, ``"256MiB"``)."""
    from llmx.config.render import Style, table_lines

    data = profile_to_dict(profile, env)
    lines = table_lines(Profile, "", data, Style(spelled=True), extra=_SHOWN_ONLY)
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    if is_frozen(value):
        pairs = ((name, getattr(value, name)) for name in names(type(value)))
        return {name: _plain(item) for name, item in pairs if item is not None}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def key_status(profile: Profile, env: Mapping[str, str] | None) -> str:
    """One line about the profile's key: where it comes from, never the key itself."""
    if profile.api_key_env is not None:
        if env is None:
            return f"from ${profile.api_key_env}"
        value = env.get(profile.api_key_env, "").strip()
        if not value:
            return f"${profile.api_key_env} is not set"
        return f"from ${profile.api_key_env} ({mask(value)})"
    if profile.api_key_cmd is not None:
        return f"from command {_first_word(profile.api_key_cmd)} (run when needed)"
    return "none needed"


def _first_word(command: str) -> str:
    """The program of a command line, with ``…`` when arguments follow (they are not shown)."""
    words = command.split()
    first = words[0] if words else ""
    return f"{first} …" if len(words) > 1 else first


def _hide_userinfo(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if not sep or "@" not in authority:
        return url
    return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{path}"
