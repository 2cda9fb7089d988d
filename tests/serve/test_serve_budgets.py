"""Per-client budgets from a `[serve.clients.NAME]` table, through real `llmx serve` processes
and the official SDKs: over a budget is a 429 with retry-after in each API's shape; a client
without a key is a 401; a bad table refuses the start with one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.integration.conftest import Sim, profile_toml
from tests.serve.conftest import Serve, run_serve

Factory = Callable[..., Serve]
KEYS = {"CI_KEY": "ci-secret-1", "TEAM_KEYS": "team-secret-1,team-secret-2"}


def _config(sim: Sim, *, ci: str = "rpm = 2", extra: str = "") -> str:
    return (profile_toml(sim.url) + extra
            + f'[serve.clients.ci]\nkey_env = "CI_KEY"\n{ci}\n'
            + '[serve.clients.team]\nkey_env = "TEAM_KEYS"\n')


def _openai(server: Serve, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0, timeout=30)


def _ask(client: openai.OpenAI, text: str) -> str:
    reply = client.chat.completions.create(model="local",
                                           messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content or ""


def test_a_client_over_its_rpm_gets_openai_429s_and_others_are_served(
        sim: Sim, serve_factory: Factory) -> None:
    server = serve_factory(sim, env=KEYS, config=_config(sim))
    ci = _openai(server, "ci-secret-1")
    assert _ask(ci, "first question") and _ask(ci, "second question")
    with pytest.raises(openai.RateLimitError) as caught:
        _ask(ci, "third question")
    response = caught.value.response
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 30  # a request back in 30 s at 2 rpm
    assert int(response.headers["retry-after-ms"]) > 0
    assert response.headers["x-ratelimit-limit-requests"] == "2"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
    assert "Limit 2" in error["message"]
    for key in ("team-secret-1", "team-secret-2"):  # another client, no budget: served
        assert _ask(_openai(server, key), f"question from {key}")
    with pytest.raises(openai.AuthenticationError):
        _ask(_openai(server, "not-a-key"), "no key")
    code, err = server.stop()
    assert code == 0
    assert "429" in err and "client=ci" in err and "client=team" in err
    assert not any(secret in err for value in KEYS.values() for secret in value.split(","))


def test_the_anthropic_route_answers_429_in_its_own_shape(sim: Sim,
                                                          serve_factory: Factory) -> None:
    server = serve_factory(sim, env=KEYS, config=_config(sim, ci="rpm = 1"))
    client = anthropic.Anthropic(base_url=server.url, api_key="ci-secret-1", max_retries=0)

    def ask(text: str) -> None:
        client.messages.create(model="local", max_tokens=64,
                               messages=[{"role": "user", "content": text}])

    ask("the only question this minute")
    with pytest.raises(anthropic.RateLimitError) as caught:
        ask("one too many")
    response = caught.value.response
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    assert response.headers["anthropic-ratelimit-requests-limit"] == "1"
    assert response.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_a_spent_token_budget_holds_the_next_request(sim: Sim, serve_factory: Factory) -> None:
    server = serve_factory(sim, env=KEYS, config=_config(sim, ci="tpm = 5"))
    ci = _openai(server, "ci-secret-1")
    reply = ci.chat.completions.create(model="local",
                                       messages=[{"role": "user", "content": "say a lot"}])
    assert reply.usage is not None and reply.usage.total_tokens > 5  # the budget is spent
    with pytest.raises(openai.RateLimitError) as caught:
        _ask(ci, "and again")
    response = caught.value.response
    assert response.json()["error"]["type"] == "tokens"
    assert response.headers["x-ratelimit-limit-tokens"] == "5"
    # in debt by (tokens - 5) at 5 a minute: the wait says so
    debt = reply.usage.total_tokens - 5
    assert int(response.headers["retry-after"]) >= int(debt * 60 / 5)


def test_a_cache_hit_costs_no_tokens(sim: Sim, serve_factory: Factory) -> None:
    server = serve_factory(sim, env=KEYS, config=_config(sim, ci="tpm = 100000"))
    ci = _openai(server, "ci-secret-1")
    first = _ask(ci, "a repeated question")
    for _ in range(3):
        assert _ask(ci, "a repeated question") == first
    text = httpx.get(server.url + "/metrics", timeout=10,
                     headers={"authorization": "Bearer ci-secret-1"}).text
    assert 'llmx_cache_hits_total{tier="exact"} 3' in text


@pytest.mark.parametrize(("table", "env", "said"), [
    ('[serve.clients.ci]\nkey_env = "sk-live-123"\n', {}, "NAME of an environment variable"),
    ('[serve.clients.ci]\nkey_env = "UNSET_VAR"\n', {}, "UNSET_VAR"),
    ('[serve.clients.ci]\nrpm = 5\n', {}, "key_env"),
    ('[serve.clients.ci]\nkey_env = "CI_KEY"\nrpm = -1\n', KEYS, "rpm"),
    ('[serve]\nclient = 1\n', {}, "did you mean `clients`"),
    ('[serve.clients.a]\nkey_env = "CI_KEY"\n[serve.clients.b]\nkey_env = "CI_KEY"\n', KEYS,
     "give each client its own key"),
], ids=["key-in-file", "unset", "no-key-env", "negative", "unknown-key", "shared-key"])
def test_a_bad_serve_table_refuses_the_start(tmp_path: Path, table: str, env: dict[str, str],
                                             said: str) -> None:
    config = tmp_path / "llmx.toml"
    config.write_text(profile_toml("http://127.0.0.1:9") + table)
    done = run_serve(tmp_path, "--port", "0", "--config", str(config), env=env)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and said in done.stderr, done.stderr
    assert "sk-live-123" not in done.stderr  # a key written by mistake is never echoed
