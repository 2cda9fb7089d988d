"""Ctrl-C in the middle of a streamed answer: exit 130, one line on stderr, no traceback."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

from llmx.errors import ExitCode
from tests.integration.conftest import LLMX, Cli, Sim, profile_toml


def default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored; a user's Ctrl-C reaches a
    # foreground process with the default disposition, which is what this test needs.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_mid_stream_exits_130(cli: Cli, sim_factory: Callable[..., Sim]) -> None:
    slow = sim_factory("--tokens-per-s", "40")
    cli.write_config(profile_toml(slow.url))
    proc = subprocess.Popen([*LLMX, "ask", "--max-tokens", "400", "tell me a long story"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=cli.env, cwd=cli.home,
                            preexec_fn=default_sigint)
    assert proc.stdout is not None
    first = proc.stdout.read(1)  # the answer has started streaming
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert first and len(first + rest) > 0
    assert proc.returncode == ExitCode.INTERRUPTED
    text = err.decode()
    assert "Traceback" not in text
    assert text.strip().splitlines() == ["error: interrupted"]
