"""The process's streams and environment, passed in so commands are testable."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO, TextIO


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
            stdout=sys.stdout,
            stderr=sys.stderr,
            env=os.environ,
            stdin_is_tty=_isatty(sys.stdin),
            stdout_is_tty=_isatty(sys.stdout),
        )


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False
