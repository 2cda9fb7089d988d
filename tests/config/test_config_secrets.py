from __future__ import annotations

import shlex
import sys
from typing import Any

import pytest

from llmx.config import (
    Profile,
    builtin_config,
    load_config,
    mask,
    profile_to_dict,
    resolve_api_key,
    resolve_profile,
)
from llmx.errors import AuthError, ConfigError

SENTINEL = "sk-SENTINEL-0123456789abcdefWXYZ"


def _profile(**table: Any) -> Profile:
    config = load_config({"profiles": {"p": {"provider": "openai", "model": "m", **table}}})
    return resolve_profile(config, "p")


def _python(code: str) -> str:
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def _auth_error(profile: Profile, env: dict[str, str] | None = None, **kw: Any) -> str:
    with pytest.raises(AuthError) as caught:
        resolve_api_key(profile, env or {}, **kw)
    message = caught.value.message
    assert SENTINEL not in message and SENTINEL not in (caught.value.hint or "")
    assert "\n" not in message
    return message


# --- environment variables -----------------------------------------------------------------


def test_key_from_the_default_variable_is_stripped() -> None:
    assert resolve_api_key(_profile(), {"OPENAI_API_KEY": f" {SENTINEL}\n"}) == SENTINEL


def test_missing_variable_is_named_with_the_profile() -> None:
    message = _auth_error(_profile(api_key_env="MY_KEY"), {"OTHER": SENTINEL})
    assert message == "environment variable MY_KEY is not set (profile 'p')"


def test_empty_variable_is_reported_as_empty() -> None:
    assert "MY_KEY is empty" in _auth_error(_profile(api_key_env="MY_KEY"), {"MY_KEY": "  "})


def test_profiles_without_a_key_return_none() -> None:
    assert resolve_api_key(resolve_profile(builtin_config(), "sim"), {}) is None
    ollama = load_config({"profiles": {"o": {"provider": "ollama", "model": "m"}}})
    assert resolve_api_key(resolve_profile(ollama, "o"), {"OPENAI_API_KEY": "x"}) is None


# --- commands ------------------------------------------------------------------------------


def test_key_from_a_command_uses_its_first_line() -> None:
    profile = _profile(api_key_cmd=_python(f"print(); print('{SENTINEL}'); print('other')"))
    assert resolve_api_key(profile, {}) == SENTINEL


def test_key_command_as_an_argument_array() -> None:
    profile = _profile(api_key_cmd=[sys.executable, "-c", f"print('{SENTINEL}')"])
    assert resolve_api_key(profile, {}) == SENTINEL


def test_failing_command_names_its_first_word_and_status_only() -> None:
    code = f"import sys; print('{SENTINEL}'); sys.exit(3)"
    message = _auth_error(_profile(api_key_cmd=_python(code)))
    assert "exited with status 3" in message
    assert sys.executable in message
    assert "import sys" not in message  # arguments are not shown


def test_command_that_prints_nothing() -> None:
    assert "printed nothing" in _auth_error(_profile(api_key_cmd=_python("pass")))


def test_command_not_found() -> None:
    message = _auth_error(_profile(api_key_cmd=f"/nonexistent/llmx-getkey {SENTINEL}"))
    assert "/nonexistent/llmx-getkey" in message and "not found" in message


def test_command_that_hangs_is_stopped() -> None:
    profile = _profile(api_key_cmd=_python("import time; time.sleep(30)"))
    assert "no answer within" in _auth_error(profile, cmd_timeout=0.3)


def test_command_output_that_is_not_utf8() -> None:
    code = "import sys; sys.stdout.buffer.write(b'\\xff\\xfe')"
    assert "not UTF-8" in _auth_error(_profile(api_key_cmd=_python(code)))


def test_unparsable_command_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot be parsed"):
        resolve_api_key(_profile(api_key_cmd="getkey 'unbalanced"), {})


# --- display -------------------------------------------------------------------------------


@pytest.mark.parametrize(("secret", "shown"), [
    ("sk-proj-abcdefghijklmnopqrstuvwxyz1234", "sk-…1234"),
    ("short-key", "***"),
    ("", "***"),
])
def test_mask(secret: str, shown: str) -> None:
    assert mask(secret) == shown


def test_show_masks_the_key_and_keeps_the_variable_name() -> None:
    shown = profile_to_dict(_profile(), {"OPENAI_API_KEY": SENTINEL})
    assert SENTINEL not in repr(shown)
    assert shown["api_key_env"] == "OPENAI_API_KEY"
    assert shown["api_key"] == f"from $OPENAI_API_KEY ({SENTINEL[:3]}…{SENTINEL[-4:]})"
    assert profile_to_dict(_profile(), {})["api_key"] == "$OPENAI_API_KEY is not set"
    assert profile_to_dict(_profile())["api_key"] == "from $OPENAI_API_KEY"


def test_show_hides_command_arguments_and_url_credentials() -> None:
    profile = _profile(api_key_cmd=f"echo {SENTINEL}", base_url=f"https://u:{SENTINEL}@h/v1")
    shown = profile_to_dict(profile, {})
    assert SENTINEL not in repr(shown)
    assert shown["api_key_cmd"] == "echo …"
    assert shown["base_url"] == "https://***@h/v1"


def test_show_is_plain_toml_data() -> None:
    import tomli_w

    shown = profile_to_dict(resolve_profile(builtin_config(), "sim"), {})
    text = tomli_w.dumps(shown)  # fails on None or non-TOML values
    assert 'base_url = "embedded"' in text and shown["api_key"] == "none needed"
