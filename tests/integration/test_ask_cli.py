"""`llmx ask` end to end: the CLI in-process talking HTTP to a real `llmx sim` process;
`test_smoke_*` run the same as a real `llmx` process."""

from __future__ import annotations

import json

from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import Sim, http_get, http_post, profile_toml


def direct_answer(sim: Sim, prompt: str) -> str:
    body = {"model": "sim-1", "messages": [{"role": "user", "content": prompt}]}
    reply = http_post(f"{sim.url}/v1/chat/completions", json=body, timeout=10).json()
    return str(reply["choices"][0]["message"]["content"])


def requests_served(sim: Sim) -> int:
    return int(http_get(f"{sim.url}/sim/stats", timeout=10).json()["requests"])


def test_piped_output_is_only_the_answer(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    result = cli.run("ask", "hello")
    assert result.returncode == 0, result.stderr
    expected = direct_answer(sim, "hello")
    assert result.stdout.decode() == expected + ("" if expected.endswith("\n") else "\n")
    assert b"\x1b[" not in result.stdout


def test_no_stream_matches_the_streamed_answer(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    streamed = cli.run("ask", "compare", "these")
    whole = cli.run("ask", "--no-stream", "compare", "these")
    assert streamed.returncode == whole.returncode == 0
    assert streamed.stdout == whole.stdout


def test_json_is_one_object_with_the_documented_fields(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    result = cli.run("ask", "--json", "hello")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert obj["text"] == direct_answer(sim, "hello")
    assert obj["provider"] == "openai" and obj["model"]
    assert obj["usage"]["input_tokens"] > 0 and obj["usage"]["output_tokens"] > 0
    assert obj["latency_ms"] > 0 and obj["ttft_ms"] is not None
    assert obj["ttft_ms"] <= obj["latency_ms"]
    assert obj["cached"] is False


def test_piped_stdin_is_sent_as_context(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    plain = json.loads(cli.run("ask", "--json", "summarize").stdout)
    with_notes = json.loads(cli.run("ask", "--json", "summarize",
                                    stdin=b"notes: the build broke at step 3\n").stdout)
    sent = "summarize\n\nnotes: the build broke at step 3\n"
    assert with_notes["text"] == direct_answer(sim, sent)
    assert with_notes["usage"]["input_tokens"] > plain["usage"]["input_tokens"]


def test_builtin_sim_profile_needs_no_config_file(cli: InProcessCli) -> None:
    result = cli.run("ask", "-p", "sim", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert not (cli.home / "llmx.toml").exists()


def test_default_profile_without_config_is_sim(cli: InProcessCli) -> None:
    assert cli.run("ask", "hi").returncode == 0


def test_stdin_is_the_prompt_with_dash(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    result = cli.run("ask", "--json", "-", stdin=b"question from a file")
    assert json.loads(result.stdout)["text"] == direct_answer(sim, "question from a file")


def test_version_and_help(cli: InProcessCli) -> None:
    version = cli.run("--version")
    assert version.returncode == 0 and version.stdout.startswith(b"llmx ")
    helptext = cli.run("--help")
    assert helptext.returncode == 0
    for code in (b"130", b"rate-limited", b"partial"):
        assert code in helptext.stdout


def test_first_use_says_the_answer_came_from_the_simulator(cli: InProcessCli) -> None:
    """README's first example with no config: an answer, and one note saying where from."""
    result = cli.run("ask", "why is the sky blue?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and b"simulator" not in result.stdout
    notes = result.stderr.decode().strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith("note: ")
    assert "built-in simulator" in notes[0] and "llmx config init" in notes[0]


def test_no_first_use_note_when_the_simulator_was_chosen(cli: InProcessCli, sim: Sim) -> None:
    assert cli.run("ask", "-p", "sim", "hi").stderr == b""
    cli.write_config('default_profile = "sim"\n')
    assert cli.run("ask", "hi").stderr == b""
    cli.write_config(profile_toml(sim.url))
    assert cli.run("ask", "hi").stderr == b""


def test_smoke_a_real_process_answers_as_the_in_process_run_does(cli: InProcessCli,
                                                                 sim: Sim) -> None:
    """One real `python -m llmx` ask (cache off: both runs ask the simulator) and
    --version: the entry point, sys.exit and the interpreter's exit, which no in-process
    run has."""
    cli.write_config(profile_toml(sim.url) + '[profiles.local.cache]\nmode = "off"\n')
    real = cli.run_process("ask", "smoke test question")
    assert real.returncode == 0, real.stderr
    assert real.stdout == cli.run("ask", "smoke test question").stdout
    assert b"\x1b[" not in real.stdout and real.stderr == b""
    version = cli.run_process("--version")
    assert (version.returncode, version.stdout) == (0, cli.run("--version").stdout)
