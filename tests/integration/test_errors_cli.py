"""Every user-facing failure: its own exit code, one `error:` line (+ hint), no traceback."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from llmx.errors import ExitCode
from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import Sim, profile_toml


def assert_clean_failure(result: object, code: ExitCode, *needles: str) -> str:
    stderr = result.stderr.decode()  # type: ignore[attr-defined]
    assert result.returncode == code, stderr  # type: ignore[attr-defined]
    assert result.stdout == b""  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    assert all(line.startswith(("error: ", "hint: ", "note: ")) for line in lines), stderr
    for needle in needles:
        assert needle in errors[0], stderr
    return errors[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_malformed_toml_names_file_and_line(cli: InProcessCli) -> None:
    path = cli.write_config('default_profile = "x"\n[profiles.x]\nprovider = "openai\n')
    result = cli.run("ask", "hi")
    assert_clean_failure(result, ExitCode.USAGE, path.name, ":3")


def test_unknown_profile_lists_the_available_ones(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url, name="work"))
    line = assert_clean_failure(cli.run("ask", "-p", "wrok", "hi"), ExitCode.USAGE, "wrok")
    assert "work" in line and "sim" in line


def test_unknown_key_suggests_the_right_one(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url) + "temprature = 0.5\n")
    assert_clean_failure(cli.run("ask", "hi"), ExitCode.USAGE, "temprature", "temperature")


def test_missing_api_key_variable_is_named(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url, api_key_env="LLMX_TEST_MISSING_KEY"))
    assert_clean_failure(cli.run("ask", "hi"), ExitCode.AUTH, "LLMX_TEST_MISSING_KEY")


def test_401_is_an_auth_error(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url, api_key_env="LLMX_TEST_KEY"))
    result = cli.run("ask", "hi", env={"LLMX_TEST_KEY": "sim-invalid"})
    assert_clean_failure(result, ExitCode.AUTH, "401")


def test_429_after_retries(cli: InProcessCli, sim_factory: Callable[..., Sim]) -> None:
    limited = sim_factory("--rate-limit-rate", "1.0")
    cli.write_config(profile_toml(limited.url, retries=2))
    assert_clean_failure(cli.run("ask", "hi"), ExitCode.RATE_LIMITED, "429")


def test_connection_refused(cli: InProcessCli) -> None:
    cli.write_config(profile_toml(f"http://127.0.0.1:{free_port()}", retries=0))
    assert_clean_failure(cli.run("ask", "hi"), ExitCode.NETWORK, "connection refused")


def test_timeout(cli: InProcessCli, sim_factory: Callable[..., Sim]) -> None:
    stalled = sim_factory("--stall-rate", "1.0")
    cli.write_config(profile_toml(stalled.url, timeout=0.5, retries=0))
    assert_clean_failure(cli.run("ask", "hi"), ExitCode.NETWORK, "0.5s")


def test_invalid_utf8_on_stdin(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config(profile_toml(sim.url))
    assert_clean_failure(cli.run("ask", "-", stdin=b"caf\xe9"), ExitCode.USAGE, "UTF-8")


@pytest.mark.parametrize("argv", [["ask", "--max-tokens", "many", "hi"], ["nosuchcommand"]])
def test_bad_usage_exits_2(cli: InProcessCli, argv: list[str]) -> None:
    result = cli.run(*argv)
    assert result.returncode == ExitCode.USAGE
    assert b"Traceback" not in result.stderr
