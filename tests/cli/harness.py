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
``write_config``, ``run``), running in-process; ``run_process`` runs the same command as a
real process. A test module takes it as its ``cli`` fixture with
``from tests.cli.harness import in_process_cli  # noqa: F401``.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pytest

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


class Fault(io.BytesIO):
    """A destination that takes ``room`` bytes, then fails each write with ``error``'s
    errno: a full disk (``ENOSPC``), a closed descriptor (``EBADF``), a reader that went
    away (``EPIPE``, raised as ``BrokenPipeError``). ``settle()`` (after the run) makes it
    drop writes quietly, as the null device does for a real process."""

    def __init__(self, errno: int, room: int = 0) -> None:
        super().__init__()
        self.errno, self.room, self.settled = errno, room, False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        if self.settled:
            return len(chunk)
        space = self.room - self.tell()
        if len(chunk) > space:
            super().write(chunk[:max(space, 0)])
            raise _oserror(self.errno)
        return super().write(chunk)

    def settle(self) -> None:
        self.settled = True


def _oserror(number: int) -> OSError:
    return OSError(number, os.strerror(number))  # OSError(EPIPE, ...) is a BrokenPipeError


class _Capture:
    """A binary destination with a text face over it (UTF-8). ``buffered``: text reaches
    the destination at a flush, as with a file; else at each write, as ``-u`` does."""

    def __init__(self, binary: io.BytesIO | None, buffered: bool) -> None:
        self.binary = io.BytesIO() if binary is None else binary
        self.text = io.TextIOWrapper(self.binary, encoding="utf-8", errors="surrogateescape",
                                     write_through=not buffered)

    def value(self) -> bytes:
        if isinstance(self.binary, Fault):
            self.binary.settle()
        self.text.flush()
        return self.binary.getvalue()


@dataclass(frozen=True)
class Streams:
    """An ``Io`` over in-memory streams, and what was written to them."""

    io: Io
    _out: _Capture
    _err: _Capture

    def stdout(self) -> bytes:
        return self._out.value()

    def stderr(self) -> bytes:
        return self._err.value()

    def out(self) -> str:
        return self.stdout().decode()

    def err(self) -> str:
        return self.stderr().decode()


def memory_io(*, stdin: bytes = b"", env: Mapping[str, str] | None = None,
              stdin_is_tty: bool = False, stdout_is_tty: bool = False,
              stderr_is_tty: bool = False, stdout: io.BytesIO | None = None,
              stderr: io.BytesIO | None = None, buffered: bool = False) -> Streams:
    """An ``Io`` as ``Io.system()`` builds it, over memory: ``stdin`` bytes, ``env`` (nothing
    of ``os.environ``), these terminal flags; ``stdout``/``stderr`` may be a ``Fault``."""
    out, err = _Capture(stdout, buffered), _Capture(stderr, buffered)
    streams = Io.over(stdin=io.BytesIO(stdin), stdout=out.text, stdout_bytes=out.binary,
                      stderr=err.text, env=dict(env or {}), stdin_is_tty=stdin_is_tty,
                      stdout_is_tty=stdout_is_tty, stderr_is_tty=stderr_is_tty)
    return Streams(streams, out, err)


Entry = Callable[[list[str], Io], int]


def invoke(argv: Sequence[str], *, stdin: bytes = b"", env: Mapping[str, str] | None = None,
           cwd: Path | None = None, stdin_is_tty: bool = False, stdout_is_tty: bool = False,
           stderr_is_tty: bool = False, entry: Entry = run_cli,
           stdout: io.BytesIO | None = None, stderr: io.BytesIO | None = None,
           buffered: bool = False) -> Result:
    """Run ``llmx ARGV`` in this process (see the module docstring); ``entry`` may be a
    narrower way in (e.g. the Typer app alone); ``stdout``/``stderr`` may be a ``Fault``."""
    streams = memory_io(stdin=stdin, env=env, stdin_is_tty=stdin_is_tty,
                        stdout_is_tty=stdout_is_tty, stderr_is_tty=stderr_is_tty,
                        stdout=stdout, stderr=stderr, buffered=buffered)
    text_in = io.TextIOWrapper(streams.io.stdin, encoding="utf-8")
    with _swapped_process_state(text_in, streams._out.text, streams._err.text, cwd):
        code = entry(list(argv), streams.io)
    return Result(code, streams.stdout(), streams.stderr())


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
class Cli:
    """``python -m llmx`` as a real process with a private home and environment (``env``
    starts from the test's ``os.environ`` minus provider keys); ``write_config`` points
    ``LLMX_CONFIG`` at a file in ``home``. ``run`` returns a ``Result``."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def write_config(self, text: str) -> Path:
        path = self.home / "llmx.toml"
        path.write_text(text)
        self.env["LLMX_CONFIG"] = str(path)
        return path

    def run(self, *args: str, stdin: bytes | None = b"", timeout: float = 60,
            env: Mapping[str, str] | None = None, stdout_is_tty: bool = False) -> Result:
        assert not stdout_is_tty, "a real process's stdout here is a pipe"
        return self.run_process(*args, stdin=stdin, timeout=timeout, env=env)

    def run_process(self, *args: str, stdin: bytes | None = b"", timeout: float = 60,
                    env: Mapping[str, str] | None = None) -> Result:
        """The command as a real ``python -m llmx`` process (``stdin=None``: inherited)."""
        done = subprocess.run([sys.executable, "-m", "llmx", *args], input=stdin,
                              capture_output=True, env={**self.env, **(env or {})},
                              cwd=self.home, timeout=timeout, check=False)
        return Result(done.returncode, done.stdout, done.stderr)


class InProcessCli(Cli):
    """A ``Cli`` whose ``run`` calls ``llmx.cli.run`` in this process, with what the process
    would have had: ``os.environ`` is the run's environment for its duration (for libraries
    that read it themselves), the working directory is ``home``, stdin a pipe's bytes.
    ``run_process`` still starts a real process."""

    def run(self, *args: str, stdin: bytes | None = b"", timeout: float = 60,
            env: Mapping[str, str] | None = None, stdout_is_tty: bool = False) -> Result:
        """``timeout`` is accepted for the ``Cli`` signature; an in-process run has none."""
        assert stdin is not None, "a closed stdin needs a real process"
        del timeout
        whole = {**self.env, **(env or {})}
        with environ_as(whole):
            return invoke(args, stdin=stdin, env=whole, cwd=self.home,
                          stdout_is_tty=stdout_is_tty)


@contextlib.contextmanager
def environ_as(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is ``env`` inside the block, and what it was afterwards."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


PRIVATE_PREFIXES = ("LLMX_", "OPENAI", "ANTHROPIC")


@pytest.fixture(name="cli")
def in_process_cli(tmp_path: Path) -> InProcessCli:
    """``cli`` in-process: import it into a test module to replace the subprocess one."""
    return private_cli(tmp_path)


def private_cli(tmp_path: Path) -> InProcessCli:
    """An ``InProcessCli`` whose state, config and XDG dirs are all under ``tmp_path``."""
    return InProcessCli(*private_home(tmp_path))


def private_home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """``tmp_path/home`` (created) and an environment whose state, config and XDG dirs are
    all under it, without the test process's llmx and provider variables."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE_PREFIXES)}
    env.update(LLMX_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "xdg"),
               XDG_STATE_HOME=str(home / "xdg-state"), NO_COLOR="1")
    return home, env
