"""``llmx ask --tools / --tool-choice / --schema``, refusals and their exit codes: the CLI
in-process (``tests/cli/harness.py``) talking HTTP to a real ``llmx sim`` in each of the
three dialects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmx.errors import ExitCode
from llmx.jsonshape import problem
from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import Sim, http_get

PARAMETERS = {"type": "object", "properties": {
    "city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city", "unit"], "additionalProperties": False}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                           "parameters": PARAMETERS}},
         {"type": "function", "function": {"name": "get_time", "parameters": {
             "type": "object", "properties": {"zone": {"type": "string"}}}}}]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"},
                                           "confidence": {"type": "number", "minimum": 0,
                                                          "maximum": 1}},
          "required": ["answer", "confidence"], "additionalProperties": False}
UNMATCHABLE = {"type": "object", "properties": {"code": {"type": "string",
                                                         "pattern": "^[0-9]{3}$"}},
               "required": ["code"]}  # the simulator cannot produce a pattern's match
BASES = {"openai": "/v1", "anthropic": "", "ollama": ""}


def configure(cli: InProcessCli, sim: Sim, provider: str = "openai") -> None:
    cli.env["ANTHROPIC_API_KEY"] = "sim-key"
    cli.write_config(f'default_profile = "t"\n[profiles.t]\nprovider = "{provider}"\n'
                     f'model = "sim-1"\nbase_url = "{sim.url}{BASES[provider]}"\n')


def write(cli: InProcessCli, name: str, value: Any) -> str:
    path = cli.home / name
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return str(path)


@pytest.mark.parametrize("provider", list(BASES))
def test_tools_json_carries_the_parsed_calls(cli: InProcessCli, sim: Sim,
                                             provider: str) -> None:
    configure(cli, sim, provider)
    tools = write(cli, "tools.json", TOOLS)
    first = cli.run("ask", "--tools", tools, "--tool-choice", "get_weather", "--json",
                    "weather in Paris?")
    assert first.returncode == 0, first.err
    obj = json.loads(first.out)
    assert obj["finish_reason"] == "tool_calls" and obj["cached"] is False
    [call] = obj["tool_calls"]
    assert call["name"] == "get_weather" and call["id"]
    assert problem(call["arguments"], PARAMETERS) is None  # parsed: an object, not text
    again = json.loads(cli.run("ask", "--tools", tools, "--tool-choice", "get_weather",
                               "--json", "weather in Paris?").out)
    assert again["cached"] == "exact" and again["tool_calls"] == obj["tool_calls"]
    other = json.loads(cli.run("ask", "--tools", tools, "--tool-choice", "get_time",
                               "--json", "weather in Paris?").out)
    assert other["cached"] is False  # keyed with the tool choice
    # Ollama has no tool_choice: the model (here the simulator) picks, the first tool
    expected = "get_weather" if provider == "ollama" else "get_time"
    assert [c["name"] for c in other["tool_calls"]] == [expected]


def test_json_has_tool_calls_when_asked_with_tools_and_none_came(cli: InProcessCli,
                                                                  sim: Sim) -> None:
    configure(cli, sim)
    result = cli.run("ask", "--json", "--tools", write(cli, "tools.json", TOOLS),
                     "--tool-choice", "none", "hello")
    assert result.returncode == 0, result.err
    obj = json.loads(result.out)
    assert obj["tool_calls"] == [] and obj["text"] and obj["finish_reason"] == "stop"


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_tool_calls_without_json_are_json_lines_and_a_note(cli: InProcessCli, sim: Sim,
                                                           stream: str) -> None:
    configure(cli, sim)
    result = cli.run("ask", stream, "--tools", write(cli, "tools.json", TOOLS),
                     "--tool-choice", "required", "weather?")
    assert result.returncode == 0, result.err
    lines = [json.loads(line) for line in result.out.splitlines() if line.strip()]
    assert [line["name"] for line in lines] == ["get_weather"]
    assert set(lines[0]) == {"id", "name", "arguments"}
    assert "note: the model called 1 tool (get_weather)" in result.err


@pytest.mark.parametrize("provider", list(BASES))
@pytest.mark.parametrize("as_file", [True, False], ids=["file", "inline"])
def test_schema_answer_is_json_that_follows_it(cli: InProcessCli, sim: Sim, provider: str,
                                               as_file: bool) -> None:
    configure(cli, sim, provider)
    schema = write(cli, "schema.json", SCHEMA) if as_file else json.dumps(SCHEMA)
    result = cli.run("ask", "--schema", schema, "rate this")
    assert result.returncode == 0, result.err
    assert problem(json.loads(result.out), SCHEMA) is None


@pytest.mark.parametrize("provider", list(BASES))
def test_schema_mismatch_exits_10_says_why_and_is_not_cached(cli: InProcessCli, sim: Sim,
                                                             provider: str) -> None:
    configure(cli, sim, provider)
    schema = write(cli, "schema.json", UNMATCHABLE)
    for _ in range(2):
        result = cli.run("ask", "--json", "--schema", schema, "a code please")
        assert result.returncode == ExitCode.SCHEMA_MISMATCH == 10, result.err
        assert json.loads(result.out)["cached"] is False  # the answer is still printed
        [line] = result.err.strip().splitlines()
        assert line.startswith("error: the answer does not follow --schema: $.code")


@pytest.mark.parametrize(("provider", "flags"), [
    ("openai", ["--stream"]), ("openai", ["--no-stream"]), ("openai", ["--json"]),
    ("anthropic", ["--stream"]), ("anthropic", ["--json"]),
])
def test_a_refusal_exits_9_with_its_text_on_stderr_and_is_not_cached(
        cli: InProcessCli, sim: Sim, provider: str, flags: list[str]) -> None:
    configure(cli, sim, provider)
    for _ in range(2):
        result = cli.run("ask", *flags, "do something bad [[sim:refusal]]")
        assert result.returncode == ExitCode.REFUSED == 9, result.err
        assert result.err.strip().splitlines()[-1].startswith("error: the model refused")
        if "--json" in flags:
            obj = json.loads(result.out)
            assert obj["cached"] is False and obj["finish_reason"] == "refusal"
            if provider == "openai":
                assert obj["text"] == "" and "can't help" in obj["refusal"]
        elif provider == "openai":
            assert "can't help" not in result.out
        if provider == "openai":
            assert "can't help with that" in result.err

    assert http_get(f"{sim.url}/sim/stats", timeout=10).json()["requests"] == 2


def test_a_content_filter_exits_9(cli: InProcessCli, sim: Sim) -> None:
    configure(cli, sim)
    result = cli.run("ask", "--no-stream", "hmm [[sim:content_filter]]")
    assert result.returncode == 9
    assert "content filter" in result.err.strip().splitlines()[-1]


BAD = [
    (["--tools", "{missing}"], "cannot read --tools file"),
    (["--tools", "{tools:not json}"], "is not valid JSON"),
    (["--tools", '{tools:{"type": "function"}}'], "must be a non-empty JSON list"),
    (["--tools", '{tools:[{"name": "f"}]}'], "item 0 is not"),
    (["--tools", '{tools:[{"type": "function", "function": {}}]}'], 'has no function "name"'),
    (["--tools", "{tools:" + json.dumps(TOOLS + TOOLS[:1]) + "}"], "twice"),
    (["--tools", "{tools:" + json.dumps(TOOLS) + "}", "--tool-choice", "nope"],
     "--tool-choice 'nope' is none of"),
    (["--tool-choice", "auto"], "--tool-choice needs --tools"),
    (["--schema", '{"type": "array"}'], "must describe an object"),
    (["--schema", "{not json"], "--schema is not valid JSON"),
    (["--schema", "{missing}"], "cannot read --schema file"),
    (["--schema", "{}", "--tools", "{tools:" + json.dumps(TOOLS) + "}"],
     "cannot be combined"),
]


@pytest.mark.parametrize(("flags", "needle"), BAD, ids=[needle for _, needle in BAD])
def test_bad_tool_flags_are_one_error_line_exit_2(cli: InProcessCli, sim: Sim,
                                                  flags: list[str], needle: str) -> None:
    configure(cli, sim)
    words = []
    for flag in flags:
        if flag.startswith("{tools:"):
            flag = write(cli, "t.json", flag[len("{tools:"):-1])
        elif flag == "{missing}":
            flag = str(Path(cli.home) / "no-such-file.json")
        words.append(flag)
    result = cli.run("ask", *words, "hello")
    result.assert_one_error(ExitCode.USAGE, needle)

    assert http_get(f"{sim.url}/sim/stats", timeout=10).json()["requests"] == 0
