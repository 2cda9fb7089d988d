"""The exact-hit fast path stays cheap: ``llmx ask`` answered from the cache imports only what
a hit needs — no event loop, HTTP stack, numpy, Rich or Typer; no ``dataclasses`` (nor the
``inspect``/``ast`` it pulls in); no TOML parser while the config file is unchanged; none of
the cache's write machinery. Each of those costs a share of the interpreter's own start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# whole packages (by top-level name) and single modules a hit must not load
HEAVY = ("asyncio", "httpx", "numpy", "rich", "typer", "click", "tiktoken", "dataclasses",
         "inspect", "ast", "tomllib", "tomli_w", "subprocess", "signal")
MODULES = ("llmx.cache.queue", "llmx.cache.writes", "llmx.cache.embed", "llmx.cache.vectors",
           "llmx.ui.markdown", "llmx.ui.blocks", "llmx.compress.tokens", "llmx.providers")

PROBE = """
import io, json, sys
import llmx.config.memo
llmx.config.memo.SETTLE_S = 0.0  # a config written a moment ago may be remembered at once
from llmx.cli import _dispatch
real = sys.stdout
sys.stdout = io.StringIO()
code = _dispatch(["ask", "--no-stdin", *sys.argv[1:], "a question for the fast path"])
answer, sys.stdout = sys.stdout.getvalue(), real
print(json.dumps({"code": code, "answer": answer, "loaded": sorted(sys.modules)}))
"""

CONFIG = ('default_profile = "local"\n[profiles.local]\nprovider = "openai"\nmodel = "sim-1"\n'
          'base_url = "embedded"\n')


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMX_")}
    env.update(LLMX_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "xdg"), NO_COLOR="1")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=home, timeout=60, stdin=subprocess.DEVNULL)


def probe(home: Path, *flags: str) -> dict[str, object]:
    done = run(["-c", PROBE, *flags], home)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def forbidden(loaded: object) -> list[str]:
    assert isinstance(loaded, list)
    return sorted(name for name in loaded
                  if name.split(".")[0] in HEAVY or name in MODULES
                  or any(name.startswith(module + ".") for module in MODULES))


@pytest.mark.parametrize("config", [False, True], ids=["built-in profile", "config file"])
def test_an_exact_hit_imports_only_what_it_needs(tmp_path: Path, config: bool) -> None:
    flags = [] if config else ["-p", "sim"]
    if config:
        (tmp_path / "llmx.toml").write_text(CONFIG)
    first = run(["-m", "llmx", "ask", "--no-stdin", *flags, "a question for the fast path"],
                tmp_path)
    assert first.returncode == 0, first.stderr
    if config:
        probe(tmp_path, *flags)  # the config file is parsed once more and remembered
    result = probe(tmp_path, *flags)
    assert result["code"] == 0 and result["answer"] == first.stdout  # it was a hit
    assert forbidden(result["loaded"]) == []


def test_the_probe_sees_what_a_miss_loads(tmp_path: Path) -> None:
    """The check above can fail: a miss (nothing cached yet) loads the HTTP side."""
    result = probe(tmp_path, "-p", "sim")
    assert result["code"] == 0
    assert {"asyncio", "llmx.cache.writes"} <= set(forbidden(result["loaded"]))
