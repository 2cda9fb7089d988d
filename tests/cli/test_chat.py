"""`llmx chat` from a pipe: one turn per line, each sent with the earlier ones."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401

SIM = ("-p", "sim")


def logs(cli: InProcessCli) -> list[dict[str, Any]]:
    result = cli.run("logs", "-n", "0", "--json")
    assert result.returncode == 0, result.err
    return [json.loads(line) for line in result.out.splitlines()]


def lone_input_tokens(cli: InProcessCli, prompt: str) -> int:
    result = cli.run("ask", *SIM, "--json", "--no-log", "--no-cache", prompt)
    return int(json.loads(result.out)["usage"]["input_tokens"])


def test_two_lines_are_two_turns_the_second_with_the_first_as_history(
        cli: InProcessCli) -> None:
    result = cli.run("chat", *SIM, stdin=b"hello\n\n  \nagain\n")
    assert result.returncode == 0, result.err
    rows = logs(cli)
    assert [row["prompt"] for row in rows] == ["hello", "again"]
    assert rows[0]["cid"] == rows[1]["cid"]
    assert result.out == rows[0]["answer"] + "\n" + rows[1]["answer"] + "\n"
    assert rows[1]["input_tokens"] > lone_input_tokens(cli, "again")
    assert "\x1b[" not in result.out


def test_words_are_the_first_turn_and_continue_picks_up_an_ask(cli: InProcessCli) -> None:
    assert cli.run("ask", *SIM, "my name is Ann").returncode == 0
    result = cli.run("chat", *SIM, "-c", "what", "is", "my", "name?", stdin=b"thanks\n")
    assert result.returncode == 0, result.err
    rows = logs(cli)
    assert [row["prompt"] for row in rows] == ["my name is Ann", "what is my name?", "thanks"]
    assert len({row["cid"] for row in rows}) == 1


def test_no_log_keeps_the_history_in_memory_only(cli: InProcessCli) -> None:
    result = cli.run("chat", *SIM, "--no-log", stdin=b"hello\nagain\n")
    assert result.returncode == 0, result.err
    assert len(result.out.splitlines()) == 2 and logs(cli) == []


def test_the_first_error_ends_the_chat_with_its_code(cli: InProcessCli) -> None:
    cli.write_config('[profiles.down]\nprovider = "openai"\nmodel = "m"\n'
                     'base_url = "http://127.0.0.1:9/v1"\nretries = 0\n')
    cli.run("chat", "-p", "down", stdin=b"hello\nagain\n").assert_one_error(5)
    assert logs(cli) == []


def test_options_are_checked_before_anything_is_sent(cli: InProcessCli) -> None:
    cli.run("chat", *SIM, "--temperature", "9", stdin=b"hi\n").assert_one_error(
        2, "--temperature")
    cli.run("chat", *SIM, "--cid", "nope", stdin=b"hi\n").assert_one_error(2, "nope")
    result = cli.run("chat", "--tools", "x.json", stdin=b"hi\n")
    assert result.returncode == 2 and "--tools" in result.err
    assert "Ctrl-C" in cli.run("chat", "--help").out
