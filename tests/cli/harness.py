"""The CLI in-process: ``llmx.cli.run(argv, io)`` with captured bytes, no subprocess.

``invoke(argv, stdin=..., env=..., cwd=...)`` runs one command line and returns a
``Result`` shaped like ``subprocess.CompletedProcess[bytes]`` (``returncode``, ``stdout``,
``stderr``), so a test reads the same either way. The command gets an ``Io`` over
in-memory streams, the given environment (nothing of ``os.environ`` unless passed) and
the given terminal flags. For the run, ``sys.stdin``/``sys.stdout``/``sys.stderr`` are the
same in-memory streams (click writes help and usage there) and the working directory is
``cwd``; all three streams, the directory and the SIGTERM/SIGINT handlers are restored
afterwards, whatever happens.

What stays a subprocess test: signals, closed or full descriptors, a real terminal,
``sys.exit`` and the interpreter's own behaviour (see the module docstrings that say so).

``InProcessCli`` is a drop-in for the integration ``Cli`` fixture (``home``, ``env``,
``write_config``, ``run``), running in-process.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from llmx.cli import run as run_cli
from llmx.cli._io import Io


@dataclass(frozen=True)
class Result:
    """One command's exit code and exactly the bytes it wrote."""

    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode()

    @property
    def err(self) -> str:
        return self.stderr.decode()

    def assert_one_error(self, code: int, *needles: str) -> str:
        """Exit ``code``, nothing on stdout, one ``error:`` line (+ hints), no traceback;
        each needle is in the error line, which is returned."""
        assert self.returncode == code, (self.returncode, self.err)
        assert self.stdout == b"", self.stdout
        assert "Traceback" not in self.err
        lines = self.err.strip().splitlines()
        assert lines and lines[0].startswith("error: "), self.err
        assert all(line.startswith("hint: ") for line in lines[1:]), self.err
        for needle in needles:
            assert needle in lines[0], self.err
        return lines[0]


class _Capture:
    """A binary buffer with a text face over it (UTF-8, nothing held between the two)."""

    def __init__(self) -> None:
        self.binary = io.BytesIO()
        self.text = io.TextIOWrapper(self.binary, encoding="utf-8", errors="surrogateescape",
                                     write_through=True)

    def value(self) -> bytes:
        self.text.flush()
        return self.binary.getvalue()


Entry = Callable[[list[str], Io], int]


def invoke(argv: Sequence[str], *, stdin: bytes = b"", env: Mapping[str, str] | None = None,
           cwd: Path | None = None, stdin_is_tty: bool = False, stdout_is_tty: bool = False,
           stderr_is_tty: bool = False, entry: Entry = run_cli) -> Result:
    """Run ``llmx ARGV`` in this process (see the module docstring); ``entry`` may be a
    narrower way in (e.g. the Typer app alone)."""
    out, err = _Capture(), _Capture()
    source = io.BytesIO(stdin)
    streams = Io.over(stdin=source, stdout=out.text, stdout_bytes=out.binary, stderr=err.text,
                      env=dict(env or {}), stdin_is_tty=stdin_is_tty,
                      stdout_is_tty=stdout_is_tty, stderr_is_tty=stderr_is_tty)
    text_in = io.TextIOWrapper(source, encoding="utf-8")
    with _swapped_process_state(text_in, out.text, err.text, cwd):
        code = entry(list(argv), streams)
    return Result(code, out.value(), err.value())


@contextlib.contextmanager
def _swapped_process_state(stdin: TextIO, stdout: TextIO, stderr: TextIO,
                           cwd: Path | None) -> Iterator[None]:
    saved = (sys.stdin, sys.stdout, sys.stderr)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    here = os.getcwd()
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        os.chdir(here)
        for sig, handler in handlers.items():
            if signal.getsignal(sig) is not handler:
                signal.signal(sig, handler)


@dataclass
class InProcessCli:
    """A private home and environment, as the integration ``Cli`` has; ``run`` is
    in-process. ``env`` starts from the test's ``os.environ`` minus provider keys."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def write_config(self, text: str) -> Path:
        path = self.home / "llmx.toml"
        path.write_text(text)
        self.env["LLMX_CONFIG"] = str(path)
        return path

    def run(self, *args: str, stdin: bytes = b"", timeout: float = 60,
            env: Mapping[str, str] | None = None, stdout_is_tty: bool = False) -> Result:
        """``timeout`` is accepted for the ``Cli`` signature; an in-process run has none."""
        del timeout
        return invoke(args, stdin=stdin, env={**self.env, **(env or {})}, cwd=self.home,
                      stdout_is_tty=stdout_is_tty)


PRIVATE_PREFIXES = ("LLMX_", "OPENAI", "ANTHROPIC")


def private_cli(tmp_path: Path) -> InProcessCli:
    """An ``InProcessCli`` whose state, config and XDG dirs are all under ``tmp_path``."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE_PREFIXES)}
    env.update(LLMX_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "xdg"),
               XDG_STATE_HOME=str(home / "xdg-state"), NO_COLOR="1")
    return InProcessCli(home=home, env=env)
