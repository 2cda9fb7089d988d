"""`llmx ask` over the Responses API and Azure routes, against a real `llmx sim` process."""

from __future__ import annotations

import json
import socket

from tests.cli.harness import InProcessCli
from tests.integration.conftest import Sim, http_get


def endpoints(sim: Sim) -> dict[str, int]:
    stats: dict[str, int] = http_get(f"{sim.url}/sim/stats", timeout=10).json()["by_endpoint"]
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


def dead_proxy() -> str:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


def test_the_embedded_simulator_bypasses_a_dead_proxy(cli_here: InProcessCli) -> None:
    dead = {name: f"http://user:pw@{dead_proxy()}" for name in
            ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy")}
    result = cli_here.run_process("ask", "-p", "sim", "--no-cache", "hello", env=dead)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_a_dead_proxy_is_named_in_the_error(cli_here: InProcessCli) -> None:
    cli_here.write_config("""
[profiles.far]
provider = "openai"
model = "gpt-5-mini"
base_url = "https://api.example.test/v1"
retries = 0
""")
    proxy = dead_proxy()
    result = cli_here.run_process("ask", "-p", "far", "--no-cache", "hello",
                                  env={"HTTPS_PROXY": f"http://user:pw@{proxy}"})
    assert result.returncode == 5
    lines = result.stderr.decode().splitlines()
    assert lines[0] == ("error: cannot connect to api.example.test via proxy "
                        f"http://{proxy}: connection refused")
    assert lines[1].startswith("hint: is the proxy up?") and "NO_PROXY" in lines[1]
    assert "pw" not in result.stderr.decode()
