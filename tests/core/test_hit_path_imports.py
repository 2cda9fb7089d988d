"""The exact-hit fast path stays cheap: ``llmx ask`` answered from the cache imports neither
asyncio, nor httpx, nor numpy (nor diskcache's maintenance helpers: only what a hit needs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("asyncio", "httpx", "numpy")

PROBE = """
import io, json, sys
from llmx.cli import _dispatch
real = sys.stdout
sys.stdout = io.StringIO()
code = _dispatch(["ask", "--no-stdin", "-p", "sim", "a question for the fast path"])
answer, sys.stdout = sys.stdout.getvalue(), real
print(json.dumps({"code": code, "answer": answer,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[1:])}))
"""


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMX_")}
    env.update(LLMX_HOME=str(home), XDG_CONFIG_HOME=str(home / "xdg"), NO_COLOR="1")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=home, timeout=60, stdin=subprocess.DEVNULL)


def test_an_exact_hit_imports_no_event_loop_http_stack_or_numpy(tmp_path: Path) -> None:
    first = run(["-m", "llmx", "ask", "--no-stdin", "-p", "sim", "a question for the fast path"],
                tmp_path)
    assert first.returncode == 0, first.stderr
    probe = run(["-c", PROBE, *HEAVY], tmp_path)
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.splitlines()[-1])
    assert result["code"] == 0 and result["answer"] == first.stdout  # it was a hit
    assert result["loaded"] == []
