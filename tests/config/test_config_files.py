from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from llmx.config import load, load_config, read_config_file, resolve_profile, write_default_config
from llmx.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "llmx.toml.example"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _read_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        read_config_file(path)
    assert "\n" not in caught.value.message
    return caught.value.message


# --- reading -------------------------------------------------------------------------------


def test_malformed_toml_names_file_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "llmx.toml", 'default_profile = "sim"\n\n[profiles.a]\nmodel = \n')
    message = _read_error(path)
    assert message.startswith(f"{path}:4:9: ")
    assert "invalid value" in message.lower()


def test_error_at_end_of_document_points_at_the_last_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "llmx.toml", 'a = 1\nb = "open')
    assert _read_error(path).startswith(f"{path}:2:10: unterminated string")


def test_malformed_toml_never_echoes_a_value(tmp_path: Path) -> None:
    path = _write(tmp_path / "llmx.toml", "[profiles.a]\napi_key = sk-SENTINEL-0123456789\n")
    message = _read_error(path)
    assert "SENTINEL" not in message and f"{path}:2:" in message


def test_missing_directory_and_non_utf8_files(tmp_path: Path) -> None:
    assert "not found" in _read_error(tmp_path / "absent.toml")
    assert "directory" in _read_error(tmp_path)
    bad = tmp_path / "latin.toml"
    bad.write_bytes(b'model = "caf\xe9"\n')
    assert "UTF-8" in _read_error(bad)


def test_load_without_a_file_gives_builtins_only(tmp_path: Path) -> None:
    config = load(None, {"HOME": str(tmp_path)}, tmp_path)
    assert config.source is None and config.names == ["sim"]


def test_load_reads_the_local_file_and_prefixes_errors(tmp_path: Path) -> None:
    local = _write(tmp_path / "llmx.toml", '[profiles.a]\nprovider = "openai"\nmodel = "m"\n')
    env = {"HOME": str(tmp_path / "home")}
    config = load(None, env, tmp_path)
    assert config.source == local and resolve_profile(config, "a").model == "m"
    _write(local, '[profiles.a]\nprovider = "openai"\nmodel = "m"\ntimout = 3\n')
    with pytest.raises(ConfigError) as caught:
        load(None, env, tmp_path)
    assert caught.value.message == (
        f"{local}: profiles.a.timout: unknown key; did you mean `timeout`?")


# --- llmx config init ------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_a_private_commented_config_that_loads(tmp_path: Path) -> None:
    target = tmp_path / "new" / "llmx" / "config.toml"
    assert write_default_config(target, force=False) == target
    assert _mode(target) == 0o600
    assert _mode(target.parent) == 0o700
    text = target.read_text(encoding="utf-8")
    assert text.startswith("#") and "api_key_env" in text
    config = load_config(tomllib.loads(text), target)
    for name in config.names:
        resolve_profile(config, name)
    assert len(config.names) > 1
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = _write(tmp_path / "llmx.toml", "# mine\n")
    with pytest.raises(ConfigError) as caught:
        write_default_config(target, force=False)
    assert "--force" in (caught.value.hint or "")
    assert target.read_text() == "# mine\n"


def test_init_with_force_replaces_and_tightens_mode(tmp_path: Path) -> None:
    target = _write(tmp_path / "llmx.toml", "# mine\n")
    target.chmod(0o644)
    write_default_config(target, force=True)
    assert target.read_text() != "# mine\n"
    assert _mode(target) == 0o600


def test_init_does_not_change_an_existing_parent_dir(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    write_default_config(tmp_path / "llmx.toml", force=False)
    assert _mode(tmp_path) == 0o755


def test_init_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="directory"):
        write_default_config(tmp_path, force=True)


# --- llmx.toml.example -----------------------------------------------------------------------


def test_example_file_loads_and_every_profile_resolves() -> None:
    config = load_config(read_config_file(EXAMPLE), EXAMPLE)
    profiles = {name: resolve_profile(config, name) for name in config.names}
    assert config.default_profile in profiles
    assert {"development", "production", "high-load", "sim"} <= profiles.keys()
    assert {p.provider for p in profiles.values()} == {"openai", "anthropic", "ollama", "azure"}


def test_example_carries_the_seed_recommendations() -> None:
    config = load_config(read_config_file(EXAMPLE), EXAMPLE)
    dev, prod, high = (resolve_profile(config, n) for n in ("development", "production",
                                                              "high-load"))
    assert (dev.cache.max_entries, dev.http.max_connections, dev.batch.max_batch_size) == (
        500, 5, 5)
    assert dev.compression.mode == "conservative" and not dev.http.http2
    assert (prod.cache.max_entries, prod.http.max_connections, prod.batch.max_batch_size) == (
        2000, 20, 20)
    assert prod.compression.mode == "aggressive" and prod.http.http2 and prod.cache.semantic
    assert (high.cache.max_entries, high.http.max_connections, high.batch.concurrency) == (
        5000, 50, 50)
    assert high.http.http2 and high.compression.mode == "aggressive"
