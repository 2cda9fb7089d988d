"""The two ways into ``llmx ask`` (the fast parser and the Typer app), run in-process."""

from __future__ import annotations

import os
from pathlib import Path

from llmx.cli import run as run_cli
from llmx.cli._run import run_app
from tests.cli.harness import Entry, Result, invoke

# The fast path (``llmx ask`` without Typer) and the Typer app: both must hold every rule.
ENTRIES: dict[str, Entry] = {"fast": run_cli, "typer": run_app}


def run(entry: Entry, argv: list[str], *, stdin: bytes = b"") -> Result:
    """``argv`` through ``entry`` with the test's own environment (``os.environ``)."""
    return invoke(argv, stdin=stdin, env=dict(os.environ), entry=entry)


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
