"""`llmx batch` end to end for the runner's findings of issue 9: a real simulator
(`llmx sim`) over loopback; llmx in-process, on a terminal as a real process.

- repeats beyond a small cache, and with `cache.mode = "off"`, are sent once per run;
- the summary's `retries` counts every request sent again (the engine's HTTP retries too);
- on a terminal the progress shows done/total, a percentage and an ETA for a file input.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import LLMX, Cli, InProcessCli, Sim, http_get, profile_toml


@pytest.fixture
def cli(cli_here: InProcessCli) -> Cli:
    """``cli.run`` is in-process here (the CLI harness); the tests that signal, kill or
    redirect a descriptor start their own ``python -m llmx`` with ``cli.env``."""
    return cli_here

Sims = Callable[..., Sim]


def requests(server: Sim) -> int:
    count: int = http_get(f"{server.url}/sim/stats", timeout=10).json()["requests"]
    return count


def write_jobs(path: Path, prompts: list[str]) -> None:
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": p}) + "\n"
                            for i, p in enumerate(prompts)))


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def distinct_then_repeats(distinct: int, repeats: int) -> list[str]:
    """Repeats of the earliest prompts at the end: long answered (and, in a cache smaller
    than the batch, long evicted) when they are read."""
    return ([f"runner question {i}" for i in range(distinct)]
            + [f"runner question {i}" for i in range(repeats)])


def check_repeats(lines: list[dict[str, Any]], distinct: int, repeats: int) -> None:
    assert [line["id"] for line in lines] == [f"q{i}" for i in range(distinct + repeats)]
    for i in range(repeats):
        repeat, first = lines[distinct + i], lines[i]
        assert repeat["text"] == first["text"] and repeat["attempts"] == 0


def test_repeats_beyond_a_small_cache_are_sent_once(cli: Cli, sim_factory: Sims) -> None:
    server = sim_factory()
    cli.write_config(profile_toml(server.url) + "[profiles.local.cache]\nmax_entries = 20\n")
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, distinct_then_repeats(120, 30))
    before = requests(server)
    result = cli.run("batch", str(source), "-o", str(out), "-j", "4")
    assert result.returncode == 0, result.stderr
    assert requests(server) - before == 120
    check_repeats(read_lines(out), 120, 30)


def test_repeats_with_the_cache_off_are_sent_once(cli: Cli, sim_factory: Sims) -> None:
    server = sim_factory("--latency-ms", "20")
    cli.write_config(profile_toml(server.url) + '[profiles.local.cache]\nmode = "off"\n')
    prompts = distinct_then_repeats(60, 20)
    prompts += [f"runner question {i}" for i in range(60, 70)] * 2  # twins in flight together
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, prompts)
    before = requests(server)
    result = cli.run("batch", str(source), "-o", str(out), "-j", "8")
    assert result.returncode == 0, result.stderr
    assert requests(server) - before == 70
    check_repeats(read_lines(out)[:80], 60, 20)


def test_the_summary_counts_every_request_sent_again(cli: Cli, sim_factory: Sims) -> None:
    server = sim_factory("--fail-rate", "0.25", "--rate-limit-rate", "0.1")
    cli.write_config(profile_toml(server.url, retries=3))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    summary_path = cli.home / "summary.json"
    write_jobs(source, [f"flaky runner question {i}" for i in range(150)])
    before = requests(server)
    result = cli.run("batch", str(source), "-o", str(out), "-j", "16",
                     "--summary-json", str(summary_path))
    assert result.returncode in (0, 7), result.stderr
    sent = requests(server) - before
    summary = json.loads(summary_path.read_text())
    assert summary["total"] == 150 and sent > 150 + 20  # plenty of re-sends happened
    assert summary["retries"] == sent - 150  # every request after a line's first
    assert f"{sent - 150} retries".encode() in result.stderr


def run_on_a_terminal(cli: Cli, *args: str, timeout: float = 60) -> tuple[int, bytes]:
    """Runs llmx with stderr on a pseudo-terminal (80 columns); returns (exit, what it drew)."""
    master, slave = pty.openpty()
    env = {**cli.env, "TERM": "xterm", "COLUMNS": "80", "LINES": "24"}
    proc = subprocess.Popen([*LLMX, *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env=env, cwd=cli.home)
    os.close(slave)
    drawn = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            drawn += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), bytes(drawn)


def test_terminal_progress_shows_total_percentage_and_eta_for_a_file(
        cli: Cli, sim_factory: Sims) -> None:
    server = sim_factory("--latency-ms", "60")
    cli.write_config(profile_toml(server.url))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, [f"progress question {i}" for i in range(40)])
    code, drawn = run_on_a_terminal(cli, "batch", str(source), "-o", str(out), "-j", "2")
    assert code == 0, drawn.decode(errors="replace")
    text = drawn.decode(errors="replace")
    assert "/40 " in text and "%" in text and "ETA" in text, text
    # from the first frame on: never the "N done" of an input of unknown size (before the
    # fix the total was only known once the whole input had been read)
    assert re.search(r"\b\d+ done\b", text) is None, text
    assert "batch: 40 lines, 40 ok" in text
