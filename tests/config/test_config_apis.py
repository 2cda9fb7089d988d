"""The profile keys of the current OpenAI APIs and Azure: `api`, `deployment`,
`api_version`, `token_param`, `send_temperature` — good values resolve, bad ones are one
`error:` line naming the key, exit code 2."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from llmx.config.profile import load_config, resolve_profile
from llmx.config.settings import Profile
from llmx.errors import ConfigError
from llmx.providers.azure import AzureCodec
from llmx.providers.openai import OpenAICodec
from llmx.providers.registry import codec_for_profile
from llmx.providers.responses import ResponsesCodec
from tests.cli.harness import Cli, private_home

OPENAI = 'provider = "openai"\nmodel = "gpt-5-mini"\n'
AZURE = 'provider = "azure"\nmodel = "gpt-5-mini"\nbase_url = "https://r.openai.azure.com"\n'


def load(body: str) -> Profile:
    return resolve_profile(load_config(tomllib.loads("[profiles.p]\n" + body)), "p")


def test_defaults_and_set_values() -> None:
    plain = load(OPENAI)
    assert (plain.api, plain.token_param, plain.send_temperature) == (
        None, None, None)  # unset api: Chat Completions
    set_ = load(OPENAI + 'api = "responses"\ntoken_param = "max_tokens"\n'
                'send_temperature = false\n')
    assert (set_.api, set_.token_param, set_.send_temperature) == (
        "responses", "max_tokens", False)
    azure = load(AZURE + 'deployment = "d"\napi_version = "2024-10-21"\n')
    assert (azure.deployment, azure.api_version) == ("d", "2024-10-21")
    assert azure.api_key_env == "AZURE_OPENAI_API_KEY"


def test_codec_follows_the_profile() -> None:
    assert isinstance(codec_for_profile(load(OPENAI)), OpenAICodec)
    responses = codec_for_profile(load(OPENAI + 'api = "responses"\n'))
    assert isinstance(responses, ResponsesCodec)
    assert isinstance(codec_for_profile(load(AZURE)), AzureCodec)


BAD = [
    (OPENAI + 'api = "completions"\n', "profiles.p.api: expected one of chat, responses"),
    (OPENAI + 'api = 1\n', "profiles.p.api: expected a string"),
    (OPENAI + 'token_param = "max_output_tokens"\n',
     "profiles.p.token_param: expected one of max_tokens, max_completion_tokens"),
    (OPENAI + 'send_temperature = "yes"\n', "profiles.p.send_temperature: expected true or false"),
    (OPENAI + 'deployment = "d"\n',
     "profiles.p.deployment: only for provider azure (this profile's is openai)"),
    (OPENAI + 'api_version = "2024-10-21"\n', "profiles.p.api_version: only for provider azure"),
    ('provider = "anthropic"\nmodel = "c"\napi = "responses"\n',
     "profiles.p.api: only for provider openai or azure (this profile's is anthropic)"),
    ('provider = "ollama"\nmodel = "c"\nsend_temperature = true\n',
     "profiles.p.send_temperature: only for provider openai or azure"),
    (AZURE + 'api_version = "2024-10-21"\n', "profiles.p.deployment: missing: with `api_version`"),
    ('provider = "azure"\nmodel = "m"\n', "profiles.p: provider azure has no public endpoint"),
    (AZURE + 'deployment = ""\n', "profiles.p.deployment:"),
    (AZURE + '[profiles.p.cache]\nembedder = "provider"\n',
     "profiles.p.cache.embedder: provider azure has no embeddings API in llmx"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_bad_values_name_the_key(body: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(body)
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize(("body", "message"), BAD[:1] + BAD[4:5] + BAD[9:10])
def test_bad_values_exit_2_with_one_error_line(tmp_path: Path, body: str, message: str) -> None:
    cli = Cli(*private_home(tmp_path))
    cli.write_config("[profiles.p]\n" + body)
    for args in (("config", "show", "-p", "p"), ("ask", "-p", "p", "hello")):
        result = cli.run(*args)
        assert result.returncode == 2
        lines = result.stderr.decode().splitlines()
        assert lines[0].startswith("error: ") and message in lines[0]
        assert [line for line in lines if line.startswith("error")] == lines[:1]
        assert result.stdout == b""
