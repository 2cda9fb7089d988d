"""The library's first request pays for no cache opening: entering the Client opened what the
look-up needs, and a cache with no vectors yet is never asked to embed (no numpy before the
first chunk). Fresh processes, so that nothing was imported by an earlier test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HEAVY = ("numpy", "diskcache", "sqlite3")

PROBE = """
import asyncio, json, sys
from llmx.config.profile import builtin_config, resolve_profile
from llmx.engine import Client

async def main():
    async with Client(resolve_profile(builtin_config(), "sim")) as client:
        entered = set(sys.modules)
        answer = client.stream(sys.argv[1])
        async for chunk in answer:
            if chunk.text:
                new = sorted(m for m in set(sys.modules) - entered
                             if m.split(".")[0] in sys.argv[2:])
                numpy = "numpy" in sys.modules
                break
        completion = await answer.collect()
    print(json.dumps({"new": new, "numpy": numpy, "cached": completion.cached}))

asyncio.run(main())
"""


def first_request(home: Path, prompt: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMX_")}
    env.update(LLMX_HOME=str(home), XDG_CONFIG_HOME=str(home / "xdg"))
    done = subprocess.run([sys.executable, "-c", PROBE, prompt, *HEAVY], capture_output=True,
                          text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_a_first_miss_in_a_new_home_embeds_nothing_before_its_first_chunk(tmp_path: Path) -> None:
    result = first_request(tmp_path, "a first question in a new home")
    assert result == {"new": [], "numpy": False, "cached": False}


def test_a_first_miss_in_a_filled_cache_opens_nothing_the_entry_did_not(tmp_path: Path) -> None:
    first_request(tmp_path, "fill the cache with an answer and its vector")
    assert any(tmp_path.rglob("vectors"))  # the first answer left a vector
    result = first_request(tmp_path, "a different question about penguins")
    assert result["new"] == [] and result["cached"] is False
    assert result["numpy"] is False  # the lexical gate answered the miss without numpy


NO_CACHE_ASK = """
import io, json, sys
from llmx.cli import _dispatch
real, sys.stdout = sys.stdout, io.StringIO()
code = _dispatch(["ask", "--no-stdin", "--no-cache", "-p", "sim", "a question, cache bypassed"])
answer, sys.stdout = sys.stdout.getvalue(), real
print(json.dumps({"code": code, "answer": answer,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[1:])}))
"""


def test_a_no_cache_ask_opens_no_cache_even_when_one_is_filled(tmp_path: Path) -> None:
    first_request(tmp_path, "fill the cache with an answer and its vector")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMX_")}
    env.update(LLMX_HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"), NO_COLOR="1")
    done = subprocess.run([sys.executable, "-c", NO_CACHE_ASK, *HEAVY], capture_output=True,
                          text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0 and result["answer"].strip()
    assert result["loaded"] == []
