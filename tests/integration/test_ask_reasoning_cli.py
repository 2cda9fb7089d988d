"""``llmx ask --show-reasoning / --reasoning-effort``: the CLI in-process
(``tests/cli/harness.py``) talking HTTP to a real ``llmx sim`` in each of the three dialects.
The simulator reasons only when asked (or for a model named with "reason"), so reasoning
arriving for ``sim-1`` shows the effort reached the wire in that dialect's field."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import Sim

BASES = {"openai": "/v1", "anthropic": "", "ollama": ""}


def configure(cli: InProcessCli, sim: Sim, provider: str = "openai",
              model: str = "sim-1") -> None:
    cli.env["ANTHROPIC_API_KEY"] = "sim-key"
    cli.write_config(f'default_profile = "t"\n[profiles.t]\nprovider = "{provider}"\n'
                     f'model = "{model}"\nbase_url = "{sim.url}{BASES[provider]}"\n')


def requests_seen(sim: Sim) -> int:
    with urllib.request.urlopen(sim.url + "/sim/stats") as response:
        count: int = json.load(response)["requests"]
    return count


@pytest.mark.parametrize("provider", list(BASES))
@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_show_reasoning_goes_to_stderr_only(cli: InProcessCli, sim: Sim, provider: str,
                                            stream: str) -> None:
    configure(cli, sim, provider)
    plain = cli.run("ask", "--no-cache", stream, "9.11 or 9.8?")
    shown = cli.run("ask", "--no-cache", stream, "--reasoning-effort", "low",
                    "--show-reasoning", "9.11 or 9.8?")
    assert plain.returncode == 0 and shown.returncode == 0, shown.err
    assert shown.out == plain.out  # stdout: only the answer, as without reasoning
    thinking = shown.err.strip()
    assert thinking and thinking not in shown.out and "\x1b[" not in shown.err  # a pipe: plain
    hidden = cli.run("ask", "--no-cache", stream, "--reasoning-effort", "low", "9.11 or 9.8?")
    assert hidden.out == plain.out and hidden.err == ""  # asked but not shown: nothing


@pytest.mark.parametrize("provider", list(BASES))
def test_reasoning_effort_reaches_the_wire_and_json_carries_reasoning(
        cli: InProcessCli, sim: Sim, provider: str) -> None:
    configure(cli, sim, provider)
    low = json.loads(cli.run("ask", "--json", "--reasoning-effort", "low", "why?").out)
    high = json.loads(cli.run("ask", "--json", "--reasoning-effort", "high", "why?").out)
    plain = json.loads(cli.run("ask", "--json", "why?").out)
    assert low["reasoning"]
    if provider == "ollama":  # `think: true` for a model without levels: one amount
        assert high["reasoning"] == low["reasoning"]
    else:
        assert len(high["reasoning"]) > len(low["reasoning"])
    assert "reasoning" not in plain  # neither shown nor asked: the key is left out
    assert high["cached"] is False  # the effort is part of the cache key
    assert high["text"] == plain["text"] and high["reasoning"] not in high["text"]


def test_cached_answer_replays_its_reasoning(cli: InProcessCli, sim: Sim) -> None:
    configure(cli, sim, "openai", model="sim-reasoner")
    first = cli.run("ask", "--show-reasoning", "why is the sky blue?")
    again = cli.run("ask", "--show-reasoning", "why is the sky blue?")
    cached = json.loads(cli.run("ask", "--json", "--show-reasoning",
                                "why is the sky blue?").out)
    assert first.err.strip() and again.err == first.err and again.out == first.out
    assert cached["cached"] == "exact" and cached["reasoning"] == first.err.strip()
    assert requests_seen(sim) == 1


def test_bad_effort_is_one_error_and_nothing_is_sent(cli: InProcessCli, sim: Sim) -> None:
    configure(cli, sim)
    result = cli.run("ask", "--reasoning-effort", "extreme", "why?")
    result.assert_one_error(2, "--reasoning-effort", "low, medium, high", "extreme")
    assert requests_seen(sim) == 0


@pytest.mark.parametrize("forced", [["--schema", '{"type":"object"}'],
                                    ["--tools", "TOOLS", "--tool-choice", "required"]])
def test_anthropic_thinking_with_a_forced_tool_is_refused_before_sending(
        cli: InProcessCli, sim: Sim, forced: list[str]) -> None:
    configure(cli, sim, "anthropic")
    tools = cli.home / "tools.json"
    tools.write_text(json.dumps([{"type": "function", "function": {"name": "f"}}]))
    argv = [str(tools) if word == "TOOLS" else word for word in forced]
    result = cli.run("ask", "--reasoning-effort", "low", *argv, "why?")
    result.assert_one_error(2, "--reasoning-effort", "Anthropic")
    assert requests_seen(sim) == 0
