"""Ctrl-C in the middle of a streamed answer: exit 130, one line on stderr, no traceback."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from llmx.errors import ExitCode
from tests.integration.conftest import LLMX, Cli, Sim, http_post, profile_toml, wait_for_requests


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


def direct_answer(sim: Sim, prompt: str, max_tokens: int) -> str:
    body = {"model": "sim-1", "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": prompt}]}
    reply = http_post(f"{sim.url}/v1/chat/completions", json=body, timeout=30).json()
    return str(reply["choices"][0]["message"]["content"])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_mid_stream_exits_130_and_keeps_what_was_shown(
    cli: Cli, sim_factory: Callable[..., Sim], sig: int,
) -> None:
    slow = sim_factory("--tokens-per-s", "40")
    cli.write_config(profile_toml(slow.url))
    prompt = "tell me a long story"
    proc = subprocess.Popen([*LLMX, "ask", "--max-tokens", "400", prompt],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                            stdin=subprocess.DEVNULL, env=cli.env, cwd=cli.home,
                            preexec_fn=default_sigint)
    assert proc.stdout is not None
    shown = proc.stdout.read(8)  # unbuffered: what was read is all that was written so far
    time.sleep(0.3)
    proc.send_signal(sig)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert err.decode().strip().splitlines() == ["error: interrupted"]
    full = direct_answer(slow, prompt, 400)
    out = (shown + rest).decode()
    assert shown and full.startswith(out.rstrip("\n"))
    assert len(out) < len(full)  # cut, each piece of text once


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_while_waiting_for_a_whole_answer_exits_130(
    cli: Cli, sim_factory: Callable[..., Sim], sig: int,
) -> None:
    slow = sim_factory("--latency-ms", "20000")
    cli.write_config(profile_toml(slow.url))
    proc = subprocess.Popen([*LLMX, "ask", "--no-stream", "hi"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=cli.env,
                            cwd=cli.home, preexec_fn=default_sigint)
    wait_for_requests(slow, 1)  # started, sent, and waiting on the server
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert out == b""
    assert err.decode().strip().splitlines() == ["error: interrupted"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sim_ends_with_130_on_a_signal(sig: int) -> None:
    proc = subprocess.Popen([*LLMX, "sim", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("http://127.0.0.1:")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err


def test_ctrl_c_on_a_terminal_shows_each_line_once(cli: Cli, sim_factory: Callable[..., Sim],
                                                    tmp_path: object) -> None:
    """A real pty: the tty driver turns the keystroke into SIGINT and echoes ``^C``."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import termios

    from tests.ui.terminal import visible_text

    # ~70 tokens at 15/s: the answer takes ~5 s, so the ^C sent at 2.5 s lands mid-answer
    # (at 30/s it could finish first on a quick run, and nothing would be cut)
    slow = sim_factory("--tokens-per-s", "15")
    cli.write_config(profile_toml(slow.url))
    prompt = "tell me a long story"
    pid, fd = pty.fork()
    if pid == 0:  # the child: llmx on a 60-column terminal
        os.chdir(cli.home)
        default_sigint()  # as the other tests here: not whatever disposition pytest inherited
        env = {**cli.env, "TERM": "xterm", "COLUMNS": "60", "LINES": "20"}
        os.execve(LLMX[0], [*LLMX, "ask", "--max-tokens", "300", prompt], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 20, 60, 0, 0))
    out, start, sent = b"", time.monotonic(), False
    while time.monotonic() - start < 30:
        if not sent and b"\n" in out and time.monotonic() - start > 2.5:
            os.write(fd, b"\x03")
            sent = True
        if select.select([fd], [], [], 0.05)[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child has gone: EIO on Linux
                break
            if not data:
                break
            out += data
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert sent and os.waitstatus_to_exitcode(status) == ExitCode.INTERRUPTED
    lines = visible_text(out.decode(), width=60).splitlines()
    assert lines[-1] == "error: interrupted", lines
    shown = " ".join(" ".join(lines[:-1]).split())
    full = " ".join(direct_answer(slow, prompt, 300).split())
    assert shown and full.startswith(shown), lines  # a repeated line breaks the prefix
    assert len(shown) < len(full)
