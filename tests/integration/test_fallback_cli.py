"""`fallback = [...]` end to end: `llmx ask` in-process (one test as a real process) against
real `llmx sim` processes with faults; the next profile answers only when the call failed
after its retries on 429, 5xx, in-band overload or a connection error, before any output."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from llmx.errors import ExitCode
from tests.cli.harness import InProcessCli, Result, in_process_cli  # noqa: F401
from tests.integration.conftest import http_get
from tests.integration.test_errors_cli import assert_clean_failure, free_port

SimFactory = Callable[..., Any]


def served(url: str) -> int:
    return int(http_get(f"{url}/sim/stats", timeout=10).json()["requests"])


def chain_toml(profiles: Mapping[str, Mapping[str, object]], default: str = "main") -> str:
    """One OpenAI-dialect profile per entry (``url`` is the server's root), in order."""
    lines = [f'default_profile = "{default}"']
    for name, values in profiles.items():
        lines += [f"[profiles.{name}]", 'provider = "openai"',
                  f'model = "{values.get("model", "sim-1")}"',
                  f'base_url = "{values["url"]}/v1"']
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()
                  if key not in ("url", "model")]
    return "\n".join(lines) + "\n"


def records(cli: InProcessCli) -> list[dict[str, Any]]:
    folder = Path(cli.env["LLMX_HOME"]) / "records"
    rows = [json.loads(line) for f in sorted(folder.glob("*.jsonl"))
            for line in f.read_text().splitlines()]
    return sorted(rows, key=lambda row: row["ts"])


def notes(result: Result) -> list[str]:
    return [line for line in result.err.splitlines() if line.startswith("note: ")]


def refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_refused_connection_is_answered_by_the_next_profile(cli: InProcessCli,
                                                           sim: Any) -> None:
    dead = refused_url()
    cli.write_config(chain_toml({"main": {"url": dead, "retries": 1, "fallback": ["backup"]},
                                 "backup": {"url": sim.url}}))
    result = cli.run("ask", "hello there")
    assert result.returncode == 0, result.err
    assert result.out.strip()
    assert notes(result) == [f"note: profile 'main' failed (cannot connect to "
                             f"{dead.removeprefix('http://')}: connection refused); "
                             "profile 'backup' answers now"]
    assert served(sim.url) == 1
    rows = records(cli)
    assert [(r["profile"], r["status"], r["error"]) for r in rows] == [
        ("main", "error", "TransportError"), ("backup", "ok", None)]


def test_json_names_the_profile_that_answered(cli: InProcessCli, sim: Any) -> None:
    cli.write_config(chain_toml({"main": {"url": refused_url(), "retries": 0,
                                          "fallback": ["backup"]},
                                 "backup": {"url": sim.url, "model": "sim-2"}}))
    result = cli.run("ask", "--json", "hello there")
    assert result.returncode == 0, result.err
    answer = json.loads(result.out)
    assert answer["profile"] == "backup" and answer["model"] == "sim-2"
    assert answer["text"] and answer["finish_reason"] == "stop"
    assert len(notes(result)) == 1


def test_429_after_retries_moves_on(cli: InProcessCli, sim: Any,
                                    sim_factory: SimFactory) -> None:
    limited = sim_factory("--rate-limit-rate", "1.0")
    cli.write_config(chain_toml({"main": {"url": limited.url, "retries": 1,
                                          "fallback": ["backup"]},
                                 "backup": {"url": sim.url}}))
    result = cli.run("ask", "--no-stream", "hello there")
    assert result.returncode == 0, result.err
    (note,) = notes(result)
    assert "profile 'main' failed" in note and "429" in note and "'backup' answers" in note
    assert served(limited.url) == 2 and served(sim.url) == 1  # its retry, then the next


def test_inband_overload_after_retries_moves_on(cli: InProcessCli, sim: Any) -> None:
    # Both profiles on one simulator: the first three requests with this prompt are
    # answered by an in-band overload (main and its two retries), the fourth normally.
    cli.write_config(chain_toml({"main": {"url": sim.url, "retries": 2,
                                          "fallback": ["backup"]},
                                 "backup": {"url": sim.url, "model": "sim-2"}}))
    result = cli.run("ask", "--json", "a story [[sim:overloaded*3]]")
    assert result.returncode == 0, result.err
    assert json.loads(result.out)["profile"] == "backup"
    (note,) = notes(result)
    assert "overloaded" in note
    assert served(sim.url) == 4


def test_each_switch_has_its_note_and_the_last_error_is_the_exit(
        cli: InProcessCli, sim_factory: SimFactory) -> None:
    failing = sim_factory("--fail-rate", "1.0")
    limited = sim_factory("--rate-limit-rate", "1.0")
    cli.write_config(chain_toml({
        "main": {"url": refused_url(), "retries": 0, "fallback": ["second"]},
        "second": {"url": failing.url, "retries": 0, "fallback": ["third"]},
        "third": {"url": limited.url, "retries": 0}}))
    result = cli.run("ask", "hello there")
    assert_clean_failure(result, ExitCode.RATE_LIMITED, "429")
    assert [n.split(";")[1] for n in notes(result)] == [" profile 'second' answers now",
                                                       " profile 'third' answers now"]
    assert [(r["profile"], r["status"]) for r in records(cli)] == [
        ("main", "error"), ("second", "error"), ("third", "error")]


