"""``llmx.fallback`` as a library: which errors move a call to the next profile, that each
profile has its own Client, and that nothing moves once a chunk was handed over."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from llmx.config.profile import Profile, load_config
from llmx.engine import Client
from llmx.errors import (
    AuthError,
    ConfigError,
    LlmxError,
    ProviderError,
    RateLimitError,
    RefusedError,
    RequestTimeout,
    StreamError,
    TransportError,
    UsageError,
)
from llmx.fallback import Fallback, Switch, first_answer, may_fall_back
from llmx.prepare import Call
from llmx.sim import SimOptions, SimServer

T = TypeVar("T")
STATUS = {"busy.test": 429, "auth.test": 401, "bad.test": 400, "down5.test": 503}


@pytest.mark.parametrize(("error", "moves"), [
    (RateLimitError("429"), True),
    (TransportError("cannot connect"), True),
    (RequestTimeout("no answer within 60s"), True),
    (ProviderError("500", status=500), True),
    (ProviderError("529", status=529), True),
    (StreamError("stream error: overloaded", status=529), True),  # in-band, before output
    (ProviderError("400", status=400), False),
    (ProviderError("no status"), False),
    (StreamError("stream ended early"), False),
    (AuthError("401"), False),
    (UsageError("bad flag"), False),
    (ConfigError("bad key"), False),
    (RefusedError("no"), False),
    (ValueError("a bug"), False),
])
def test_which_errors_move_on(error: BaseException, moves: bool) -> None:
    assert may_fall_back(error) is moves


def gateway(sent: list[str]) -> Any:
    """Hosts by name: ``down.test`` refuses connections, ``STATUS`` hosts answer that status,
    any other host answers with its own name."""
    from llmx.providers.http import HttpEngine

    def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        sent.append(host)
        if host == "down.test":
            raise httpx.ConnectError("[Errno 111] Connection refused")
        if host in STATUS:
            return httpx.Response(STATUS[host], json={"error": {"message": f"{host} says no"}})
        return httpx.Response(200, json={
            "id": "x", "object": "chat.completion", "model": request.url.host,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"from {host}"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2}})

    transport = httpx.MockTransport(handler)
    return HttpEngine(transport_factory=lambda ep: transport)


def profiles(*hosts: str) -> list[Profile]:
    tables = {host.split(".")[0]: {"provider": "openai", "model": "m", "retries": 0,
                                   "base_url": f"http://{host}/v1"} for host in hosts}
    config = load_config({"profiles": tables})
    return [config.profiles[host.split(".")[0]] for host in hosts]


def run_chain(hosts: tuple[str, ...], fn: Callable[[Fallback], Awaitable[T]]
              ) -> tuple[T, list[str], list[Switch]]:
    sent: list[str] = []
    switches: list[Switch] = []

    async def main() -> T:
        engine = gateway(sent)
        made = lambda profile: Client(profile, engine=engine, state=False)  # noqa: E731
        async with Fallback(profiles(*hosts), client=made, on_switch=switches.append) as chain:
            out = await fn(chain)
        await engine.aclose()
        return out

    return asyncio.run(main()), sent, switches


def test_a_refused_connection_is_answered_by_the_next_profile() -> None:
    async def ask(chain: Fallback) -> Any:
        answer = chain.stream("hello", wire_stream=False)
        completion = await answer.collect()
        return completion, answer.profile.name, answer.switches

    (completion, profile, switches), sent, noted = run_chain(("down.test", "ok.test"), ask)
    assert completion.text == "from ok.test" and profile == "ok"
    assert sent == ["down.test", "ok.test"]
    assert noted == list(switches) and [(s.failed, s.to) for s in switches] == [("down", "ok")]
    assert isinstance(switches[0].error, TransportError)
    assert switches[0].note() == ("note: profile 'down' failed (cannot connect to down.test: "
                                  "connection refused); profile 'ok' answers now")


def test_statuses_move_on_in_order_and_the_last_error_is_raised() -> None:
    async def ask(chain: Fallback) -> Any:
        with pytest.raises(LlmxError) as raised:
            await chain.generate("hello")
        return raised.value

    error, sent, noted = run_chain(("busy.test", "down5.test", "auth.test", "ok.test"), ask)
    assert isinstance(error, AuthError)  # 401: never moves on, so ok.test is not asked
    assert sent == ["busy.test", "down5.test", "auth.test"]
    assert [(s.failed, s.to) for s in noted] == [("busy", "down5"), ("down5", "auth")]


@pytest.mark.parametrize("host", ["auth.test", "bad.test"])
def test_auth_and_bad_requests_do_not_move_on(host: str) -> None:
    async def ask(chain: Fallback) -> Any:
        with pytest.raises(LlmxError) as raised:
            await chain.generate("hello")
        return raised.value

    error, sent, noted = run_chain((host, "ok.test"), ask)
    assert type(error) is (AuthError if host == "auth.test" else ProviderError)
    assert sent == [host] and noted == []


def test_each_profile_has_its_own_client_opened_when_first_needed() -> None:
    async def ask(chain: Fallback) -> Any:
        first = await chain.generate("one")
        second = await chain.generate("two", Call(model="only-for-the-first"))
        return first, second, chain.profile.name

    (first, second, name), sent, noted = run_chain(("down.test", "ok.test"), ask)
    assert name == "down" and first.text == second.text == "from ok.test"
    assert sent == ["down.test", "ok.test", "down.test", "ok.test"]
    assert len(noted) == 2


def test_a_chain_of_one_and_a_working_first_profile_never_switch() -> None:
    async def ask(chain: Fallback) -> Any:
        return await chain.generate("hello")

    completion, sent, noted = run_chain(("ok.test", "down.test"), ask)
    assert completion.text == "from ok.test" and sent == ["ok.test"] and noted == []


def test_of_reads_the_chain_from_the_config() -> None:
    config = load_config({"profiles": {
        "a": {"provider": "openai", "model": "m", "fallback": ["b", "c"]},
        "b": {"provider": "openai", "model": "m", "fallback": ["c", "sim"]},
        "c": {"provider": "openai", "model": "m"}}})
    chain = Fallback.of(config, "a", client=lambda p: Client(p, state=False))
    assert [p.name for p in chain.profiles] == ["a", "b", "c", "sim"]
    assert repr(chain) == "Fallback('a', 'b', 'c', 'sim')"
    with pytest.raises(ValueError, match="first"):
        Fallback(chain.profiles, first=Client(chain.profiles[1], state=False))


def test_a_stream_that_fails_after_its_first_chunk_is_not_moved() -> None:
    """A stream cut mid-way: a connection error, which moves on before any output only."""
    async def main() -> tuple[list[str], LlmxError, int]:
        async with SimServer(SimOptions(cut_rate=1.0)) as sim:
            url = sim.base_url + "/v1"
            chain_profiles = [_with_url(p, url) for p in profiles("one.test", "two.test")]
            pieces: list[str] = []
            made = lambda profile: Client(profile, state=False)  # noqa: E731
            async with Fallback(chain_profiles, client=made) as chain:
                answer = chain.stream("a long story")
                with pytest.raises(LlmxError) as raised:
                    async for chunk in answer:
                        pieces.append(chunk.text)
                assert answer.profile.name == "one" and answer.switches == ()
            return pieces, raised.value, sim.stats()["requests"]

    pieces, error, requests = asyncio.run(main())
    assert "".join(pieces) and isinstance(error, TransportError)
    assert may_fall_back(error)  # it would have moved on before the first chunk
    assert requests == 1


def _with_url(profile: Profile, url: str) -> Profile:
    from llmx.values import replaced

    return replaced(profile, base_url=url)


def test_first_answer_moves_on_only_for_errors_that_may_fall_back() -> None:
    async def main(errors: list[BaseException | None]) -> tuple[object, list[int], list[Switch]]:
        tried: list[int] = []
        switches: list[Switch] = []

        async def attempt(index: int) -> str:
            tried.append(index)
            error = errors[index]
            if error is not None:
                raise error
            return f"answer {index}"

        try:
            out: object = await first_answer(["a", "b", "c"], attempt, switches.append)
        except LlmxError as exc:
            out = exc
        return out, tried, switches

    out, tried, switches = asyncio.run(main([TransportError("down"), RateLimitError("429"),
                                             None]))
    assert out == "answer 2" and tried == [0, 1, 2]
    assert [(s.failed, s.to) for s in switches] == [("a", "b"), ("b", "c")]
    out, tried, switches = asyncio.run(main([AuthError("401"), None, None]))
    assert isinstance(out, AuthError) and tried == [0] and switches == []
    last = RateLimitError("429 again")
    out, tried, _ = asyncio.run(main([TransportError("down"), TransportError("down"), last]))
    assert out is last and tried == [0, 1, 2]
