"""`llmx batch` end to end: a real simulator, faults, Ctrl-C (a real process) and --resume."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmx.errors import ExitCode
from tests.integration.conftest import LLMX, Cli, InProcessCli, Sim, http_get, profile_toml


@pytest.fixture
def cli(cli_here: InProcessCli) -> Cli:
    """``cli.run`` is in-process here (the CLI harness); the tests that signal, kill or
    redirect a descriptor start their own ``python -m llmx`` with ``cli.env``."""
    return cli_here


def write_jobs(path: Path, prompts: list[str]) -> None:
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": p}) + "\n"
                            for i, p in enumerate(prompts)))


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def wait_for_lines(out: Path, count: int, timeout: float = 30.0) -> None:
    """Until a run writing ``out`` has written ``count`` lines (into its partial file)."""
    partial = out.with_name(f".{out.name}.llmx-partial")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if partial.exists() and partial.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"no {count} lines in {partial} after {timeout} s")


def sim_stats(sim: Sim) -> dict[str, Any]:
    stats: dict[str, Any] = http_get(f"{sim.url}/sim/stats", timeout=10).json()
    return stats


def test_duplicates_are_sent_once_and_every_id_answered_in_order(cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    prompts = [f"batch question {i % 30}" for i in range(90)]
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, prompts)
    before = sim_stats(sim)["requests"]
    result = cli.run("batch", str(source), "-o", str(out), "-j", "16")
    assert result.returncode == 0, result.stderr
    lines = read_lines(out)
    assert [line["id"] for line in lines] == [f"q{i}" for i in range(90)]
    assert all(line["text"] and line["usage"]["output_tokens"] > 0 for line in lines)
    assert sim_stats(sim)["requests"] - before == 30
    assert b"90 lines" in result.stderr


def test_a_bad_line_gets_an_error_line_and_exit_7(cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    source.write_text('{"id": "a", "prompt": "fine"}\n{not json\n{"id": "c", "prompt": "ok"}\n')
    result = cli.run("batch", str(source), "-o", str(out))
    assert result.returncode == ExitCode.PARTIAL
    lines = read_lines(out)
    assert [line.get("error", {}).get("type") for line in lines] == [None, "BadLine", None]
    assert "line 2" in lines[1]["error"]["message"]


def test_faults_lose_nothing_and_duplicate_nothing(
        cli: Cli, sim_factory: Callable[..., Sim]) -> None:
    faulty = sim_factory("--fail-rate", "0.1", "--rate-limit-rate", "0.1", "--cut-rate", "0.05")
    cli.write_config(profile_toml(faulty.url, retries=1))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, [f"faulty question {i}" for i in range(200)])
    result = cli.run("batch", str(source), "-o", str(out), "-j", "32")
    lines = read_lines(out)
    ids = [line["id"] for line in lines]
    assert sorted(ids) == sorted(f"q{i}" for i in range(200)) and len(set(ids)) == 200
    errors = [line for line in lines if "error" in line]
    assert all(("text" in line) != ("error" in line) for line in lines)
    assert result.returncode == (ExitCode.PARTIAL if errors else ExitCode.OK), result.stderr


def test_ctrl_c_then_resume_finishes_without_resending(
        cli: Cli, sim_factory: Callable[..., Sim]) -> None:
    slow = sim_factory("--latency-ms", "50")
    cli.write_config(profile_toml(slow.url) + '[profiles.local.cache]\nmode = "off"\n')
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, [f"resumable question {i}" for i in range(2000)])
    proc = subprocess.Popen([*LLMX, "batch", str(source), "-o", str(out), "-j", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli.env,
                            cwd=cli.home, stdin=subprocess.DEVNULL)
    wait_for_lines(out, 20)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert b"Traceback" not in err
    partial = read_lines(out)
    assert 0 < len(partial) < 2000
    resumed = cli.run("batch", str(source), "-o", str(out), "-j", "50", "--resume", timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    ids = [line["id"] for line in read_lines(out)]
    assert Counter(ids) == Counter(f"q{i}" for i in range(2000))
    sent = sim_stats(slow)["prompts"]
    assert len(sent) == 2000 and set(sent.values()) == {1}  # no prompt went out twice


def test_provider_batch_gives_the_same_result_shape(cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    source = cli.home / "in.jsonl"
    write_jobs(source, [f"provider batch question {i}" for i in range(12)])
    direct, batched = cli.home / "direct.jsonl", cli.home / "batched.jsonl"
    assert cli.run("batch", str(source), "-o", str(direct)).returncode == 0
    result = cli.run("batch", str(source), "-o", str(batched), "--provider-batch")
    assert result.returncode == 0, result.stderr
    a, b = read_lines(direct), read_lines(batched)
    assert [set(line) for line in a] == [set(line) for line in b]
    assert [(x["id"], x["text"], x["usage"]) for x in a] == [(y["id"], y["text"], y["usage"])
                                                             for y in b]


def test_embeddings_for_the_semantic_cache_go_out_in_groups(
        cli: Cli, sim_factory: Callable[..., Sim]) -> None:
    server = sim_factory("--latency-ms", "20")
    cli.write_config(profile_toml(server.url) + '[profiles.local.cache]\nembedder = "provider"\n'
                     '[profiles.local.batch]\nmax_batch_size = 16\nmax_wait_ms = 20\n')
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, [f"grouped embedding question {i}" for i in range(64)])
    result = cli.run("batch", str(source), "-o", str(out), "-j", "32", "--semantic")
    assert result.returncode == 0, result.stderr
    calls = sum(n for path, n in sim_stats(server)["by_endpoint"].items() if "embeddings" in path)
    assert 0 < calls < 64 / 2  # one request per group of texts, not one per prompt


def test_provider_batch_reports_its_cost_against_the_normal_api(cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url) + "[profiles.local.price]\ninput = 3.0\noutput = 6.0\n")
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_jobs(source, [f"priced question {i}" for i in range(5)])
    result = cli.run("batch", str(source), "-o", str(out), "--provider-batch")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stderr.decode().splitlines() if "Batch API vs" in x)
    words = line.split()
    batch_cost, normal_cost = float(words[3]), float(words[9])
    usage = [row["usage"] for row in read_lines(out)]
    expected = sum(u["input_tokens"] * 3.0 + u["output_tokens"] * 6.0 for u in usage) / 1e6
    assert normal_cost == round(expected, 4) and batch_cost == round(expected / 2, 4)


def test_batches_use_exact_repeats_but_not_paraphrases_unless_asked(cli: Cli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"

    def run(prompts: list[str], *flags: str) -> list[Any]:
        write_jobs(source, prompts)
        result = cli.run("batch", str(source), "-o", str(out), *flags)
        assert result.returncode == 0, result.stderr
        return [line["cached"] for line in read_lines(out)]

    assert run(["What is the capital of France?"]) == [False]
    assert run(["what's the capital of France", "What is the capital of France?"]) == [
        False, "exact"]
    # With --semantic a batch indexes its answers and serves paraphrases of them.
    assert run(["How many moons does Mars have?"], "--semantic") == [False]
    assert run(["how many moons does Mars have"], "--semantic") == ["semantic"]
