"""A sentinel API key goes through success and failure paths and is found nowhere.

The commands run in-process (``cli`` is ``cli_here`` in this module): what is checked is
what llmx writes (stdout, stderr, files), not how a process starts; the simulators are
real processes over loopback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Cli, InProcessCli, Sim, profile_toml

SENTINEL = "sk-llmx-SENTINEL-7f3a9c1e5d"


@pytest.fixture
def cli(cli_here: InProcessCli) -> Cli:
    return cli_here


def leaks(cli: Cli, outputs: list[bytes]) -> list[str]:
    found = [f"output #{i}" for i, data in enumerate(outputs) if SENTINEL.encode() in data]
    state = Path(cli.env["LLMX_HOME"])
    for path in [cli.home, state]:
        if not path.exists():
            continue
        for file in path.rglob("*"):
            if file.is_file() and SENTINEL.encode() in file.read_bytes():
                found.append(str(file))
    return found


@pytest.mark.parametrize("debug", ["0", "1"])
def test_sentinel_key_never_leaks(cli: Cli, sim_factory: Callable[..., Sim], debug: str) -> None:
    healthy = sim_factory()
    failing = sim_factory("--fail-rate", "1.0")
    limited = sim_factory("--rate-limit-rate", "1.0")
    env = {"LLMX_TEST_KEY": SENTINEL, "LLMX_DEBUG": debug}
    outputs: list[bytes] = []
    cases = [(healthy, ("ask", "hi")), (healthy, ("ask", "--json", "hi")),
             (healthy, ("config", "show")), (failing, ("ask", "hi")),
             (limited, ("ask", "--no-stream", "hi")), (healthy, ("ask", "--max-tokens", "x", "hi"))]
    for server, argv in cases:
        cli.write_config(profile_toml(server.url, api_key_env="LLMX_TEST_KEY", retries=1))
        result = cli.run(*argv, env=env)
        outputs += [result.stdout, result.stderr]
    refused = profile_toml("http://127.0.0.1:9", api_key_env="LLMX_TEST_KEY", retries=0)
    cli.write_config(refused)
    result = cli.run("ask", "hi", env=env)
    outputs += [result.stdout, result.stderr]
    assert result.returncode == 5
    assert leaks(cli, outputs) == []


def test_api_key_cmd_output_never_leaks(cli: Cli, sim: Sim) -> None:
    head, tail = SENTINEL[:8], SENTINEL[8:]
    command = f"{sys.executable} -c \"print('{head}' + '{tail}')\""
    cli.write_config(profile_toml(sim.url, api_key_cmd=command))
    outputs = []
    for argv in (("ask", "hi"), ("config", "show")):
        result = cli.run(*argv, env={"LLMX_DEBUG": "1"})
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr]
    assert leaks(cli, outputs) == []


ECHOED = "sim-echo-SENTINEL-3b9d0c7e41"  # the simulator answers 401 repeating this key


def anthropic_toml(url: str) -> str:
    return ('default_profile = "claude"\n[profiles.claude]\nprovider = "anthropic"\n'
            f'model = "sim-1"\nbase_url = "{url}"\napi_key_env = "LLMX_TEST_KEY"\n'
            "retries = 1\n")


def echo_leaks(cli: Cli, outputs: list[bytes]) -> list[str]:
    needle = ECHOED.encode()
    found = [f"output #{i}" for i, data in enumerate(outputs) if needle in data]
    found += [str(f) for f in cli.home.rglob("*") if f.is_file() and needle in f.read_bytes()]
    return found


@pytest.mark.parametrize("debug", ["0", "1"])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_key_echoed_by_the_provider_is_found_nowhere(cli: Cli, sim: Sim, debug: str,
                                                     provider: str) -> None:
    """The provider's 401 repeats the key: stdout, stderr, the output file and every
    file under $LLMX_HOME stay free of it, with and without LLMX_DEBUG."""
    if provider == "openai":
        cli.write_config(profile_toml(sim.url, api_key_env="LLMX_TEST_KEY", retries=1))
    else:
        cli.write_config(anthropic_toml(sim.url))
    env = {"LLMX_TEST_KEY": ECHOED, "LLMX_DEBUG": debug}
    source, out = cli.home / "jobs.jsonl", cli.home / "answers.jsonl"
    source.write_text("".join(f'{{"id": "q{i}", "prompt": "question {i}"}}\n' for i in range(3)))
    outputs: list[bytes] = []
    for argv in (("ask", "hi"), ("ask", "--no-stream", "hi"), ("ask", "--json", "hi"),
                 ("batch", str(source), "-o", str(out)), ("batch", str(source))):
        result = cli.run(*argv, env=env)
        assert result.returncode in (3, 7), (argv, result.returncode, result.stderr)
        outputs += [result.stdout, result.stderr]
        if argv[0] == "ask":
            assert b"401" in result.stderr
    if debug == "1":
        assert any(b"Traceback" in data for data in outputs)
    assert out.exists() and out.stat().st_size > 0
    assert echo_leaks(cli, outputs) == []
