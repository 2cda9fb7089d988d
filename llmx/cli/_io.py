"""The process's streams and environment, passed into every command so it is testable.

``Io.system()`` is the real process: ``sys.stdin``/``sys.stdout``/``sys.stderr`` and
``os.environ``. ``Io.over(...)`` builds the same guarded shape over any streams (the
in-process test harness uses it). Either way a command never meets a raw ``OSError`` from
stdout: the text stream raises ``OutputClosed`` (the reader went away) or ``OutputError``
(a full disk, a closed descriptor); stderr drops what it cannot write, since diagnostics
must never turn a delivered answer into a failure.

stdout has a text face (``stdout``) and a binary face (``binary_stdout()``) over the same
destination; a command writing bytes flushes the text face first.
"""

from __future__ import annotations

import contextlib
import io as _stdio
import os
import sys
from collections.abc import Mapping
from typing import Any, BinaryIO, TextIO, cast

from llmx.ui.stream import closed_output_guard
from llmx.values import frozen


@frozen  # not a dataclass nor a named tuple: every command, a cache hit too, makes one
class Io:
    """What a command may touch of its process. ``stdout_bytes`` None: bytes are decoded
    (UTF-8) into ``stdout``, which suits a text-only fake. Immutable;
    ``llmx.values.replaced(io, ...)`` gives a changed copy."""

    stdin: BinaryIO
    stdout: TextIO
    stderr: TextIO
    env: Mapping[str, str]
    stdin_is_tty: bool
    stdout_is_tty: bool
    stdout_bytes: BinaryIO | None = None
    stderr_is_tty: bool = False

    @classmethod
    def system(cls) -> Io:
        """The real process's streams and environment."""
        stdout = sys.stdout
        return cls.over(stdin=sys.stdin.buffer, stdout=stdout,
                        stdout_bytes=getattr(stdout, "buffer", None), stderr=sys.stderr,
                        env=os.environ, stdin_is_tty=_isatty(sys.stdin),
                        stdout_is_tty=_isatty(stdout), stderr_is_tty=_isatty(sys.stderr))

    @classmethod
    def over(cls, *, stdin: BinaryIO, stdout: TextIO, stdout_bytes: BinaryIO | None,
             stderr: TextIO, env: Mapping[str, str], stdin_is_tty: bool, stdout_is_tty: bool,
             stderr_is_tty: bool) -> Io:
        """These streams, guarded as described in the module docstring."""
        binary = None if stdout_bytes is None else cast(BinaryIO, GuardedStdout(stdout_bytes))
        return cls(stdin=stdin, stdout=cast(TextIO, GuardedStdout(stdout)),
                   stderr=cast(TextIO, QuietStderr(stderr)), env=env,
                   stdin_is_tty=stdin_is_tty, stdout_is_tty=stdout_is_tty,
                   stdout_bytes=binary, stderr_is_tty=stderr_is_tty)

    def binary_stdout(self) -> BinaryIO:
        """stdout for bytes (see the class docstring for a fake without one)."""
        if self.stdout_bytes is not None:
            return self.stdout_bytes
        return cast(BinaryIO, _BytesIntoText(self.stdout))


class _Delegate:
    """Everything not overridden (``encoding``, ``fileno``...) is the wrapped stream's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def isatty(self) -> bool:
        return _isatty(self._stream)


class GuardedStdout(_Delegate):
    """Writes (text or bytes) whose failures are ``OutputClosed`` / ``OutputError``."""

    def write(self, data: Any) -> int:
        with closed_output_guard():
            return int(self._stream.write(data))

    def flush(self) -> None:
        with closed_output_guard():
            self._stream.flush()


class QuietStderr(_Delegate):
    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()


class _BytesIntoText:
    """A binary face for a text-only stream: no descriptor, bytes decoded as UTF-8."""

    def __init__(self, text: TextIO) -> None:
        self._text = text

    def write(self, data: bytes) -> int:
        self._text.write(data.decode("utf-8", "surrogateescape"))
        return len(data)

    def flush(self) -> None:
        self._text.flush()

    def fileno(self) -> int:
        raise _stdio.UnsupportedOperation("no file descriptor")


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and bool(stream.isatty())
    except (ValueError, OSError):
        return False
