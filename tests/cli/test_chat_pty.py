"""The `llmx chat` REPL in a real pseudo-terminal (stdlib ``pty``): line editing and
history, Ctrl-C mid-answer, Ctrl-D, `/clear`, `/exit`, SIGTERM."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import Sim, profile_toml, start_sim, stop_sim

PROMPT = b"you >"
UP, LEFT = b"\x1b[A", b"\x1b[D"


def _controlling_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a user's shell leaves it
    os.umask(0)  # what llmx creates must be private whatever the umask
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty is this session's terminal: ^C is SIGINT


class Terminal:
    """`llmx chat ARGS` on a pty: ``type`` keys, ``expect`` output."""

    def __init__(self, cli: InProcessCli, *args: str) -> None:
        master, slave = pty.openpty()
        env = {**cli.env, "TERM": "xterm", "COLUMNS": "100", "LINES": "40"}
        self.proc = subprocess.Popen([sys.executable, "-m", "llmx", "chat", *args], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, cwd=cli.home,
                                     start_new_session=True, preexec_fn=_controlling_terminal)
        os.close(slave)
        self.master, self.seen = master, b""

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def expect(self, needle: bytes, timeout: float = 60.0) -> bytes:
        """Output up to and including the next ``needle`` (consumed)."""
        deadline = time.monotonic() + timeout
        while needle not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {needle!r} in {self.seen[-400:]!r}"
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    assert needle in self.seen, f"no {needle!r} in {self.seen[-400:]!r}"
        before, _, self.seen = self.seen.partition(needle)
        return before + needle

    def exit_code(self) -> int:
        code = self.proc.wait(timeout=60)
        os.close(self.master)
        return code


@pytest.fixture
def slow_sim() -> Iterator[Sim]:
    server = start_sim("--tokens-per-s", "25")
    yield server
    stop_sim(server)


def logs(cli: InProcessCli) -> list[dict[str, Any]]:
    return [json.loads(line) for line in cli.run("logs", "-n", "0", "--json").out.splitlines()]


def test_ctrl_c_stops_the_answer_and_the_repl_goes_on(cli: InProcessCli, slow_sim: Sim) -> None:
    cli.write_config(profile_toml(slow_sim.url))
    term = Terminal(cli, "--max-tokens", "200")
    term.expect(PROMPT)
    term.type(b"tell me a long story\r")
    term.expect(b"story\r\n")
    term.expect(b" ")  # words of the answer arrive
    term.type(b"\x03")
    term.expect(b"(answer stopped)")
    term.expect(PROMPT)
    term.type(b"wrld" + LEFT * 3 + b"o\r")  # line editing: "world"
    term.expect(PROMPT, timeout=120)
    term.type(b"\x04")  # Ctrl-D leaves
    assert term.exit_code() == 0
    (row,) = logs(cli)  # the stopped answer is neither logged nor history
    assert row["prompt"] == "world" and row["answer"]
    alone = cli.run("ask", "--json", "--no-log", "--no-cache", "--max-tokens", "1", "world")
    assert row["input_tokens"] == json.loads(alone.out)["usage"]["input_tokens"]


def test_history_keys_clear_and_exit(cli: InProcessCli) -> None:
    term = Terminal(cli, "-p", "sim")
    term.expect(PROMPT)
    term.type(b"first question\r")
    term.expect(PROMPT)
    term.type(UP + b"\r")  # the same line again, from readline's history
    term.expect(PROMPT)
    term.type(b"/clear\r")
    term.expect(b"new conversation")
    term.type(b"second question\r")
    term.expect(PROMPT)
    term.type(b"/exit\r")
    assert term.exit_code() == 0
    rows = logs(cli)
    assert [row["prompt"] for row in rows] == ["first question"] * 2 + ["second question"]
    assert rows[0]["cid"] == rows[1]["cid"] != rows[2]["cid"]
    assert rows[1]["input_tokens"] > rows[0]["input_tokens"]  # sent with the first turn
    state = Path(cli.env["LLMX_HOME"])
    assert "first question" in (state / "chat_history").read_text()
    mine = sorted(p.name for p in state.iterdir() if p.name.startswith(("chat", "logs")))
    assert mine == ["chat_history", "logs.db", "logs.pending"]  # -wal/-shm: gone at close
    modes = {name: (state / name).stat().st_mode & 0o777 for name in mine}
    assert modes == dict.fromkeys(mine, 0o600) and state.stat().st_mode & 0o777 == 0o700


def test_no_log_leaves_no_history_file_and_sigterm_leaves(cli: InProcessCli) -> None:
    term = Terminal(cli, "-p", "sim", "--no-log")
    term.expect(PROMPT)
    term.type(b"hello\r")
    term.expect(PROMPT)
    term.proc.send_signal(signal.SIGTERM)
    assert term.exit_code() == 130
    state = Path(cli.env["LLMX_HOME"])
    assert not (state / "chat_history").exists() and logs(cli) == []
