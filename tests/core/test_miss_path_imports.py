"""A request's process loads httpx but not httpx's own command line (click, rich, pygments:
about a seventh of a one-shot ask), which llmx never runs; a cache-on miss with no stored
neighbour loads the lexical gate but not the veto (a few ms of every such miss)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import atexit, json, sys
def report():
    with open(sys.argv[1], "w") as out:
        json.dump({"httpx": "httpx" in sys.modules,
                   "cli": sys.modules.get("httpx._main") is not None,
                   "click": "click" in sys.modules, "pygments": "pygments" in sys.modules,
                   "fallback": getattr(sys.modules.get("httpx"), "main", None) is not None,
                   "gate": "llmx.cache.gate" in sys.modules,
                   "veto": "llmx.cache.veto" in sys.modules}, out)
atexit.register(report)
from llmx.cli import main
main(["ask", "--no-stdin", *sys.argv[2:]])
"""


def loaded_by(tmp_path: Path, *args: str) -> dict[str, bool]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMX_")}
    env.update(LLMX_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "xdg"),
               NO_COLOR="1")
    report = tmp_path / "loaded.json"
    done = subprocess.run([sys.executable, "-c", PROBE, str(report), *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()  # the simulator's answer
    loaded: dict[str, bool] = json.loads(report.read_text())
    return loaded


def test_a_one_shot_ask_loads_httpx_without_its_command_line(tmp_path: Path) -> None:
    loaded = loaded_by(tmp_path, "--no-cache", "a question that goes to the provider")
    assert loaded == {"httpx": True, "cli": False, "click": False, "pygments": False,
                      "fallback": True, "gate": False, "veto": False}


def test_a_miss_with_no_stored_neighbour_loads_the_gate_but_not_the_veto(
        tmp_path: Path) -> None:
    loaded_by(tmp_path, "zebra migration routes")  # a stored entry, no word in common
    loaded = loaded_by(tmp_path, "a question that goes to the provider")
    assert loaded["gate"] and not loaded["veto"]
