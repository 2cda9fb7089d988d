from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from llmx.errors import ConfigError
from llmx.paths import (
    cache_dir,
    config_candidates,
    ensure_private_dir,
    find_config,
    state_dir,
    user_config_path,
)


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_candidates_follow_the_documented_order(home: Path, cwd: Path, tmp_path: Path) -> None:
    env = {"HOME": str(home), "LLMX_CONFIG": str(tmp_path / "env.toml"),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    found = config_candidates("flag.toml", env, cwd)
    assert found == [
        (cwd / "flag.toml", "--config"),
        (tmp_path / "env.toml", "$LLMX_CONFIG"),
        (cwd / "llmx.toml", "./llmx.toml"),
        (tmp_path / "xdg" / "llmx" / "config.toml", "XDG config"),
    ]


def test_candidates_without_flag_or_env_use_home_config(home: Path, cwd: Path) -> None:
    found = config_candidates(None, {"HOME": str(home), "LLMX_CONFIG": ""}, cwd)
    assert [why for _, why in found] == ["./llmx.toml", "XDG config"]
    assert found[1][0] == home / ".config" / "llmx" / "config.toml"


def test_relative_xdg_variable_is_ignored(home: Path) -> None:
    env = {"HOME": str(home), "XDG_CONFIG_HOME": "relative/dir"}
    assert user_config_path(env) == home / ".config" / "llmx" / "config.toml"


def test_tilde_in_flag_expands_to_home_from_env(home: Path, cwd: Path) -> None:
    path, _ = config_candidates("~/my.toml", {"HOME": str(home)}, cwd)[0]
    assert path == home / "my.toml"


def test_find_prefers_flag_over_everything(home: Path, cwd: Path, tmp_path: Path) -> None:
    flag = _touch(tmp_path / "flag.toml")
    _touch(tmp_path / "env.toml")
    _touch(cwd / "llmx.toml")
    env = {"HOME": str(home), "LLMX_CONFIG": str(tmp_path / "env.toml")}
    assert find_config(str(flag), env, cwd) == flag


def test_find_prefers_env_over_local_file(home: Path, cwd: Path, tmp_path: Path) -> None:
    from_env = _touch(tmp_path / "env.toml")
    _touch(cwd / "llmx.toml")
    assert find_config(None, {"HOME": str(home), "LLMX_CONFIG": str(from_env)}, cwd) == from_env


def test_find_prefers_local_file_over_xdg(home: Path, cwd: Path) -> None:
    local = _touch(cwd / "llmx.toml")
    _touch(home / ".config" / "llmx" / "config.toml")
    assert find_config(None, {"HOME": str(home)}, cwd) == local


def test_find_falls_back_to_xdg_then_none(home: Path, cwd: Path) -> None:
    env = {"HOME": str(home)}
    assert find_config(None, env, cwd) is None
    xdg = _touch(home / ".config" / "llmx" / "config.toml")
    assert find_config(None, env, cwd) == xdg


@pytest.mark.parametrize("source", ["flag", "env"])
def test_missing_explicit_path_is_an_error(source: str, home: Path, cwd: Path) -> None:
    _touch(cwd / "llmx.toml")  # must not be used as a silent fallback
    missing = str(cwd / "nope.toml")
    env = {"HOME": str(home)}
    if source == "env":
        env["LLMX_CONFIG"] = missing
    with pytest.raises(ConfigError) as caught:
        find_config(missing if source == "flag" else None, env, cwd)
    assert "nope.toml" in caught.value.message
    assert ("--config" if source == "flag" else "$LLMX_CONFIG") in caught.value.message


def test_explicit_directory_is_an_error(home: Path, cwd: Path) -> None:
    with pytest.raises(ConfigError, match="directory"):
        find_config(str(cwd), {"HOME": str(home)}, cwd)


def test_state_dir_precedence(home: Path, tmp_path: Path) -> None:
    base = {"HOME": str(home)}
    assert state_dir(base) == home / ".local" / "state" / "llmx"
    xdg = {**base, "XDG_STATE_HOME": str(tmp_path / "state")}
    assert state_dir(xdg) == tmp_path / "state" / "llmx"
    assert state_dir({**xdg, "LLMX_HOME": str(tmp_path / "mine")}) == tmp_path / "mine"
    assert cache_dir({**xdg, "LLMX_HOME": str(tmp_path / "mine")}).parent == tmp_path / "mine"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_private_dir_creates_0700(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "state"
    assert ensure_private_dir(target) == target
    assert target.is_dir()
    assert _mode(target) == 0o700


def test_every_directory_llmx_creates_is_0700(tmp_path: Path) -> None:
    """$LLMX_HOME itself (and any missing parent) was left 0755 when a subdirectory was made."""
    tmp_path.chmod(0o755)
    home = tmp_path / "new" / "llmx-home"
    target = home / "cache" / "responses"
    old_umask = os.umask(0o022)
    try:
        ensure_private_dir(target)
    finally:
        os.umask(old_umask)
    for made in (tmp_path / "new", home, home / "cache", target):
        assert _mode(made) == 0o700, made
    assert _mode(tmp_path) == 0o755  # a directory that existed is left as it was


def test_state_dirs_made_by_an_ask_are_private(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from llmx.cli._io import Io
    from llmx.cli.ask import AskArgs, run_ask

    home = tmp_path / "state-home"
    monkeypatch.chdir(tmp_path)
    env = {"LLMX_HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    streams = Io(stdin=io.BytesIO(), stdout=io.StringIO(), stderr=io.StringIO(), env=env,
                 stdin_is_tty=True, stdout_is_tty=False)
    assert run_ask(AskArgs(prompt=("hi",), profile="sim"), streams) == 0
    made = [home, *(p for p in home.rglob("*") if p.is_dir())]
    assert len(made) > 1
    assert {str(p): _mode(p) for p in made} == {str(p): 0o700 for p in made}
    files = [p for p in home.rglob("*") if p.is_file()]
    assert files and all(_mode(p) == 0o600 for p in files), [(p, _mode(p)) for p in files]


def test_ensure_private_dir_tightens_an_open_dir(tmp_path: Path) -> None:
    target = tmp_path / "open"
    target.mkdir()
    target.chmod(0o755)
    ensure_private_dir(target)
    assert _mode(target) == 0o700


def test_ensure_private_dir_refuses_shared_sticky_dir(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(ConfigError, match="shared"):
        ensure_private_dir(shared)
    assert _mode(shared) == 0o1777


def test_ensure_private_dir_reports_a_file_in_the_way(tmp_path: Path) -> None:
    blocker = _touch(tmp_path / "file")
    with pytest.raises(ConfigError, match="file is in the way"):
        ensure_private_dir(blocker)
