"""The process's streams and environment, passed in so commands are testable.

``Io.system()`` wraps the real streams so a command never meets a raw ``OSError`` from
them: stdout raises ``OutputClosed`` (the reader went away) or ``OutputError`` (a full disk,
a closed descriptor); stderr drops what it cannot write, since diagnostics must never
turn a delivered answer into a failure.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO, cast

from llmx.ui.stream import closed_output_guard


@dataclass(frozen=True)
class Io:
    stdin: BinaryIO
    stdout: TextIO
    stderr: TextIO
    env: Mapping[str, str]
    stdin_is_tty: bool
    stdout_is_tty: bool

    @classmethod
    def system(cls) -> Io:
        return cls(
            stdin=sys.stdin.buffer,
            stdout=cast(TextIO, GuardedStdout(sys.stdout)),
            stderr=cast(TextIO, QuietStderr(sys.stderr)),
            env=os.environ,
            stdin_is_tty=_isatty(sys.stdin),
            stdout_is_tty=_isatty(sys.stdout),
        )


class _Delegate:
    """Everything not overridden (``encoding``, ``fileno``...) is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def isatty(self) -> bool:
        return _isatty(self._stream)


class GuardedStdout(_Delegate):
    def write(self, text: str) -> int:
        with closed_output_guard():
            return self._stream.write(text)

    def flush(self) -> None:
        with closed_output_guard():
            self._stream.flush()


class QuietStderr(_Delegate):
    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False
