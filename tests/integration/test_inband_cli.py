"""In-band errors end to end: `llmx ask` (in-process) against `llmx sim` reply shapes."""

from __future__ import annotations

import pytest

from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import Sim, http_get, profile_toml


def sim_requests(sim: Sim, fragment: str) -> int:
    """Requests whose last user message held ``fragment`` (among the recent ones)."""
    recent = http_get(sim.url + "/sim/stats").json()["recent_prompts"]
    return sum(fragment in prompt for prompt in recent)


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_overload_once_before_the_first_token_is_retried_and_answers(cli: InProcessCli, sim: Sim,
                                                                    stream: str) -> None:
    cli.write_config(profile_toml(sim.url, retries=2))
    prompt = f"tell me a story {stream} [[sim:overloaded*1]]"
    result = cli.run("ask", "--no-cache", stream, prompt)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert b"error" not in result.stderr
    assert sim_requests(sim, f"tell me a story {stream}") == 2


@pytest.mark.parametrize(("directive", "code", "words"), [
    ("rate_limited", 4, b"Rate limit"),
    ("overloaded", 5, b"overloaded"),  # like HTTP 503: try again later
    ("error_after_text", 6, b"server had an error"),
    ("error_then_done", 6, b"ran out of memory"),
])
def test_inband_errors_exit_like_their_http_twins(cli: InProcessCli, sim: Sim, directive: str,
                                                  code: int, words: bytes) -> None:
    cli.write_config(profile_toml(sim.url, retries=1))
    result = cli.run("ask", "--no-cache", f"question for {directive} [[sim:{directive}]]")
    assert result.returncode == code, result.stderr
    lines = result.stderr.decode().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and words.decode() in errors[0]
    assert b"Traceback" not in result.stderr


def test_anthropic_overloaded_event_once_is_retried(cli: InProcessCli, sim: Sim) -> None:
    cli.write_config('default_profile = "c"\n[profiles.c]\nprovider = "anthropic"\n'
                     f'model = "sim-1"\nbase_url = "{sim.url}"\nretries = 2\n')
    result = cli.run("ask", "--no-cache", "anthropic story [[sim:overloaded*1]]")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert sim_requests(sim, "anthropic story") == 2
