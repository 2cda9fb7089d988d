"""Answers before state (issue 9, item 2): a read-only, full or damaged ``$LLMX_HOME``.

Every answer is still delivered (stdout, the batch output file), the exit code is 0, and the
trouble costs one ``warning:`` line on stderr. Read-only and full directories are real mounts
(a tmpfs, remounted read-only or filled up): root ignores file modes. Skipped where mounting
is not permitted.

The commands run in-process (``cli`` is ``cli_here`` in this module): the mounts are real,
and what is checked is what llmx does with them, not how a process starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cli, InProcessCli, Sim, http_get, profile_toml


@pytest.fixture
def cli(cli_here: InProcessCli) -> Cli:
    return cli_here


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def tmpfs(directory: Path, size: str = "2m") -> Iterator[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    try:
        mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(directory))
    except (subprocess.CalledProcessError, FileNotFoundError, PermissionError):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield directory
    finally:
        done = subprocess.run(["umount", str(directory)], capture_output=True, timeout=30)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(directory)], capture_output=True, timeout=30)


def read_only(directory: Path) -> None:
    mount("-o", "remount,ro", str(directory))


def fill(directory: Path) -> None:
    """Write until the file system is full (to the last block: SQLite gets nothing)."""
    for name, block in (("filler", 65536), ("filler-2", 512), ("filler-3", 1)):
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * block):
                    pass
        finally:
            os.close(fd)


def requests(sim: Sim) -> int:
    return int(http_get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def state(cli: Cli) -> Path:
    return Path(cli.env["LLMX_HOME"])


def ask(cli: Cli, prompt: str, *flags: str) -> subprocess.CompletedProcess[bytes]:
    return cli.run("ask", "--no-stdin", *flags, prompt)


def warnings_of(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    lines = result.stderr.decode().splitlines()
    assert not any("Traceback" in line or line.startswith("error:") for line in lines), lines
    return [line for line in lines if line.startswith("warning:")]


def answered(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    assert text.strip()
    return text


# -- llmx ask -----------------------------------------------------------------------------------

# diskcache's public API cannot open a database it may not write (its open rewrites its
# settings): on a read-only or full disk a cached answer is asked again (llmx.cache.store).


def test_ask_on_a_read_only_home_answers_every_ask(cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    with tmpfs(state(cli)):
        first = answered(ask(cli, "read-only hit"))
        read_only(state(cli))
        before = requests(sim)
        hit = ask(cli, "read-only hit")
        assert answered(hit) == first and requests(sim) == before + 1  # asked again
        (warning,) = warnings_of(hit)
        assert "read-only" in warning.lower() or "readonly" in warning.lower()
        miss = ask(cli, "read-only miss")
        answered(miss)
        assert requests(sim) == before + 2
        (warning,) = warnings_of(miss)
        assert "read-only" in warning.lower() or "readonly" in warning.lower()


def test_ask_on_a_read_only_home_that_holds_nothing_yet(cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    with tmpfs(state(cli)):
        read_only(state(cli))
        result = ask(cli, "nothing here yet")
        answered(result)
        assert len(warnings_of(result)) == 1
        assert list(state(cli).iterdir()) == []


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "whole"])
def test_ask_on_a_full_disk_answers_every_ask(streamed: bool, cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    flags = () if streamed else ("--no-stream",)
    with tmpfs(state(cli), "1m"):
        first = answered(ask(cli, "full-disk hit", *flags))
        fill(state(cli))
        before = requests(sim)
        hit = ask(cli, "full-disk hit", *flags)
        assert answered(hit) == first and requests(sim) == before + 1  # asked again
        assert len(warnings_of(hit)) == 1
        miss = ask(cli, "full-disk miss", *flags)
        answered(miss)
        assert requests(sim) == before + 2
        assert len(warnings_of(miss)) == 1
        json_out = ask(cli, "full-disk json", "--json")
        assert json.loads(answered(json_out))["text"]
        squeezed = ask(cli, "full-disk   compressed   prompt", "--compress", "aggressive")
        answered(squeezed)  # the tokenizer cache cannot be written either: still answered
        assert len(warnings_of(squeezed)) == 1
        assert not [p for p in state(cli).rglob("*.tmp")]  # no temp file left behind


# -- llmx batch ---------------------------------------------------------------------------------

def run_batch(cli: Cli, count: int, tag: str) -> tuple[subprocess.CompletedProcess[bytes],
                                                        list[dict[str, Any]]]:
    source, out = cli.home / f"{tag}.jsonl", cli.home / f"{tag}-out.jsonl"
    source.write_text("".join(json.dumps({"id": f"{tag}{i}", "prompt": f"{tag} {i % 7}"}) + "\n"
                              for i in range(count)))
    result = cli.run("batch", str(source), "-o", str(out), "-j", "8")
    lines = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return result, lines


@pytest.mark.parametrize("trouble", ["read-only", "full"])
def test_batch_delivers_every_answer_whatever_the_state_dir(trouble: str, cli: Cli,
                                                            sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    with tmpfs(state(cli), "1m"):
        answered(ask(cli, "warm the state dir up"))
        if trouble == "read-only":
            read_only(state(cli))
        else:
            fill(state(cli))
        result, lines = run_batch(cli, 40, trouble.replace("-", ""))
    assert result.returncode == 0, result.stderr.decode()
    assert [line["id"] for line in lines] == [f"{trouble.replace('-', '')}{i}" for i in range(40)]
    assert all(line.get("text") and "error" not in line for line in lines)
    assert len(warnings_of(result)) == 1


# -- damaged state ------------------------------------------------------------------------------

def test_a_damaged_response_database_is_moved_aside_with_one_warning(cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    answered(ask(cli, "before the damage"))
    db = state(cli) / "cache" / "responses" / "cache.db"
    for side in (db.with_name("cache.db-wal"), db.with_name("cache.db-shm")):
        side.unlink(missing_ok=True)
    db.write_bytes(os.urandom(64 * 1024))
    before = requests(sim)
    result = ask(cli, "after the damage")
    answered(result)
    (warning,) = warnings_of(result)
    assert "damaged" in warning and "corrupt-" in warning
    assert len(list(db.parent.glob("cache.db.corrupt-*"))) >= 1
    again = ask(cli, "after the damage")  # the fresh database holds it
    answered(again)
    assert warnings_of(again) == [] and requests(sim) == before + 1


def test_a_damaged_semantic_index_no_longer_fails_every_ask(cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    answered(ask(cli, "what is the capital of France"))
    cache = state(cli) / "cache"
    vectors = cache / "vectors" / "cache.db"
    assert vectors.is_file()
    for side in (vectors.with_name("cache.db-wal"), vectors.with_name("cache.db-shm")):
        side.unlink(missing_ok=True)
    vectors.write_bytes(b"not a database" * 1000)
    for snapshot in (cache / "snapshots").glob("*.npz") if (cache / "snapshots").is_dir() else ():
        snapshot.write_bytes(b"PK\x03\x04 cut")
    result = ask(cli, "what is the capital city of France")
    answered(result)
    assert len(warnings_of(result)) == 1
    follow = ask(cli, "tell me the capital of Germany")
    answered(follow)
    assert warnings_of(follow) == []
