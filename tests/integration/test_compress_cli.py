"""Compression end to end: `llmx compress`, `llmx ask --dry-run/--compress`, records, cache keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import Sim, http_get, profile_toml


def log_text(lines: int = 400) -> str:
    rows = [f"2026-11-27 12:{i // 60:02d}:{i % 60:02d} INFO dfs.DataNode: Served block "
            f"blk_{7000 + i * 13} to /10.0.{i % 7}.{i % 251}" for i in range(lines)]
    return "\n".join(rows) + "\n"


def served(sim: Sim) -> int:
    return int(http_get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def records(cli: InProcessCli) -> list[dict[str, Any]]:
    folder = Path(cli.env["LLMX_HOME"]) / "records"
    return [json.loads(line) for f in sorted(folder.glob("*.jsonl"))
            for line in f.read_text().splitlines()]


def test_compress_prints_text_on_stdout_and_counts_on_stderr(cli: InProcessCli) -> None:
    text = log_text()
    result = cli.run("compress", "--mode", "aggressive", stdin=text.encode())
    assert result.returncode == 0, result.stderr
    assert 0 < len(result.stdout) < len(text) / 5
    assert result.stderr.decode().startswith("tokens: ")
    as_json = json.loads(cli.run("compress", "--mode", "aggressive", "--json",
                                 stdin=text.encode()).stdout)
    assert as_json["text"].encode() == result.stdout
    assert as_json["tokens_after"] < as_json["tokens_before"] * 0.2
    assert as_json["encoding"] == "cl100k_base" and as_json["approximate"] is False


def test_compress_rejects_a_bad_mode_and_bad_utf8(cli: InProcessCli) -> None:
    assert cli.run("compress", "--mode", "extreme", stdin=b"x").returncode == 2
    bad = cli.run("compress", stdin=b"caf\xe9")
    assert bad.returncode == 2 and b"UTF-8" in bad.stderr and b"Traceback" not in bad.stderr


def test_dry_run_sends_nothing_and_shows_the_compressed_prompt(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    before = served(sim)
    result = cli.run("ask", "--dry-run", "--json", "--compress", "aggressive", "why does it fail?",
                     stdin=log_text().encode())
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert served(sim) == before
    assert obj["tokens_after"] < obj["tokens_before"]
    assert obj["messages"][-1]["content"].startswith("why does it fail?")
    assert obj["compressor"].startswith("aggressive:")
    assert not (Path(cli.env["LLMX_HOME"]) / "records").exists()


def test_compressed_asks_record_the_savings_and_key_the_cache_on_the_mode(
        cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    log = log_text().encode()
    first = cli.run("ask", "--json", "--compress", "aggressive", "summarize", stdin=log)
    assert first.returncode == 0, first.stderr
    plain = cli.run("ask", "--json", "--no-compress", "summarize", stdin=log)
    again = cli.run("ask", "--json", "--compress", "aggressive", "summarize", stdin=log)
    tiers = [json.loads(r.stdout)["cached"] for r in (first, plain, again)]
    assert tiers == [False, False, "exact"]  # the compressed form is its own cache entry
    saved = [r["tokens_saved"] for r in records(cli)]
    assert saved[0] > 0 and saved[1] == 0 and saved[2] == saved[0]


def test_a_prompt_too_long_for_the_window_is_cut_with_a_note(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url, context_window=2048, max_tokens=256))
    result = cli.run("ask", "--json", "--no-compress", "what happened?",
                     stdin=log_text(2000).encode())
    assert result.returncode == 0, result.stderr
    assert b"context window" in result.stderr
    assert json.loads(result.stdout)["usage"]["input_tokens"] < 2048
