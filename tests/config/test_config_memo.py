"""The remembered parse of a config file (``llmx.config.memo``): the same document as a fresh
parse, used only while the file is unchanged, and never a reason to fail or to warn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from llmx.config import memo
from llmx.config.files import load, read_config_file

TOML = ('default_profile = "p"\n[profiles.p]\nprovider = "openai"\nmodel = "m"\n'
        'temperature = 0.25\nretries = 3\n[profiles.p.cache]\nttl = { chat = "1h" }\n'
        'max_entries = 12\nsemantic = false\n')


class Reader:
    """``read_config_file``, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path: Path) -> dict[str, Any]:
        self.calls += 1
        return read_config_file(path)


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo, "SETTLE_S", 0.0)


@pytest.fixture(autouse=True)
def nothing_held() -> None:
    memo._held.clear()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def parse(config: Path, state: Path, read: Any) -> dict[str, Any]:
    """One command's parse, as ``llmx ask`` makes it: then ``keep`` (its answer was out)."""
    found = memo.parsed(config, state, read)
    memo.keep()
    return found


def test_a_settled_file_is_parsed_once(tmp_path: Path, settled: None) -> None:
    config, state, read = write(tmp_path / "llmx.toml", TOML), tmp_path / "state", Reader()
    first = parse(config, state, read)
    again = parse(config, state, read)
    assert read.calls == 1 and again == first == read_config_file(config)
    assert [type(v) for v in again["profiles"]["p"].values()] == [str, str, float, int, dict]
    (saved,) = (state / memo.MEMO_DIR).iterdir()
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    assert oct((state / memo.MEMO_DIR).stat().st_mode & 0o777) == "0o700"


def test_a_changed_file_is_parsed_again_even_with_its_old_size_and_time(
        tmp_path: Path, settled: None) -> None:
    config, state, read = write(tmp_path / "llmx.toml", TOML), tmp_path / "state", Reader()
    parse(config, state, read)
    before = config.stat()
    write(config, TOML.replace("retries = 3", "retries = 4"))  # same size
    os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))  # same mtime: ctime moves
    assert parse(config, state, read)["profiles"]["p"]["retries"] == 4
    assert read.calls == 2


def test_a_file_written_a_moment_ago_is_not_remembered(tmp_path: Path) -> None:
    config, state, read = write(tmp_path / "llmx.toml", TOML), tmp_path / "state", Reader()
    assert parse(config, state, read) == parse(config, state, read)
    assert read.calls == 2 and not (state / memo.MEMO_DIR).exists()


def test_a_document_json_cannot_hold_is_parsed_every_time(tmp_path: Path, settled: None
                                                          ) -> None:
    config = write(tmp_path / "llmx.toml", 'when = 1979-05-27T07:32:00Z\n')
    state, read = tmp_path / "state", Reader()
    first = parse(config, state, read)
    assert parse(config, state, read) == first and read.calls == 2
    assert first["when"].year == 1979


def test_a_damaged_or_foreign_memo_is_ignored(tmp_path: Path, settled: None) -> None:
    config, state, read = write(tmp_path / "llmx.toml", TOML), tmp_path / "state", Reader()
    parse(config, state, read)
    (saved,) = (state / memo.MEMO_DIR).iterdir()
    for junk in (b"{not json", b"[]", b'{"v": 1, "path": "/elsewhere", "id": [], "data": {}}'):
        saved.write_bytes(junk)
        assert parse(config, state, read) == read_config_file(config)
    assert read.calls == 4


def test_a_state_directory_that_cannot_be_written_costs_nothing_but_a_parse(
        tmp_path: Path, settled: None) -> None:
    config, read = write(tmp_path / "llmx.toml", TOML), Reader()
    blocked = write(tmp_path / "state", "a file where the state directory would be")
    assert parse(config, blocked, read) == read_config_file(config)
    assert parse(config, blocked, read) == read_config_file(config)
    assert read.calls == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["llmx.toml",
                                                                              "state"]


def test_errors_are_the_parsers_own(tmp_path: Path, settled: None) -> None:
    from llmx.errors import ConfigError

    state = tmp_path / "state"
    bad = write(tmp_path / "bad.toml", "x = [\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"bad\.toml:"):
            parse(bad, state, read_config_file)
    with pytest.raises(ConfigError, match="not found"):
        parse(tmp_path / "missing.toml", state, read_config_file)
    assert not (state / memo.MEMO_DIR).exists()


def test_a_parse_is_written_only_when_kept(tmp_path: Path, settled: None) -> None:
    config, state, read = write(tmp_path / "llmx.toml", TOML), tmp_path / "state", Reader()
    memo.parsed(config, state, read)
    memo.parsed(config, state, read)
    assert read.calls == 2 and not state.exists()  # a command that fails writes nothing
    memo.keep()
    assert parse(config, state, read) and read.calls == 2


def test_load_resolves_the_same_config_from_the_memo(tmp_path: Path, settled: None) -> None:
    config = write(tmp_path / "llmx.toml", TOML)
    env = {"LLMX_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    fresh = load(str(config), env, tmp_path)
    memo.keep()
    assert (tmp_path / "state" / memo.MEMO_DIR).is_dir()
    remembered = load(str(config), env, tmp_path)
    assert remembered.profiles == fresh.profiles and remembered.source == fresh.source
    assert remembered.profiles["p"].cache.ttl["chat"] == 3600.0
