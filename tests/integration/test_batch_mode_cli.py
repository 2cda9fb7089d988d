"""``llmx batch --mode`` / ``--deadline`` end to end: in-process ``llmx batch`` against a real
simulator, counting its chat and Batch API requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import InProcessCli, Sim, http_get, profile_toml


def _stats(sim: Sim) -> dict[str, Any]:
    data: dict[str, Any] = http_get(f"{sim.url}/sim/stats", timeout=10).json()
    return data


def _write(path: Path, count: int) -> None:
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"mode question {i}"}) + "\n"
                            for i in range(count)))


def test_auto_runs_each_way_and_the_summary_says_which(cli_here: InProcessCli, sim: Sim,
                                                       tmp_path: Path) -> None:
    cli_here.write_config(profile_toml(sim.url) + "[profiles.local.price]\ninput = 2.5\n"
                          "output = 10.0\n[profiles.local.batch]\nauto_min_saving = 0.0\n")
    source, summary = tmp_path / "in.jsonl", tmp_path / "summary.json"
    _write(source, 6)
    soon = cli_here.run("batch", str(source), "-o", str(tmp_path / "a.jsonl"),
                        "--deadline", "1h", "--summary-json", str(summary))
    assert soon.returncode == 0, soon.stderr
    chosen = json.loads(summary.read_text())["mode"]
    assert chosen["chosen"] == "direct" and "shorter than" in chosen["reason"]
    assert chosen["estimated_cost"]["provider"] == pytest.approx(
        chosen["estimated_cost"]["direct"] / 2)
    assert (_stats(sim)["by_endpoint"].get("/v1/chat/completions"), _stats(sim)[
        "batch_requests"]) == (6, 0)
    _write(source, 9)  # 6 lines the cache holds, 3 new ones
    later = cli_here.run("batch", str(source), "-o", str(tmp_path / "b.jsonl"),
                         "--deadline", "36h", "--summary-json", str(summary))
    assert later.returncode == 0, later.stderr
    data = json.loads(summary.read_text())
    assert data["mode"]["chosen"] == "provider" and data["cached"]["exact"] == 6
    assert "--mode auto chose the provider's Batch API" in later.stderr.decode()
    assert _stats(sim)["batch_requests"] == 3  # the cached lines were not sent again
    assert _stats(sim)["by_endpoint"].get("/v1/chat/completions") == 6
    lines = [json.loads(x) for x in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == [f"q{i}" for i in range(9)]


def test_bad_mode_flags_are_refused_before_anything(cli_here: InProcessCli, sim: Sim,
                                                    tmp_path: Path) -> None:
    cli_here.write_config(profile_toml(sim.url))
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(source, 2)
    for flags, says in ((["--mode", "bogus"], "--mode: expected one of auto, direct, provider"),
                        (["--deadline", "soon"], "--deadline: expected seconds")):
        result = cli_here.run("batch", str(source), "-o", str(out), *flags)
        assert result.returncode == 2 and says in result.stderr.decode()
    cli_here.write_config(profile_toml(sim.url).replace('"openai"', '"ollama"').replace(
        "/v1", ""))
    result = cli_here.run("batch", str(source), "-o", str(out), "--provider-batch")
    assert result.returncode == 2 and "ollama has no Batch API" in result.stderr.decode()
    assert not out.exists() and _stats(sim)["requests"] == 0


def test_provider_batch_answers_are_cached_and_recorded_at_the_discount(
        cli_here: InProcessCli, sim: Sim, tmp_path: Path) -> None:
    cli_here.write_config(profile_toml(sim.url) + "[profiles.local.price]\ninput = 2.5\n"
                          "output = 10.0\n")
    source = tmp_path / "in.jsonl"
    _write(source, 3)
    first = cli_here.run("batch", str(source), "-o", str(tmp_path / "a.jsonl"), "--mode",
                         "provider")
    assert first.returncode == 0, first.stderr
    assert _stats(sim)["batch_requests"] == 3
    asked = cli_here.run("ask", "mode question 1")  # answered by the batch: no new request
    assert asked.returncode == 0, asked.stderr
    assert _stats(sim)["by_endpoint"].get("/v1/chat/completions") is None
    answers = {json.loads(x)["id"]: json.loads(x)["text"]
               for x in (tmp_path / "a.jsonl").read_text().splitlines()}
    assert asked.stdout.decode().strip() == answers["q1"].strip()
    records = [json.loads(x) for f in Path(cli_here.env["LLMX_HOME"]).glob("records/*.jsonl")
               for x in f.read_text().splitlines()]
    assert sorted(r["tier"] for r in records) == ["exact", "miss", "miss", "miss"]
    sent = [r for r in records if r["tier"] == "miss"]
    assert len(sent) == 3
    for r in sent:  # the Batch API's 50 % off the profile's price
        full = (r["input_tokens"] * 2.5 + r["output_tokens"] * 10.0) / 1e6
        assert r["cost"] == pytest.approx(full / 2)
