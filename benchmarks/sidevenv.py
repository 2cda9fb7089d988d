"""A benchmark's own interpreter for a third-party reference (import as ``sidevenv``).

The references llmx is compared with (aiohttp, drain3, faiss, LiteLLM) are never project
dependencies: each lives in ``benchmarks/.venv-<name>``, made and filled from the registry
on first use, or the interpreter the benchmark's ``--<name>-python`` flag names.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def python_with(name: str, packages: list[str], given: str | None = None) -> str:
    """``given``, or ``benchmarks/.venv-<name>/bin/python`` with ``packages`` (made once)."""
    if given:
        return given
    venv = HERE / f".venv-{name}"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} for the {name} reference (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return str(python)
