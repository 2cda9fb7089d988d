"""The logs database: spooled lines moved in whole and once, the schema, damage, secrets."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from llmx.errors import register_secret
from llmx.logs import DB_NAME, DRAIN_BYTES, SPOOL_NAME, append, cleaned, to_line
from llmx.logs_db import open_logs
from llmx.state import StateUnavailable
from tests.logs.kit import entry, everything, opened


def test_an_entry_comes_back_whole_and_the_spool_is_emptied(tmp_path: Path) -> None:
    home = tmp_path / "state"
    first = entry(system="be brief", reasoning="thinking", attachments=(("a.png", "ab" * 32),),
                  cost=0.25, finish_reason="stop", tool_calls='[{"name": "f"}]')
    append(first, home)
    append(entry(prompt="second", ts=first.ts + 1), home)
    assert (home / SPOOL_NAME).stat().st_size > 0
    found = everything(home)
    assert found[0] == first and [e.prompt for e in found] == ["my name is Ann", "second"]
    assert (home / SPOOL_NAME).stat().st_size == 0
    assert everything(home) == found  # read again: nothing doubled


def test_reading_before_anything_was_logged_creates_nothing(tmp_path: Path) -> None:
    assert open_logs(tmp_path / "state") is None
    assert not (tmp_path / "state").exists()


def test_a_line_drained_twice_is_kept_once(tmp_path: Path) -> None:
    home = tmp_path / "state"
    one = entry()
    append(one, home)
    assert len(everything(home)) == 1
    with open(home / SPOOL_NAME, "ab") as spool:  # a drainer died after its commit
        spool.write(to_line(cleaned(one)))
    assert everything(home) == [one]


def test_lines_that_are_not_entries_are_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    home = tmp_path / "state"
    append(entry(prompt="before"), home)
    good = json.loads(to_line(entry(prompt="typed wrong")))
    bad_lines = [b"not json", b"[1, 2]", json.dumps({**good, "v": 2}).encode(),
                 json.dumps({**good, "prompt": {"a": 1}}).encode(),
                 json.dumps({**good, "input_tokens": True}).encode(),
                 json.dumps({k: v for k, v in good.items() if k != "answer"}).encode()]
    with open(home / SPOOL_NAME, "ab") as spool:
        spool.write(b"\n".join(bad_lines) + b"\n")
    append(entry(prompt="after"), home)
    assert [e.prompt for e in everything(home)] == ["before", "after"]


def test_a_writer_drains_a_spool_grown_past_its_limit(tmp_path: Path) -> None:
    home = tmp_path / "state"
    big = "x" * (DRAIN_BYTES // 4)
    for _ in range(5):
        append(entry(answer=big), home)
    assert (home / SPOOL_NAME).stat().st_size < DRAIN_BYTES
    connection = sqlite3.connect(home / DB_NAME)
    try:
        assert connection.execute("SELECT count(*) FROM logs").fetchone()[0] >= 4
    finally:
        connection.close()
    assert len(everything(home)) == 5


def test_every_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "state"
    old = os.umask(0)
    try:
        append(entry(), home)
        connection = opened(home)
        try:
            connection.execute("SELECT count(*) FROM logs").fetchone()  # -wal, -shm exist now
            names = sorted(path.name for path in home.iterdir())
            assert names == [DB_NAME, DB_NAME + "-shm", DB_NAME + "-wal", SPOOL_NAME]
            modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in home.iterdir()}
        finally:
            connection.close()
    finally:
        os.umask(old)
    assert set(modes.values()) == {0o600}, modes
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_files_opened_to_others_are_tightened(tmp_path: Path) -> None:
    home = tmp_path / "state"
    append(entry(), home)
    everything(home)
    for name in (DB_NAME, SPOOL_NAME):
        os.chmod(home / name, 0o644)
    append(entry(), home)
    everything(home)
    assert {stat.S_IMODE((home / n).stat().st_mode) for n in (DB_NAME, SPOOL_NAME)} == {0o600}


def test_a_damaged_database_is_a_state_error_and_the_spool_keeps_its_lines(
        tmp_path: Path) -> None:
    home = tmp_path / "state"
    append(entry(), home)
    (home / DB_NAME).write_bytes(b"this is not an SQLite database, not at all" * 100)
    with pytest.raises(StateUnavailable, match="logs database"):
        open_logs(home)
    assert b"my name is Ann" in (home / SPOOL_NAME).read_bytes()
    (home / DB_NAME).unlink()
    assert [e.prompt for e in everything(home)] == ["my name is Ann"]


def test_a_database_from_a_newer_llmx_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "state"
    append(entry(), home)
    everything(home)
    connection = sqlite3.connect(home / DB_NAME)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(StateUnavailable, match="newer llmx"):
        open_logs(home)


def test_secrets_never_reach_the_files(tmp_path: Path) -> None:
    home = tmp_path / "state"
    secret = "sekrit-registered-9c1e5d7f3a"
    register_secret(secret)
    shaped = "sk-" + "A1b2C3d4E5f6G7h8J9k0"
    append(entry(prompt=f"my key is {secret}", answer=f"echo {shaped}", system=secret,
                 reasoning=f"Bearer {secret}1", tool_calls=json.dumps([secret]),
                 attachments=((secret, "00"),)), home)
    found = everything(home)[0]
    for path in home.iterdir():
        data = path.read_bytes()
        assert secret.encode() not in data and shaped.encode() not in data, path
    assert found.prompt.startswith("my key is ") and secret not in found.prompt


def test_undecodable_text_is_stored(tmp_path: Path) -> None:
    home = tmp_path / "state"
    append(entry(prompt="bad \udcff byte", answer="ok"), home)
    assert everything(home)[0].prompt == "bad ? byte"


def test_a_turn_logs_its_images_and_files_as_names_and_hashes(tmp_path: Path) -> None:
    import hashlib

    from llmx.cache.types import Policy
    from llmx.config.profile import builtin_config
    from llmx.logs_turn import Turn, keep
    from llmx.plan import Call, Plan, Prepared
    from llmx.state import Once
    from llmx.types import Completion, Message, Request

    home = tmp_path / "state"
    message = Message("user", "look")
    images = ()
    if "images" in Message._fields:  # the attachment contract (llmx.types.Image)
        from llmx.types import Image  # type: ignore[attr-defined]

        images = (Image("image/png", b"\x89PNG pixels", "cat.png"),)
        message = message._replace(images=images)
    plan = Plan(Prepared(Request(model="sim-1", messages=(message,))), "key", Call(), None,
                Policy(read=True, write=True))
    said: list[str] = []
    keep(Turn("c0ffee000009", (), True, home), "look", plan,
         Completion("a cat", "sim-1", "openai"), builtin_config().profiles["sim"],
         Once(said.append), files=(("notes.txt", b"some notes"),))
    (row,) = everything(home)
    expected = [("notes.txt", hashlib.sha256(b"some notes").hexdigest())]
    expected += [(image.name, hashlib.sha256(image.data).hexdigest()) for image in images]
    assert list(row.attachments) == expected and said == []
    assert all(b"pixels" not in path.read_bytes() for path in home.iterdir())
