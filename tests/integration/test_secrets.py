"""A sentinel API key goes through success and failure paths and is found nowhere."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Cli, Sim, profile_toml

SENTINEL = "sk-llmx-SENTINEL-7f3a9c1e5d"


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
