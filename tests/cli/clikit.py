"""Running the CLI in-process with captured streams: exit code, stdout, stderr."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmx.cli import _dispatch
from llmx.cli._run import run_app


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def assert_one_error(self, code: int, *needles: str) -> str:
        """Exit ``code``, nothing on stdout, one ``error:`` line (+ hints), no traceback."""
        assert self.code == code, (self.code, self.err)
        assert self.out == "", self.out
        assert "Traceback" not in self.err
        lines = self.err.strip().splitlines()
        assert lines and lines[0].startswith("error: "), self.err
        assert all(line.startswith("hint: ") for line in lines[1:]), self.err
        for needle in needles:
            assert needle in lines[0], self.err
        return lines[0]


# The fast path (``llmx ask`` without Typer) and the Typer app: both must hold every rule.
ENTRIES: dict[str, Callable[[list[str]], int]] = {"fast": _dispatch, "typer": run_app}


def run(capsys: pytest.CaptureFixture[str], entry: Callable[[list[str]], int],
        argv: list[str]) -> Run:
    capsys.readouterr()
    code = entry(argv)
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def unreachable_config(tmp_path: Path, provider: str = "openai") -> Path:
    """A config whose default profile points at a closed port: a request would exit 5."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = tmp_path / "llmx.toml"
    path.write_text(f'default_profile = "p"\n[profiles.p]\nprovider = "{provider}"\n'
                    f'model = "m"\nbase_url = "http://127.0.0.1:{port}"\napi_key_env = ""\n'
                    "retries = 0\n")
    return path