@pytest.mark.parametrize(("key", "prompt", "code", "needle"), [
    ("sim-invalid", "hello there", ExitCode.AUTH, "401"),
    (None, "hello [[sim:load]]", ExitCode.PROVIDER, "400"),  # no OpenAI equivalent: 400
])
def test_auth_and_bad_request_do_not_fall_back(cli: InProcessCli, sim: Any,
                                               sim_factory: SimFactory, key: str | None,
                                               prompt: str, code: ExitCode,
                                               needle: str) -> None:
    backup = sim_factory("--latency-ms", "1")
    main: dict[str, object] = {"url": sim.url, "fallback": ["backup"]}
    if key is not None:
        main["api_key_env"] = "LLMX_TEST_KEY"
    cli.write_config(chain_toml({"main": main, "backup": {"url": backup.url}}))
    result = cli.run("ask", prompt, env={"LLMX_TEST_KEY": key or ""})
    assert_clean_failure(result, code, needle)
    assert notes(result) == []
    assert served(backup.url) == 0


def test_a_stream_cut_midway_does_not_fall_back(cli: InProcessCli, sim: Any,
                                                sim_factory: SimFactory) -> None:
    cut = sim_factory("--cut-rate", "1.0")
    cli.write_config(chain_toml({"main": {"url": cut.url, "fallback": ["backup"]},
                                 "backup": {"url": sim.url}}))
    result = cli.run("ask", "tell me a long story")
    # A connection error, which falls back before any output; here text was written.
    assert result.returncode == ExitCode.NETWORK, result.err
    assert result.out  # the partial answer stays where it was written
    assert "closed mid-response" in result.err and notes(result) == []
    assert served(sim.url) == 0


@pytest.mark.parametrize(("fallbacks", "needles"), [
    ({"main": ["backup"], "backup": ["main"]}, ("profiles.main.fallback",  # checked by name
                                                "cycle: backup -> main -> backup")),
    ({"main": ["main"]}, ("profiles.main.fallback", "cycle: main -> main")),
    ({"main": ["bakup"]}, ("profiles.main.fallback", "unknown profile 'bakup'",
                           "did you mean 'backup'?")),
])
def test_a_cycle_or_an_unknown_name_is_refused(cli: InProcessCli, sim: Any,
                                               fallbacks: dict[str, list[str]],
                                               needles: tuple[str, ...]) -> None:
    profiles: dict[str, dict[str, object]] = {"main": {"url": sim.url}, "backup": {"url": sim.url}}
    for name, names in fallbacks.items():
        profiles[name]["fallback"] = names
    cli.write_config(chain_toml(profiles))
    result = cli.run("ask", "hello there")
    result.assert_one_error(ExitCode.USAGE, *needles)
    assert served(sim.url) == 0


def test_a_flag_a_fallback_cannot_take_is_refused_before_sending(cli: InProcessCli,
                                                                 sim: Any) -> None:
    cli.write_config(chain_toml({"main": {"url": refused_url(), "fallback": ["claude"]}})
                     + f'[profiles.claude]\nprovider = "anthropic"\nmodel = "sim-1"\n'
                       f'base_url = "{sim.url}"\n')
    result = cli.run("ask", "--temperature", "1.5", "hello there")
    result.assert_one_error(ExitCode.USAGE, "--temperature", "anthropic")
    assert served(sim.url) == 0


def test_a_real_process_falls_back_and_answers(cli: InProcessCli, sim: Any) -> None:
    """The acceptance test: a profile whose endpoint refuses connections falls back to the
    next one and answers (``llmx ask`` as users run it)."""
    cli.write_config(chain_toml({"main": {"url": refused_url(), "fallback": ["backup"]},
                                 "backup": {"url": sim.url}}))
    result = cli.run_process("ask", "hello there")
    assert result.returncode == 0, result.err
    assert result.out.strip() and len(notes(result)) == 1
    assert served(sim.url) == 1


def write_lines(path: Path, lines: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_batch_lines_fall_back_with_one_note_per_pair(cli: InProcessCli, sim: Any) -> None:
    cli.write_config(chain_toml({"main": {"url": refused_url(), "retries": 0,
                                          "fallback": ["backup"]},
                                 "backup": {"url": sim.url, "model": "sim-2"},
                                 "plain": {"url": sim.url}}))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_lines(source, [*({"id": f"q{i}", "prompt": f"question {i}"} for i in range(5)),
                         {"id": "own", "prompt": "asked of plain", "profile": "plain"}])
    result = cli.run("batch", str(source), "-o", str(out), "-j", "4")
    assert result.returncode == 0, result.err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == [*(f"q{i}" for i in range(5)), "own"]
    assert all(line["text"] and "error" not in line for line in lines)
    assert len(notes(result)) == 1 and "'backup' answers now" in notes(result)[0]
    assert served(sim.url) == 6
    rows = Counter((r["profile"], r["status"], r["model"]) for r in records(cli))
    assert rows == {("main", "error", "sim-1"): 5, ("backup", "ok", "sim-2"): 5,
                    ("plain", "ok", "sim-1"): 1}


def test_batch_lines_that_fail_for_good_do_not_fall_back(cli: InProcessCli, sim: Any,
                                                        sim_factory: SimFactory) -> None:
    backup = sim_factory("--latency-ms", "1")
    cli.write_config(chain_toml({"main": {"url": sim.url, "api_key_env": "LLMX_TEST_KEY",
                                          "fallback": ["backup"]},
                                 "backup": {"url": backup.url}}))
    source, out = cli.home / "in.jsonl", cli.home / "out.jsonl"
    write_lines(source, [{"id": "a", "prompt": "one"}, {"id": "b", "prompt": "two"}])
    result = cli.run("batch", str(source), "-o", str(out),
                     env={"LLMX_TEST_KEY": "sim-invalid"})
    assert result.returncode == ExitCode.PARTIAL, result.err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["error"]["type"] for line in lines] == ["AuthError", "AuthError"]
    assert notes(result) == [] and served(backup.url) == 0
