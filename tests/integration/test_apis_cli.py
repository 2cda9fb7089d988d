"""`llmx ask` over the Responses API and Azure routes, against a real `llmx sim` process."""

from __future__ import annotations

import json

import httpx

from tests.cli.harness import InProcessCli
from tests.integration.conftest import Sim


def endpoints(sim: Sim) -> dict[str, int]:
    stats: dict[str, int] = httpx.get(f"{sim.url}/sim/stats", timeout=10).json()["by_endpoint"]
    return stats


def test_responses_profile_streams_and_answers_whole(cli_here: InProcessCli, sim: Sim) -> None:
    cli_here.write_config(f"""
[profiles.r]
provider = "openai"
api = "responses"
model = "gpt-5-mini"
base_url = "{sim.url}/v1"
temperature = 0.2
""")
    streamed = cli_here.run("ask", "-p", "r", "--no-cache", "say hi")
    whole = cli_here.run("ask", "-p", "r", "--no-cache", "--no-stream", "--json", "say hi")
    assert streamed.returncode == whole.returncode == 0, streamed.stderr + whole.stderr
    answer = json.loads(whole.stdout)
    assert streamed.stdout.decode().rstrip("\n") == answer["text"] and answer["text"]
    assert answer["usage"]["output_tokens"] > 0 and answer["finish_reason"] == "stop"
    assert endpoints(sim)["/v1/responses"] == 2


def test_azure_profile_sends_to_the_deployment_route(cli_here: InProcessCli, sim: Sim) -> None:
    cli_here.write_config(f"""
[profiles.az]
provider = "azure"
model = "gpt-5-mini"
base_url = "{sim.url}"
deployment = "dep-1"
api_version = "2024-10-21"
api_key_env = "MY_AZURE_KEY"
max_tokens = 5
""")
    ok = cli_here.run("ask", "-p", "az", "--no-cache", "--json", "hello",
                      env={"MY_AZURE_KEY": "az-key"})
    refused = cli_here.run("ask", "-p", "az", "--no-cache", "hello",
                           env={"MY_AZURE_KEY": "sim-invalid"})
    assert ok.returncode == 0, ok.stderr
    answer = json.loads(ok.stdout)
    assert answer["provider"] == "azure" and answer["usage"]["output_tokens"] == 5
    assert answer["finish_reason"] == "length"
    assert refused.returncode == 3 and refused.stderr.startswith(b"error: azure 401")
    assert endpoints(sim)["/v1/chat/completions"] == 2
