"""Conversations, chat, templates and logs checked on the wire: the CLI in-process sends
through a recording loopback server (``tests.attach.kit.Recorder``) to a real ``llmx sim``,
so each test reads the exact request bodies the simulator received, then the logs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.attach.kit import Recorder, recording
from tests.cli.canned import canned
from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import Sim, _sims, sim, sim_factory  # noqa: F401


@pytest.fixture
def recorder(sim: Sim) -> Iterator[Recorder]:  # noqa: F811
    with recording(sim.url) as found:
        yield found


def configure(cli: InProcessCli, url: str, extra: str = "") -> None:
    cli.write_config(f'default_profile = "t"\n[profiles.t]\nprovider = "openai"\n'
                     f'model = "sim-1"\nbase_url = "{url}/v1"\n{extra}')


def messages(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in body["messages"]]


def logs(cli: InProcessCli, *args: str) -> list[dict[str, Any]]:
    done = cli.run("logs", "-n", "0", "--json", *args)
    assert done.returncode == 0, done.err
    return [json.loads(line) for line in done.out.splitlines()]


def state_files(cli: InProcessCli) -> dict[str, bytes]:
    home = Path(cli.env["LLMX_HOME"])
    if not home.exists():
        return {}
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def test_continue_sends_the_first_exchange_to_the_provider(cli: InProcessCli,
                                                           recorder: Recorder) -> None:
    configure(cli, recorder.url)
    first = cli.run("ask", "--no-stream", "my name is Ann")
    assert first.returncode == 0, first.err
    second = cli.run("ask", "--no-stream", "-c", "what is my name?")
    assert second.returncode == 0, second.err
    assert [messages(body) for body in recorder.bodies] == [
        [("user", "my name is Ann")],
        [("user", "my name is Ann"), ("assistant", first.out.rstrip("\n")),
         ("user", "what is my name?")]]
    found = logs(cli, "-q", "Ann")
    assert [row["prompt"] for row in found] == ["my name is Ann"]
    assert [row["prompt"] for row in logs(cli, "--cid", found[0]["cid"])] == [
        "my name is Ann", "what is my name?"]


def test_no_log_leaves_no_trace_of_the_text(cli: InProcessCli, recorder: Recorder) -> None:
    configure(cli, recorder.url)
    done = cli.run("ask", "--no-log", "--no-cache", "zebra quartz plans")
    assert done.returncode == 0 and done.out.strip(), done.err
    assert len(recorder.bodies) == 1  # it was asked ...
    for name, data in state_files(cli).items():  # ... and nothing kept its words
        assert b"zebra" not in data and done.out.strip()[:40].encode() not in data, name
        assert not name.startswith("logs"), name
    assert logs(cli) == []
    # and a later -c does not pick it up as history
    assert cli.run("ask", "--no-stream", "-c", "next").returncode == 0
    assert messages(recorder.bodies[-1]) == [("user", "next")]


def test_chat_from_a_pipe_sends_the_second_turn_with_the_first(cli: InProcessCli,
                                                                recorder: Recorder) -> None:
    configure(cli, recorder.url)
    done = cli.run("chat", stdin=b"hello\nagain\n")
    assert done.returncode == 0, done.err
    one, two = done.out.splitlines()
    assert [messages(body) for body in recorder.bodies] == [
        [("user", "hello")],
        [("user", "hello"), ("assistant", one), ("user", "again")]]
    assert [(row["prompt"], row["answer"]) for row in logs(cli)] == [("hello", one),
                                                                     ("again", two)]


TEMPLATE = ('[templates.review]\nsystem = "You are a careful reviewer."\n'
            'prompt = "Review:\\n{input}\\nFocus on {args}"\ntemperature = 0.2\n')


def test_a_template_reaches_the_provider_with_stdin_and_words(cli: InProcessCli,
                                                               recorder: Recorder) -> None:
    configure(cli, recorder.url, TEMPLATE)
    done = cli.run("ask", "--no-stream", "-t", "review", "naming", stdin=b"+ b = 1\n")
    assert done.returncode == 0, done.err
    (body,) = recorder.bodies
    assert messages(body) == [("system", "You are a careful reviewer."),
                              ("user", "Review:\n+ b = 1\n\nFocus on naming")]
    assert body["temperature"] == 0.2
    (row,) = logs(cli)
    assert row["system"] == "You are a careful reviewer." and row["prompt"].startswith("Review:")


def test_reasoning_is_logged_only_when_shown(cli: InProcessCli, sim: Sim) -> None:  # noqa: F811
    configure(cli, sim.url)
    hidden = cli.run("ask", "--no-cache", "--reasoning-effort", "low", "9.11 or 9.8?")
    shown = cli.run("ask", "--no-cache", "--reasoning-effort", "low", "--show-reasoning",
                    "9.11 or 9.8?")
    assert hidden.returncode == shown.returncode == 0, shown.err
    assert [row["reasoning"] for row in logs(cli)] == [None, shown.err.strip()]
    assert shown.err.strip()


@pytest.fixture
def echo_key() -> Iterator[str]:
    """A loopback OpenAI server whose answer repeats the request's API key."""
    def answer(headers: Mapping[str, str], request: dict[str, Any]) -> str:
        key = headers.get("authorization", "").removeprefix("Bearer ")
        return f"your key is {key}, keep it safe"

    with canned(answer) as url:
        yield url


def test_the_logs_never_hold_the_key_even_when_echoed(cli: InProcessCli, echo_key: str) -> None:
    secret = "plainvalue-7d2e91c4b0a8f3"  # no key shape: only its registration hides it
    configure(cli, echo_key, 'api_key_env = "TEAM_KEY"\n')
    cli.env["TEAM_KEY"] = secret
    done = cli.run("ask", "--no-stream", "-s", f"the key {secret}", f"is {secret} mine?")
    assert done.returncode == 0, done.err
    assert "your key is" in done.out
    files = {name: data for name, data in state_files(cli).items() if name.startswith("logs")}
    assert files and all(secret.encode() not in data for data in files.values())
    (row,) = logs(cli)
    assert row["answer"].startswith("your key is ") and secret not in json.dumps(row)
    assert secret not in cli.run("logs").out


@pytest.mark.parametrize("command", ["chat", "logs", "templates"])
def test_help_shows_examples(cli: InProcessCli, command: str) -> None:
    done = cli.run(command, "--help")
    assert done.returncode == 0, done.err
    _, _, examples = done.out.partition("Examples:")
    assert examples.count(f"llmx {command}") >= 2, done.out


@pytest.mark.parametrize("stream", [True, False])
def test_an_echoed_key_reaches_no_output_and_no_state(cli: InProcessCli, echo_key: str,
                                                      stream: bool) -> None:
    secret = "plainvalue-7d2e91c4b0a8f3"  # no key shape: only its registration hides it
    configure(cli, echo_key, 'api_key_env = "TEAM_KEY"\n')
    cli.env["TEAM_KEY"] = secret
    flags = [] if stream else ["--no-stream"]
    asked = cli.run("ask", *flags, "what is my key?")
    again = cli.run("ask", "--json", *flags, "what is my key?")  # answered by the cache
    assert asked.returncode == again.returncode == 0, asked.err + again.err
    assert asked.out.startswith("your key is ") and json.loads(again.out)["cached"] == "exact"
    for said in (asked.out, asked.err, again.out, again.err):
        assert secret not in said and secret[:12] not in said
    leaked = [name for name, data in state_files(cli).items() if secret.encode() in data]
    assert leaked == []
