"""`llmx batch` output as a transaction: a refused command touches nothing, a resumed run
keeps every answer, a full disk or a killed process never leaves a half line or loses one.

A real simulator over loopback (`llmx sim` in its own process); `llmx batch` in-process,
except where a signal, a kill or a redirected descriptor is the point (`python -m llmx`)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmx.errors import ExitCode
from tests.integration.conftest import LLMX, Cli, InProcessCli, Sim, profile_toml
from tests.integration.test_batch_cli import read_lines, sim_stats, wait_for_lines, write_jobs


@pytest.fixture
def cli(cli_here: InProcessCli) -> Cli:
    """``cli.run`` is in-process here (the CLI harness); the tests that signal, kill or
    redirect a descriptor start their own ``python -m llmx`` with ``cli.env``."""
    return cli_here

OLD_ANSWERS = b'{"id":"old","text":"paid for","usage":null,"cached":false}\n'


def error_lines(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    text = result.stderr.decode()
    assert "Traceback" not in text
    return [line for line in text.splitlines() if line.startswith("error:")]


def assert_refused(result: subprocess.CompletedProcess[bytes], *words: str) -> None:
    assert result.returncode == ExitCode.USAGE, result.stderr
    [line] = error_lines(result)
    assert all(word in line for word in words), line


# -- resume after cleanup ---------------------------------------------------------------------


def test_resume_after_cleanup_keeps_every_new_answer(cli: Cli, sim: Sim) -> None:
    """The old file needs cleanup (an error line, a duplicate, garbage, a torn last line):
    the new answers used to go to the deleted file (exit 0, lines lost)."""
    cli.write_config(profile_toml(sim.url))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, [f"cleanup question {i}" for i in range(20)])
    good = [json.dumps({"id": f"q{i}", "text": f"kept {i}", "usage": None, "cached": False})
            for i in range(5)]
    out.write_text("\n".join([good[0], '{"id":"q5","error":{"type":"X","message":"m"}}',
                              good[1], good[0], "garbage", *good[2:], '{"id":"q9","te']))
    result = cli.run("batch", str(source), "-o", str(out), "--resume")
    assert result.returncode == 0, result.stderr
    lines = read_lines(out)
    assert Counter(line["id"] for line in lines) == Counter(f"q{i}" for i in range(20))
    assert [line["text"] for line in lines[:5]] == [f"kept {i}" for i in range(5)]
    assert all("error" not in line for line in lines)


def test_exit_7_then_resume_loses_nothing(cli: Cli, sim: Sim) -> None:
    """The documented workflow: some lines fail (exit 7), --resume runs them again."""
    cli.write_config(profile_toml(sim.url))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    rows = [json.dumps({"id": f"q{i}", "prompt": f"workflow question {i}"}) for i in range(200)]
    bad = {i: json.dumps({"id": f"q{i}", "prompt": "x", "params": {"bogus": 1}})
           for i in range(0, 200, 4)}
    source.write_text("\n".join(bad.get(i, row) for i, row in enumerate(rows)) + "\n")
    assert cli.run("batch", str(source), "-o", str(out)).returncode == ExitCode.PARTIAL
    write_jobs(source, [f"workflow question {i}" for i in range(200)])  # the lines are fixed
    result = cli.run("batch", str(source), "-o", str(out), "--resume")
    assert result.returncode == 0, result.stderr
    lines = read_lines(out)
    assert Counter(line["id"] for line in lines) == Counter(f"q{i}" for i in range(200))
    assert all(isinstance(line.get("text"), str) for line in lines)


# -- the output is never the input ------------------------------------------------------------


def _same_file_ways(tmp: Path, source: Path) -> Iterator[str]:
    yield str(source)
    yield str(tmp / "." / source.name)
    (tmp / "link.jsonl").symlink_to(source)
    yield str(tmp / "link.jsonl")
    os.link(source, tmp / "hard.jsonl")
    yield str(tmp / "hard.jsonl")


def test_output_equal_to_the_input_is_refused(cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    source = cli.home / "in.jsonl"
    write_jobs(source, [f"same file question {i}" for i in range(5)])
    before = source.read_bytes()
    for target in _same_file_ways(cli.home, source):
        for extra in ((), ("--resume",)):
            result = cli.run("batch", str(source), "-o", target, *extra)
            assert_refused(result, "input")
            assert source.read_bytes() == before
    with source.open("rb") as stdin:  # `llmx batch - -o in.jsonl < in.jsonl`
        proc = subprocess.run([*LLMX, "batch", "-", "-o", str(source)], stdin=stdin,
                              capture_output=True, env=cli.env, cwd=cli.home, timeout=60)
    assert_refused(proc, "input")
    assert source.read_bytes() == before
    with source.open("ab") as stdout:  # `llmx batch in.jsonl >> in.jsonl`: would read itself
        proc = subprocess.run([*LLMX, "batch", str(source)], stdout=stdout,
                              stderr=subprocess.PIPE, env=cli.env, cwd=cli.home, timeout=60)
    assert_refused(proc, "input")
    assert source.read_bytes() == before


# -- a refused command touches nothing --------------------------------------------------------


def _unreadable(home: Path) -> str:
    """An input that exists but cannot be opened, even by root: a unix socket."""
    path = home / "in.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return str(path)


REFUSALS: list[tuple[str, Callable[[Path], list[str]], str]] = [
    ("missing input", lambda h: [str(h / "typo.jsonl")], "typo.jsonl"),
    ("directory input", lambda h: [str(h)], "directory"),
    ("unreadable input", lambda h: [_unreadable(h)], "in.sock"),
    ("negative rpm", lambda h: [str(h / "in.jsonl"), "--rpm", "-1"], "--rpm"),
    ("negative tpm", lambda h: [str(h / "in.jsonl"), "--tpm", "-1"], "--tpm"),
    ("zero concurrency", lambda h: [str(h / "in.jsonl"), "-j", "0"], "-j"),
    ("huge concurrency", lambda h: [str(h / "in.jsonl"), "-j", "10001"], "-j"),
    ("negative line retries", lambda h: [str(h / "in.jsonl"), "--line-retries", "-1"],
     "--line-retries"),
    ("huge line retries", lambda h: [str(h / "in.jsonl"), "--line-retries", "1000000"],
     "--line-retries"),
    ("nan grace", lambda h: [str(h / "in.jsonl"), "--grace", "nan"], "--grace"),
    ("negative grace", lambda h: [str(h / "in.jsonl"), "--grace", "-1"], "--grace"),
    ("summary into a missing dir", lambda h: [str(h / "in.jsonl"), "--summary-json",
                                              str(h / "nowhere" / "s.json")], "nowhere"),
    ("summary is the output", lambda h: [str(h / "in.jsonl"), "--summary-json",
                                         str(h / "out.jsonl")], "out.jsonl"),
    ("output into a missing dir", lambda h: [str(h / "in.jsonl"), "-o",
                                             str(h / "nowhere" / "out.jsonl")], "nowhere"),
    ("output is a directory", lambda h: [str(h / "in.jsonl"), "-o", str(h)], "directory"),
    ("resume to stdout", lambda h: [str(h / "in.jsonl"), "--resume"], "--resume"),
]


@pytest.mark.parametrize(("case", "args", "word"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_command_touches_nothing_and_sends_nothing(
        cli: Cli, sim_factory: Callable[..., Sim], case: str, args: Callable[[Path], list[str]],
        word: str) -> None:
    server = sim_factory()
    cli.write_config(profile_toml(server.url))
    write_jobs(cli.home / "in.jsonl", [f"refused question {i}" for i in range(5)])
    out = cli.home / "out.jsonl"
    out.write_bytes(OLD_ANSWERS)
    argv = args(cli.home)
    if "-o" not in argv and case != "resume to stdout":
        argv += ["-o", str(out)]
    result = cli.run("batch", *argv)
    assert_refused(result, word)
    assert out.read_bytes() == OLD_ANSWERS
    assert sorted(p.name for p in cli.home.iterdir() if p.name.startswith(".")) == []
    assert sim_stats(server)["requests"] == 0


# -- full disk, read-only directory -----------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (root only; skipped where mounting is not permitted)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


FULL_LINES = 1200  # ~400 bytes an output line: twice what the 256 KiB disk holds


def assert_whole_lines(data: bytes) -> list[dict[str, Any]]:
    assert data == b"" or data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


def test_a_full_disk_keeps_every_whole_line_and_exits_8(
        cli: Cli, sim: Sim, small_disk: Path) -> None:
    cli.write_config(profile_toml(sim.url))
    source, out = cli.home / "in.jsonl", small_disk / "out.jsonl"
    write_jobs(source, [f"full disk question {i}" for i in range(FULL_LINES)])
    result = cli.run("batch", str(source), "-o", str(out), "-j", "32")
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    [line] = error_lines(result)
    assert "No space left" in line
    lines = assert_whole_lines(out.read_bytes())
    assert 0 < len(lines) < FULL_LINES
    assert [x["id"] for x in lines] == [f"q{i}" for i in range(len(lines))]
    assert [p.name for p in small_disk.iterdir()] == ["out.jsonl"]
    first = read_lines(out)
    # Free the space (another file took it): --resume keeps the lines and finishes the rest.
    moved = cli.home / "out.jsonl"
    moved.write_bytes(out.read_bytes())
    resumed = cli.run("batch", str(source), "-o", str(moved), "--resume", "-j", "32")
    assert resumed.returncode == 0, resumed.stderr
    final = read_lines(moved)
    assert final[:len(first)] == first
    assert Counter(x["id"] for x in final) == Counter(f"q{i}" for i in range(FULL_LINES))


def test_resume_on_a_full_disk_keeps_the_old_file(cli: Cli, sim: Sim, small_disk: Path) -> None:
    cli.write_config(profile_toml(sim.url))
    source, out = cli.home / "in.jsonl", small_disk / "out.jsonl"
    write_jobs(source, [f"resume full question {i}" for i in range(FULL_LINES)])
    assert cli.run("batch", str(source), "-o", str(out)).returncode == ExitCode.OUTPUT
    before = out.read_bytes()
    result = cli.run("batch", str(source), "-o", str(out), "--resume")
    assert result.returncode not in (0, ExitCode.INTERNAL), result.stderr
    assert len(error_lines(result)) == 1
    data = out.read_bytes()
    assert data.startswith(before)
    assert_whole_lines(data)


def test_a_read_only_output_directory_is_refused_before_sending(
        cli: Cli, sim_factory: Callable[..., Sim], small_disk: Path) -> None:
    server = sim_factory()
    cli.write_config(profile_toml(server.url))
    source, out = cli.home / "in.jsonl", small_disk / "out.jsonl"
    write_jobs(source, [f"read-only question {i}" for i in range(10)])
    out.write_bytes(OLD_ANSWERS)
    done = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only: {done.stderr.decode().strip()}")
    for extra in ((), ("--resume",)):
        result = cli.run("batch", str(source), "-o", str(out), *extra)
        assert_refused(result, "Read-only")
        assert out.read_bytes() == OLD_ANSWERS
    summary = cli.run("batch", str(source), "--summary-json", str(small_disk / "s.json"))
    assert_refused(summary, "Read-only")
    assert sim_stats(server)["requests"] == 0


@pytest.mark.parametrize("how", ["-o", "stdout"])
def test_a_full_device_is_a_clean_error(cli: Cli, sim: Sim, how: str) -> None:
    cli.write_config(profile_toml(sim.url))
    source = cli.home / "in.jsonl"
    write_jobs(source, [f"dev full question {i}" for i in range(10)])
    if how == "-o":
        result = cli.run("batch", str(source), "-o", "/dev/full")
    else:
        with open("/dev/full", "wb") as full:
            result = subprocess.run([*LLMX, "batch", str(source)], stdout=full,
                                    stderr=subprocess.PIPE, env=cli.env, cwd=cli.home,
                                    timeout=60)
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    [line] = error_lines(result)
    assert "No space left" in line


# -- SIGKILL at random moments, then --resume -------------------------------------------------

KILL_LINES = 2000
KILL_ROUNDS = 20
KILL_J = 50


def _lines_of(path: Path, *, torn_tail_ok: bool) -> list[bytes]:
    """The whole lines of ``path`` (none if it is missing); each must be valid JSON, except
    a last line without its newline where ``torn_tail_ok`` (a killed run's partial file)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    tail = lines.pop()
    assert torn_tail_ok or tail == b"", f"{path.name} ends in a half line: {tail[:60]!r}"
    for line in lines:
        json.loads(line)
    return [line + b"\n" for line in lines]


def _answered(lines: list[bytes]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for line in lines:
        obj = json.loads(line)
        if isinstance(obj.get("text"), str):
            found.setdefault(obj["id"], line)
    return found


def _kill_at_a_random_moment(proc: subprocess.Popen[bytes], partial: Path,
                             rng: random.Random) -> bool:
    """SIGKILL after a random delay or a random number of new lines; False if it ended first.

    A delay's kill comes at the latest once 150 new lines are written (the most the other
    way waits for): on a fast machine a long delay would otherwise let one round finish the
    whole file, and the later rounds would have nothing left to kill."""
    start = time.monotonic()
    delay = rng.uniform(0.05, 1.2)
    lines_before = partial.read_bytes().count(b"\n") if partial.exists() else 0
    by_lines = rng.random() < 0.5
    more = rng.randint(1, 150) if by_lines else 150
    while proc.poll() is None:
        if not by_lines and time.monotonic() - start >= delay:
            break
        if partial.exists():
            with contextlib.suppress(FileNotFoundError):
                if partial.read_bytes().count(b"\n") >= lines_before + more:
                    break
        time.sleep(0.002)
    if proc.poll() is not None:
        return False
    proc.kill()
    proc.wait(timeout=30)
    return True


def test_sigkill_at_random_moments_then_resume_loses_nothing_and_resends_nothing(
        cli: Cli, sim_factory: Callable[..., Sim]) -> None:
    """20 SIGKILLs of a real `llmx batch` of 2,000 lines (cache on, -j 50, 5 ms latency), each
    followed by a --resume run, then one --resume to completion.

    After every kill: the target file holds whole JSONL lines only, and every answered line
    ever seen on disk (target or partial) is still there byte for byte at the end (so no
    answer was lost, and none was sent again and rewritten). At the end: every id exactly
    once. Upstream, every prompt was sent at least once, and the re-sends are bounded by
    the requests that can be in flight at a kill: at most -j (50) per kill. That bound is
    strict for the design: an answer the provider completed is cached before its line is
    written, so only a request still in flight (not yet answered and cached) is paid twice;
    a resume that re-ran answered lines, or a lost partial file, would re-send hundreds."""
    server = sim_factory("--latency-ms", "5")
    cli.write_config(profile_toml(server.url))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    partial = cli.home / ".out.jsonl.llmx-partial"
    write_jobs(source, [f"kill question {i}" for i in range(KILL_LINES)])
    seed = int(os.environ.get("LLMX_KILL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    seen: dict[str, bytes] = {}
    kills = 0
    for round_no in range(KILL_ROUNDS):
        argv = [*LLMX, "batch", str(source), "-o", str(out), "-j", str(KILL_J)]
        proc = subprocess.Popen(argv + (["--resume"] if round_no else []),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=cli.env, cwd=cli.home)
        kills += _kill_at_a_random_moment(proc, partial, rng)
        on_disk = {**_answered(_lines_of(partial, torn_tail_ok=True)),
                   **_answered(_lines_of(out, torn_tail_ok=False))}
        for line_id, line in on_disk.items():
            assert seen.setdefault(line_id, line) == line, (seed, round_no, line_id)
    final = cli.run("batch", str(source), "-o", str(out), "-j", str(KILL_J), "--resume",
                    timeout=120)
    assert final.returncode == 0, (seed, final.stderr)
    lines = _lines_of(out, torn_tail_ok=False)
    ids = Counter(json.loads(line)["id"] for line in lines)
    assert ids == Counter(f"q{i}" for i in range(KILL_LINES)), seed
    assert not partial.exists()
    assert set(seen.values()) <= set(lines), seed  # every answer seen on disk survived as is
    sent = sim_stats(server)["prompts"]
    assert len(sent) == KILL_LINES, seed
    resent = sum(sent.values()) - KILL_LINES
    assert resent <= KILL_J * kills, (seed, resent, kills)
    assert kills >= KILL_ROUNDS // 2, (seed, kills)  # most rounds were really killed
    print(f"seed {seed}: {kills} kills, {len(seen)} lines seen before the end, "
          f"{resent} requests paid twice")


# -- --no-cache and --refresh -----------------------------------------------------------------


def test_no_cache_neither_reads_nor_writes_and_refresh_asks_again_and_stores(
        cli: Cli, sim_factory: Callable[..., Sim]) -> None:
    server = sim_factory()
    cli.write_config(profile_toml(server.url))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, [f"cache flag question {i}" for i in range(6)])

    def run(*flags: str) -> tuple[int, list[Any]]:
        before = sim_stats(server)["requests"]
        result = cli.run("batch", str(source), "-o", str(out), *flags)
        assert result.returncode == 0, result.stderr
        return sim_stats(server)["requests"] - before, [x["cached"] for x in read_lines(out)]

    assert run("--no-cache") == (6, [False] * 6)
    assert run("--no-cache") == (6, [False] * 6)  # nothing was written to the cache
    assert run("--refresh") == (6, [False] * 6)
    assert run() == (0, ["exact"] * 6)  # --refresh stored its answers
    assert run("--no-cache") == (6, [False] * 6)  # a warm cache is not read either
    assert run("--refresh") == (6, [False] * 6)  # asked again although cached
    assert run() == (0, ["exact"] * 6)


@pytest.mark.parametrize("how", ["file", "stdin", "resume"])
def test_an_input_that_fails_to_read_is_a_usage_error_and_keeps_the_output(
        cli: Cli, sim: Sim, how: str) -> None:
    """/proc/self/mem opens but every read at offset 0 fails (EIO)."""
    cli.write_config(profile_toml(sim.url))
    out = cli.home / "out.jsonl"
    out.write_bytes(OLD_ANSWERS)
    with open("/proc/self/mem", "rb") as mem:
        source = "/proc/self/mem" if how == "file" else "-"
        result = subprocess.run([*LLMX, "batch", source, "-o", str(out),
                                 *(["--resume"] if how == "resume" else [])], stdin=mem,
                                capture_output=True, env=cli.env, cwd=cli.home, timeout=60)
    assert result.returncode == ExitCode.USAGE, result.stderr
    [line] = error_lines(result)
    assert "cannot read the input" in line
    assert out.read_bytes() == OLD_ANSWERS
    assert [p.name for p in cli.home.iterdir() if p.name.startswith(".")] == []


def test_sigterm_saves_the_whole_lines_and_exits_130(
        cli: Cli, sim_factory: Callable[..., Sim]) -> None:
    server = sim_factory("--latency-ms", "20")
    cli.write_config(profile_toml(server.url))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, [f"sigterm question {i}" for i in range(2000)])
    out.write_bytes(OLD_ANSWERS)
    proc = subprocess.Popen([*LLMX, "batch", str(source), "-o", str(out), "-j", "20"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=cli.env, cwd=cli.home)
    wait_for_lines(out, 10)
    assert out.read_bytes() == OLD_ANSWERS  # the old output stays until the run ends
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    lines = assert_whole_lines(out.read_bytes())
    assert 10 <= len(lines) < 2000 and all(isinstance(x["text"], str) for x in lines)
    assert not (cli.home / ".out.jsonl.llmx-partial").exists()


def test_provider_batch_resume_sends_only_what_is_missing(
        cli: Cli, sim_factory: Callable[..., Sim]) -> None:
    server = sim_factory()
    cli.write_config(profile_toml(server.url))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, [f"provider resume question {i}" for i in range(6)])
    out.write_text("".join(json.dumps({"id": f"q{i}", "text": "kept"}) + "\n" for i in range(3)))
    result = cli.run("batch", str(source), "-o", str(out), "--provider-batch", "--resume")
    assert result.returncode == 0, result.stderr
    lines = read_lines(out)
    assert [x["id"] for x in lines] == [f"q{i}" for i in range(6)]
    assert [x["text"] for x in lines[:3]] == ["kept"] * 3
    assert sim_stats(server)["batch_requests"] == 3
