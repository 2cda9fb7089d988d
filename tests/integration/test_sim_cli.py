"""`llmx sim` as a user meets it: a base URL for scripts, profiles that work when pasted."""

from __future__ import annotations

import subprocess
import threading
import tomllib

import pytest

from tests.integration.conftest import LLMX, Cli, InProcessCli, http_post


@pytest.fixture
def cli(cli_here: InProcessCli) -> Cli:
    """``cli.run`` is in-process here (the CLI harness); the tests that signal, kill or
    redirect a descriptor start their own ``python -m llmx`` with ``cli.env``."""
    return cli_here


def test_printed_profiles_work_when_pasted(cli: Cli) -> None:
    proc = subprocess.Popen([*LLMX, "sim", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = threading.Timer(60, proc.kill)  # a missing line must fail, not hang
    deadline.start()
    try:
        assert proc.stdout is not None and proc.stderr is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and not url.endswith("/v1")
        lines = []
        while not (line := proc.stderr.readline()).startswith("# an OpenAI SDK"):
            assert line, "llmx sim ended before printing its profiles"
            lines.append(line)
        assert f'base_url="{url}/v1"' in line
        profiles = tomllib.loads("".join(lines))["profiles"]
        assert {p["provider"] for p in profiles.values()} == {"openai", "anthropic", "ollama"}
        assert profiles["sim-openai"]["base_url"] == url + "/v1"
        cli.write_config("".join(lines))
        for name in profiles:
            result = cli.run("ask", "-p", name, "hi")
            assert result.returncode == 0, (name, result.stderr)
            assert result.stdout.strip(), name
    finally:
        deadline.cancel()
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.stdout.read() == ""  # stdout held the URL only


def test_a_base_url_without_v1_gets_a_hint(cli: Cli) -> None:
    proc = subprocess.Popen([*LLMX, "sim", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        body = {"model": "sim-1", "messages": [{"role": "user", "content": "hi"}]}
        reply = http_post(f"{url}/chat/completions", json=body, timeout=10)
        assert reply.status_code == 404
        assert "did you mean /v1/chat/completions?" in reply.json()["error"]["message"]
        cli.write_config(f'default_profile = "p"\n[profiles.p]\nprovider = "openai"\n'
                         f'model = "sim-1"\nbase_url = "{url}"\n')
        result = cli.run("ask", "hi")
        assert result.returncode == 6
        assert b"did you mean /v1/chat/completions?" in result.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)
