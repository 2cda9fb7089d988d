"""The response cache end to end: `llmx` in-process (and, for the shared-cache test, eight
real processes), a real `llmx sim`, one $LLMX_HOME."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import LLMX, Sim, http_get, http_post, profile_toml


def served(sim: Sim) -> int:
    return int(http_get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def ask_json(cli: InProcessCli, *argv: str) -> dict[str, Any]:
    result = cli.run("ask", "--json", *argv)
    assert result.returncode == 0, result.stderr
    obj: dict[str, Any] = json.loads(result.stdout)
    return obj


def records(cli: InProcessCli) -> list[dict[str, Any]]:
    folder = Path(cli.env["LLMX_HOME"]) / "records"
    lines = [line for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()]
    return [json.loads(line) for line in lines]


def test_second_identical_ask_is_an_exact_hit_without_a_request(cli: InProcessCli,
                                                                 sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    first = ask_json(cli, "what is a monad")
    before = served(sim)
    second = ask_json(cli, "what is a monad")
    assert served(sim) == before
    assert first["cached"] is False and second["cached"] == "exact"
    assert second["text"] == first["text"] and second["usage"] == first["usage"]
    piped = cli.run("ask", "what is a monad")  # streamed into a pipe, also from the cache
    assert piped.stdout.decode().rstrip("\n") == first["text"]
    assert served(sim) == before


def test_stats_json_agrees_with_the_records(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    for prompt in ("alpha question", "alpha question", "beta question", "alpha question"):
        ask_json(cli, prompt)
    rows = records(cli)
    assert [r["tier"] for r in rows] == ["miss", "exact", "miss", "exact"]
    result = cli.run("stats", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    text = json.dumps(stats)
    assert stats["total"]["requests"] == len(rows) == 4, text
    assert stats["total"]["tiers"]["exact"] == 2 and stats["total"]["tiers"]["miss"] == 2, text
    assert stats["entries"] == 2


def test_paraphrase_hits_semantically_and_negation_does_not(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    ask_json(cli, "What is the capital of France?")
    para = ask_json(cli, "what's the capital of France")
    assert para["cached"] == "semantic" and para["similarity"] >= 0.92
    ask_json(cli, "How do I enable 2FA on GitHub?")
    flipped = ask_json(cli, "How do I disable 2FA on GitHub?")
    assert flipped["cached"] is False


def test_no_cache_and_refresh(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    ask_json(cli, "gamma")
    before = served(sim)
    assert ask_json(cli, "--no-cache", "gamma")["cached"] is False
    assert ask_json(cli, "--refresh", "gamma")["cached"] is False
    assert served(sim) == before + 2
    assert ask_json(cli, "gamma")["cached"] == "exact"


def test_cache_off_writes_nothing(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url) + '[profiles.local.cache]\nmode = "off"\n')
    ask_json(cli, "delta")
    assert ask_json(cli, "delta")["cached"] is False
    assert not (Path(cli.env["LLMX_HOME"]) / "cache").exists()


def test_eight_processes_at_once_share_one_cache(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    prompts = [f"parallel question {i % 4}" for i in range(8)]
    procs = [subprocess.Popen([*LLMX, "ask", "--json", p], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=cli.env, cwd=cli.home,
                              stdin=subprocess.DEVNULL) for p in prompts]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert b"locked" not in err
        json.loads(out)
    assert len(records(cli)) == 8
    for i in range(4):  # every answer is now cached
        assert ask_json(cli, f"parallel question {i}")["cached"] == "exact"


def test_provider_embedder_uses_the_embeddings_endpoint(cli: InProcessCli, sim: Sim) -> None:
    toml = profile_toml(sim.url) + '[profiles.local.cache]\nembedder = "provider"\n'
    cli.write_config(toml)
    http_post(f"{sim.url}/sim/reset", timeout=10)
    ask_json(cli, "What is the capital city of France?")
    para = ask_json(cli, "what is the capital city of france")
    stats = http_get(f"{sim.url}/sim/stats", timeout=10).json()
    embed_calls = sum(n for path, n in stats["by_endpoint"].items() if "embeddings" in path)
    assert para["cached"] == "semantic", para
    assert embed_calls >= 2  # one per new prompt (vectors of known texts are cached)
    ask_json(cli, "How do I enable 2FA on GitHub?")
    assert ask_json(cli, "How do I disable 2FA on GitHub?")["cached"] is False


def test_a_one_shot_ask_never_refreshes_ahead(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url) + "[profiles.local.cache]\n"
                     'refresh_ahead = 0.5\nttl = { default = "3s" }\n')
    first = ask_json(cli, "a question asked twice")
    time.sleep(1.65)  # past half of its 3 s life: due for a refresh in a long-running process
    second = ask_json(cli, "a question asked twice")
    time.sleep(0.3)
    assert first["cached"] is False and second["cached"] == "exact"
    assert served(sim) == 1


def test_cache_warm_fills_the_cache_and_prints_no_answer(cli: InProcessCli, sim: Sim,
                                                         tmp_path: Path) -> None:
    cli.write_config(profile_toml(sim.url))
    prompts = tmp_path / "faq.jsonl"
    prompts.write_text('{"id": "a", "prompt": "what is a monad"}\n'
                       '{"id": "b", "prompt": "what is a functor"}\n'
                       '{"id": "c", "prompt": "what is a functor"}\n'
                       '{"id": "d"}\n')
    first = cli.run("cache", "warm", str(prompts))
    assert first.returncode == 7 and first.stdout == b""  # line d failed; no answer printed
    said = first.stderr.decode()
    assert 'cache warm: line d: BadLine: line 4: missing "prompt" or "messages"' in said
    assert said.rstrip().endswith("cache warm: 4 prompts, 0 already warm, 2 answered now, "
                                  "1 repeated in the input, 1 failed"), said
    assert served(sim) == 2
    for prompt in ("what is a monad", "what is a functor"):
        assert ask_json(cli, prompt)["cached"] == "exact"
    again = cli.run("cache", "warm", str(prompts))
    assert again.stderr.decode().rstrip().endswith(
        "cache warm: 4 prompts, 3 already warm, 0 answered now, 1 failed"), again.stderr.decode()
    assert served(sim) == 2


def test_cache_warm_refuses_bad_input_and_sends_nothing(cli: InProcessCli, sim: Sim,
                                                        tmp_path: Path) -> None:
    cli.write_config(profile_toml(sim.url))
    missing = cli.run("cache", "warm", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and missing.stderr.decode().count("error:") == 1
    output = cli.run("cache", "warm", "-o", str(tmp_path / "out.jsonl"), str(tmp_path / "x"))
    assert output.returncode == 2 and not (tmp_path / "out.jsonl").exists()
    assert served(sim) == 0
