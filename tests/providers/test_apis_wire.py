"""What goes on the wire for the gpt-5/o-series table, Azure and the Responses API: profiles
loaded from TOML, sent through the real Client, codec and HTTP engine (``MockTransport``)."""

from __future__ import annotations

import asyncio
import json
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmx.config.profile import load_config, resolve_profile
from llmx.engine import Client
from llmx.providers import openai_models
from llmx.providers.http import HttpEngine
from llmx.types import Message, Request

CHAT_REPLY = {"id": "x", "object": "chat.completion", "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": "an answer"}}],
              "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
RESPONSE_REPLY = {"id": "resp_1", "object": "response", "status": "completed", "model": "m",
                  "output": [{"type": "message", "id": "msg_1", "role": "assistant",
                              "status": "completed",
                              "content": [{"type": "output_text", "text": "an answer",
                                           "annotations": []}]}],
                  "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}


def profile(toml: str) -> Any:
    return resolve_profile(load_config(tomllib.loads(toml)), "p")


def send(toml: str, tmp_path: Path, reply: dict[str, Any] = CHAT_REPLY,
         env: dict[str, str] | None = None) -> tuple[httpx.Request, Any]:
    """One non-streamed ask through the Client; (the request sent, the completion)."""
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=reply)

    async def go() -> Any:
        engine = HttpEngine(transport_factory=lambda ep: httpx.MockTransport(handler))
        async with Client(profile(toml), engine=engine, state=False,
                          env={"LLMX_HOME": str(tmp_path), **(env or {})}) as client:
            done = await client.generate("hello")
        await engine.aclose()
        return done

    completion = asyncio.run(go())
    assert len(seen) == 1
    return seen[0], completion


def body(request: httpx.Request) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request.content)
    return data


GPT5 = """
[profiles.p]
provider = "openai"
model = "gpt-5-mini"
base_url = "http://model.test/v1"
max_tokens = 100
temperature = 0.2
"""


def test_gpt5_mini_sends_max_completion_tokens_and_no_temperature(tmp_path: Path) -> None:
    request, done = send(GPT5, tmp_path)
    sent = body(request)
    assert sent["max_completion_tokens"] == 100
    assert "max_tokens" not in sent and "temperature" not in sent
    assert done.text == "an answer"


def test_profile_overrides_win_over_the_table(tmp_path: Path) -> None:
    request, _ = send(GPT5 + 'token_param = "max_tokens"\nsend_temperature = true\n', tmp_path)
    sent = body(request)
    assert sent["max_tokens"] == 100 and sent["temperature"] == 0.2
    assert "max_completion_tokens" not in sent


def test_older_models_keep_max_tokens_and_temperature(tmp_path: Path) -> None:
    request, _ = send(GPT5.replace("gpt-5-mini", "gpt-4o-mini"), tmp_path)
    sent = body(request)
    assert sent["max_tokens"] == 100 and sent["temperature"] == 0.2


@pytest.mark.parametrize(("model", "family"), [
    ("gpt-5", "gpt-5"), ("gpt-5-mini", "gpt-5"), ("gpt-5.1", "gpt-5"), ("GPT-5-nano", "gpt-5"),
    ("openai/gpt-5-mini", "gpt-5"), ("o1", "o1"), ("o1-mini", "o1"), ("o3-pro", "o3"),
    ("o4-mini", "o4"), ("gpt-4o", None), ("gpt-50", None), ("o10", None), ("sim-1", None),
    ("llama-o3", None)])
def test_the_model_table(model: str, family: str | None) -> None:
    assert openai_models.family(model) == family
    fields = openai_models.sampling_fields(Request(model, (Message("user", "q"),),
                                                   temperature=0.5, max_tokens=7))
    if family:
        assert fields == {"max_completion_tokens": 7}
    else:
        assert fields == {"temperature": 0.5, "max_tokens": 7}


AZURE = """
[profiles.p]
provider = "azure"
model = "gpt-5-mini"
base_url = "https://my-res.openai.azure.com"
deployment = "my deploy"
api_version = "2024-10-21"
max_tokens = 100
"""


def test_azure_deployment_url_and_api_key_header(tmp_path: Path) -> None:
    request, done = send(AZURE, tmp_path, env={"AZURE_OPENAI_API_KEY": "az-secret-1"})
    assert request.url.host == "my-res.openai.azure.com"
    assert request.url.raw_path == (
        b"/openai/deployments/my%20deploy/chat/completions?api-version=2024-10-21")
    assert request.headers["api-key"] == "az-secret-1"
    assert "authorization" not in request.headers
    sent = body(request)
    assert sent["model"] == "my deploy"
    assert sent["max_completion_tokens"] == 100  # decided by model, not the deployment name
    assert done.provider == "azure" and done.text == "an answer"


def test_azure_v1_form_has_no_api_version(tmp_path: Path) -> None:
    toml = AZURE.replace('api_version = "2024-10-21"\n', "")
    request, _ = send(toml, tmp_path, env={"AZURE_OPENAI_API_KEY": "az-secret-1"})
    assert request.url.raw_path == b"/openai/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer az-secret-1"  # as Azure's v1 docs
    assert "api-key" not in request.headers


def test_azure_responses_forms(tmp_path: Path) -> None:
    env = {"AZURE_OPENAI_API_KEY": "az-secret-1"}
    dated, _ = send(AZURE + 'api = "responses"\n', tmp_path, RESPONSE_REPLY, env)
    assert dated.url.raw_path == b"/openai/responses?api-version=2024-10-21"
    v1 = AZURE.replace('api_version = "2024-10-21"\n', "") + 'api = "responses"\n'
    request, done = send(v1, tmp_path, RESPONSE_REPLY, env)
    assert request.url.raw_path == b"/openai/v1/responses"
    assert body(request)["max_output_tokens"] == 100 and done.text == "an answer"


def test_azure_key_goes_only_to_azure_hosts(tmp_path: Path) -> None:
    toml = AZURE.replace("https://my-res.openai.azure.com", "http://gateway.test")
    for body in (toml, toml.replace('api_version = "2024-10-21"\n', "")):
        request, _ = send(body, tmp_path, env={"AZURE_OPENAI_API_KEY": "az-secret-1"})
        assert "api-key" not in request.headers and "authorization" not in request.headers


def test_responses_profile_request_body(tmp_path: Path) -> None:
    toml = GPT5 + 'api = "responses"\n'
    request, done = send(toml, tmp_path, RESPONSE_REPLY)
    assert request.url.path == "/v1/responses"
    sent = body(request)
    assert sent["input"] == [{"role": "user", "content": "hello"}]
    assert sent["max_output_tokens"] == 100 and "temperature" not in sent
    assert sent["stream"] is False and sent["store"] is False
    assert done.text == "an answer" and done.usage.output_tokens == 2
