"""The ``llmx chat`` REPL on a terminal: a Rich prompt over GNU readline, answers rendered
as ``ask`` renders them on a terminal (``llmx.ui.stream``: Markdown, colour unless
``NO_COLOR``).

* line editing and history (the arrow keys, Ctrl-R, ...): readline; the history is kept
  in ``chat_history`` in the state directory (0600), unless logs are off (``--no-log``,
  ``logs = false``), in which case nothing is written;
* ``/exit`` (or ``/quit``) or Ctrl-D leaves (exit 0); ``/clear`` starts a new
  conversation; ``/help`` lists these;
* Ctrl-C while an answer streams stops that answer (it is neither logged nor part of the
  history) and the REPL goes on; Ctrl-C at the prompt drops the line being typed;
* an error of one turn (a provider error, a rate limit) is printed as ``error:`` and
  ``hint:`` lines and the REPL goes on; SIGTERM leaves (exit 130).

Notes and the banner go to stderr; stdout carries only the answers.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from llmx.errors import ExitCode, LlmxError

if TYPE_CHECKING:
    import asyncio

    from llmx.cli.chat_cmd import Session

HISTORY_FILE = "chat_history"
HISTORY_LINES = 1000
NUDGE_S = 0.05  # how long a SIGTERM may wait for its handler before it is sent again
COMMANDS = {"/exit": "leave (Ctrl-D too)", "/quit": "leave", "/clear": "start a new conversation",
            "/help": "this list"}
_ESCAPE = re.compile(r"(\x1b\[[0-9;]*[A-Za-z])")


def run_repl(session: Session, runner: asyncio.Runner, first: str) -> int:
    """The REPL until ``/exit``, Ctrl-D or SIGTERM; its exit code."""
    io = session.io
    history = _history_path(session)
    _load_history(history)
    prompt = _prompt(io.env)
    io.stderr.write(f"llmx chat · {session.describe}\n"
                    "/exit or Ctrl-D to leave, /clear for a new conversation, /help\n")
    with _sigterm_leaves(session):
        return _loop(session, runner, first, history, prompt)


def _loop(session: Session, runner: asyncio.Runner, first: str, history: Path | None,
          prompt: str) -> int:
    io = session.io
    try:
        line = first
        while True:
            if line:
                code = _one(session, runner, line)
                if code is not None:
                    return code
            try:
                line = input(prompt).strip()
            except EOFError:
                io.stderr.write("\n")
                return int(ExitCode.OK)
            except KeyboardInterrupt:
                if session.terminated:
                    return int(ExitCode.INTERRUPTED)
                io.stderr.write("\n")
                line = ""
    finally:
        _save_history(history)


def _one(session: Session, runner: asyncio.Runner, line: str) -> int | None:
    """Act on one line: a command, or a turn. An exit code to leave with, or None."""
    io = session.io
    if line in ("/exit", "/quit"):
        return int(ExitCode.OK)
    if line == "/help":
        io.stderr.write("".join(f"  {name:<7} {what}\n" for name, what in COMMANDS.items()))
        return None
    if line == "/clear":
        session.clear()
        io.stderr.write(f"new conversation {session.turn.cid}\n")
        return None
    try:
        runner.run(session.answer(line))
    except KeyboardInterrupt:
        if session.terminated:
            return int(ExitCode.INTERRUPTED)
        io.stderr.write("\n(answer stopped)\n")
    except LlmxError as exc:
        from llmx.cli._boundary import report

        report(exc, io.stderr)
    io.stdout.flush()
    return None


def _terminate(session: Session) -> Callable[[int, FrameType | None], None]:
    def handler(number: int, frame: FrameType | None) -> None:
        if not session.terminated:  # once: a nudge that crossed it changes nothing
            session.terminated = True
            raise KeyboardInterrupt

    return handler


@contextlib.contextmanager
def _sigterm_leaves(session: Session) -> Iterator[None]:
    """SIGTERM leaves the REPL wherever it lands. Python runs a signal's handler only when
    the main thread is back in the interpreter; a SIGTERM that lands after readline drew
    the prompt but before it waits in ``select`` would wait for the next key. So the
    signal also wakes a thread (``signal.set_wakeup_fd``) that sends SIGTERM to the main
    thread again until its handler has run (a signal during ``select`` interrupts it)."""
    import threading

    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    main = threading.main_thread().ident or 0
    previous = signal.signal(signal.SIGTERM, _terminate(session))
    old_fd = signal.set_wakeup_fd(write_end)
    nudger = threading.Thread(target=_nudge, args=(session, read_end, main), daemon=True)
    nudger.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_fd)
        os.close(write_end)  # the thread reads the end of the pipe and stops
        nudger.join(timeout=2)
        signal.signal(signal.SIGTERM, previous)
        os.close(read_end)


def _nudge(session: Session, read_end: int, main: int) -> None:
    with contextlib.suppress(OSError):
        while data := os.read(read_end, 64):
            while signal.SIGTERM in data and not session.terminated:
                time.sleep(NUDGE_S)
                if not session.terminated:
                    signal.pthread_kill(main, signal.SIGTERM)


def _prompt(env: Mapping[str, str]) -> str:
    """``you >`` in bold cyan (plain with ``NO_COLOR``), rendered by Rich, its escapes
    marked for readline (so that it knows the prompt's width)."""
    from rich.console import Console

    plain = bool(env.get("NO_COLOR"))
    console = Console(force_terminal=True, no_color=plain, color_system="standard")
    with console.capture() as captured:
        console.print("[bold cyan]you >[/] ", end="", highlight=False)
    return _ESCAPE.sub("\001\\1\002", captured.get())


def _history_path(session: Session) -> Path | None:
    """Where the typed lines are kept: nowhere when this chat keeps no logs."""
    return session.turn.home / HISTORY_FILE if session.turn.keep else None


def _load_history(path: Path | None) -> None:
    """Line editing on (importing readline is what gives ``input`` it), the history read."""
    import readline

    readline.set_history_length(HISTORY_LINES)
    if path is not None and path.is_file():
        with contextlib.suppress(OSError):
            readline.read_history_file(str(path))


def _save_history(path: Path | None) -> None:
    if path is None:
        return
    import readline

    from llmx.paths import ensure_private_dir

    try:
        ensure_private_dir(path.parent)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        readline.write_history_file(str(path))
        os.chmod(path, 0o600)
    except (OSError, LlmxError):
        pass  # the history only saves typing: no warning at the door
