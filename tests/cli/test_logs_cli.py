"""`llmx ask` keeps each answer in the logs; `-c`/`--cid` continue a conversation; `llmx logs`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401

SIM = ("-p", "sim")
WINDOWED = ('default_profile = "tight"\n[profiles.tight]\nprovider = "openai"\nmodel = "sim-1"\n'
            'base_url = "embedded"\ncontext_window = 256\nmax_tokens = 40\n')


def logs(cli: InProcessCli, *args: str) -> list[dict[str, Any]]:
    result = cli.run("logs", "--json", *args)
    assert result.returncode == 0, result.err
    return [json.loads(line) for line in result.out.splitlines()]


def sent(cli: InProcessCli, *args: str) -> list[dict[str, str]]:
    """The messages `ask ARGS` would send (its --dry-run)."""
    result = cli.run("ask", "--dry-run", "--json", *args)
    assert result.returncode == 0, result.err
    messages: list[dict[str, str]] = json.loads(result.out)["messages"]
    return messages


def state(cli: InProcessCli) -> Path:
    return Path(cli.env["LLMX_HOME"])


def test_continue_sends_the_first_exchange_and_logs_find_it(cli: InProcessCli) -> None:
    first = cli.run("ask", *SIM, "my name is Ann")
    assert first.returncode == 0, first.err
    assert sent(cli, *SIM, "-c", "what is my name?") == [
        {"role": "user", "content": "my name is Ann"},
        {"role": "assistant", "content": first.out.rstrip("\n")},
        {"role": "user", "content": "what is my name?"}]
    alone = json.loads(cli.run("ask", *SIM, "--json", "--no-log", "what is my name?").out)
    again = json.loads(cli.run("ask", *SIM, "--json", "-c", "what is my name?").out)
    assert again["usage"]["input_tokens"] > alone["usage"]["input_tokens"]  # history was sent
    found = logs(cli, "-q", "Ann")
    assert [row["prompt"] for row in found] == ["my name is Ann"]
    turns = logs(cli, "--cid", found[0]["cid"])
    assert [row["prompt"] for row in turns] == ["my name is Ann", "what is my name?"]
    assert turns[1]["answer"] == again["text"] and turns[1]["tier"] == "miss"
    text = cli.run("logs").out
    assert f"conversation {found[0]['cid']}" in text and "## Prompt\nmy name is Ann" in text


def test_no_log_and_a_profile_without_logs_leave_no_trace(cli: InProcessCli) -> None:
    assert cli.run("ask", *SIM, "--no-log", "secret plans").returncode == 0
    cli.write_config('[profiles.quiet]\nprovider = "openai"\nmodel = "sim-1"\n'
                     'base_url = "embedded"\nlogs = false\n')
    assert cli.run("ask", "-p", "quiet", "more secret plans").returncode == 0
    assert sorted(p.name for p in state(cli).iterdir() if p.name.startswith("logs")) == []
    assert cli.run("logs").out == "" and not (state(cli) / "logs.db").exists()


def test_cid_continues_a_given_conversation_by_prefix(cli: InProcessCli) -> None:
    cli.run("ask", *SIM, "first topic")
    cli.run("ask", *SIM, "second topic")
    old = logs(cli, "-q", "first")[0]["cid"]
    assert sent(cli, *SIM, "--cid", old[:6], "more")[0]["content"] == "first topic"
    assert sent(cli, *SIM, "-c", "more")[0]["content"] == "second topic"
    cli.run("ask", *SIM, "--cid", old, "and a third")
    assert [row["prompt"] for row in logs(cli, "--cid", old)] == ["first topic", "and a third"]


def test_unknown_or_malformed_conversation_ids_are_usage_errors(cli: InProcessCli) -> None:
    cli.run("ask", *SIM, "hello")
    cli.run("ask", *SIM, "--cid", "zzzz", "hi").assert_one_error(2, "no conversation zzzz")
    cli.run("ask", *SIM, "--cid", "a b", "hi").assert_one_error(2, "not a conversation id")
    cli.run("logs", "--cid", "a*").assert_one_error(2, "not a conversation id")
    cli.run("logs", "-n", "-1").assert_one_error(2, "-n -1")
    cli.run("logs", "-q", " ").assert_one_error(2, "-q")
    assert cli.run("logs", "--cid", "zzzz").out == ""


def test_continue_with_nothing_logged_starts_a_conversation(cli: InProcessCli) -> None:
    result = cli.run("ask", *SIM, "-c", "hello")
    assert result.returncode == 0 and "no earlier conversation" in result.err
    assert len(logs(cli)) == 1


def test_a_cache_hit_is_logged_as_one(cli: InProcessCli) -> None:
    cli.run("ask", *SIM, "same question")
    cli.run("ask", *SIM, "same question")
    rows = logs(cli)
    assert [row["tier"] for row in rows] == ["miss", "exact"] and rows[0]["cid"] != rows[1]["cid"]
    assert rows[0]["answer"] == rows[1]["answer"]


def test_a_long_history_is_fitted_with_the_marker(cli: InProcessCli) -> None:
    cli.write_config(WINDOWED)
    long = " ".join(f"word{i}" for i in range(150))
    assert cli.run("ask", long).returncode == 0
    messages = sent(cli, "-c", "and now?")
    assert "earlier message" in messages[0]["content"] and messages[-1]["content"] == "and now?"


def test_logs_that_cannot_be_written_cost_one_warning(cli: InProcessCli) -> None:
    (state(cli) / "logs.pending").mkdir(parents=True)
    result = cli.run("ask", *SIM, "hello")
    assert result.returncode == 0 and result.out.strip()
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "conversation log" in warnings[0], result.err


def test_logs_path_and_an_empty_log(cli: InProcessCli) -> None:
    assert cli.run("logs", "path").out == f"{state(cli) / 'logs.db'}\n"
    empty = cli.run("logs")
    assert empty.returncode == 0 and empty.out == "" and not state(cli).exists()


def test_eight_processes_asking_at_once_lose_no_log(cli: InProcessCli) -> None:
    prompts = "".join(f"question number {i}\n" for i in range(16))
    done = subprocess.run(["xargs", "-P", "8", "-I", "{}", sys.executable, "-m", "llmx", "ask",
                           "-p", "sim", "--no-stdin", "{}"], input=prompts.encode(),
                          capture_output=True, env=cli.env, cwd=cli.home, timeout=600)
    assert done.returncode == 0, done.stderr
    assert b"locked" not in done.stderr and b"warning" not in done.stderr
    rows = logs(cli, "-n", "0")
    assert sorted(row["prompt"] for row in rows) == sorted(prompts.splitlines())
