"""Single flight inside one Client: identical calls in flight at once are sent once.

Requests are counted by a real simulator over loopback (``SimServer.stats``), or by a
counting mock transport where the provider has to fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from llmx.config.profile import Profile, load_config, resolve_profile
from llmx.engine import Client
from llmx.errors import ProviderError
from llmx.flight import FlightCancelled
from llmx.prepare import Call
from llmx.sim import SimOptions, SimServer
from llmx.types import Completion

T = TypeVar("T")
CHAT = "/v1/chat/completions"


def profile_for(base_url: str, **table: Any) -> Profile:
    config = load_config({"profiles": {"p": {"provider": "openai", "model": "sim-1",
                                             "base_url": base_url, "retries": 0, **table}}})
    return resolve_profile(config, "p")


def with_client(fn: Callable[[Client, SimServer], Awaitable[T]], home: Path, *,
                state: bool = True, **table: Any) -> tuple[T, int]:
    """Run ``fn`` with a Client of a simulator's profile; also the chat requests it got."""

    async def main() -> tuple[T, int]:
        async with SimServer(SimOptions(ttft_ms=20)) as sim:
            profile = profile_for(sim.base_url + "/v1", **table)
            async with Client(profile, env={"LLMX_HOME": str(home)}, state=state) as client:
                out = await fn(client, sim)
            return out, sim.stats()["by_endpoint"].get(CHAT, 0)

    return asyncio.run(main())


@pytest.mark.parametrize("cache", ["on", "mode off", "state=False"])
def test_five_identical_generate_calls_send_one_request(cache: str, tmp_path: Path) -> None:
    async def go(client: Client, sim: SimServer) -> list[Completion]:
        return list(await asyncio.gather(*(client.generate("the same question")
                                           for _ in range(5))))

    table: dict[str, Any] = {"cache": {"mode": "off"}} if cache == "mode off" else {}
    done, requests = with_client(go, tmp_path, state=cache != "state=False", **table)
    assert requests == 1
    assert len({c.text for c in done}) == 1 and done[0].text
    assert all(c.cached is False for c in done)  # a shared answer is fresh, not a hit


def test_a_flight_is_not_a_cache_a_later_identical_call_is_sent_again(tmp_path: Path) -> None:
    async def go(client: Client, sim: SimServer) -> tuple[str, str]:
        first = await client.generate("asked twice")
        second = await client.generate("asked twice")
        return first.text, second.text

    (first, second), requests = with_client(go, tmp_path, cache={"mode": "off"})
    assert requests == 2 and first == second


def test_streamed_followers_get_the_leaders_chunks_as_they_come(tmp_path: Path) -> None:
    async def go(client: Client, sim: SimServer) -> list[list[str]]:
        answers = [client.stream("stream this to three callers", Call(max_tokens=12))
                   for _ in range(3)]

        async def pieces(answer: Any) -> list[str]:
            return [chunk.text async for chunk in answer if chunk.text]

        return list(await asyncio.gather(*(pieces(a) for a in reversed(answers))))

    seen, requests = with_client(go, tmp_path)
    assert requests == 1
    assert len(seen[0]) > 1 and seen[0] == seen[1] == seen[2]  # same boundaries, not a blob


def test_refresh_and_no_cache_calls_share_only_with_their_own_kind(tmp_path: Path) -> None:
    async def go(client: Client, sim: SimServer) -> tuple[list[Completion], int, Completion]:
        await client.generate("q")  # now cached
        before = sim.stats()["by_endpoint"][CHAT]
        calls = [Call(), Call(refresh=True), Call(refresh=True), Call(no_cache=True),
                 Call(no_cache=True)]
        done = list(await asyncio.gather(*(client.generate("q", call) for call in calls)))
        after = sim.stats()["by_endpoint"][CHAT]
        return done, after - before, await client.generate("q", Call(refresh=True))

    (done, sent, again), _ = with_client(go, tmp_path)
    assert done[0].cached == "exact"  # the plain call is a hit
    assert [c.cached for c in done[1:]] == [False] * 4  # refresh, no-cache: never a hit
    assert sent == 2  # one for the two refresh calls, one for the two no-cache calls
    assert again.cached is False


def counting_engine(sent: list[str], status: int = 200) -> Any:
    from llmx.providers.http import HttpEngine

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        await asyncio.sleep(0.01)
        if status != 200:
            return httpx.Response(status, json={"error": {"message": "bad request"}})
        return httpx.Response(200, json={
            "id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "one answer"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2}})

    transport = httpx.MockTransport(handler)
    return HttpEngine(transport_factory=lambda ep: transport)


def test_followers_of_a_failed_request_get_its_error_and_no_second_request(
        tmp_path: Path) -> None:
    sent: list[str] = []

    async def go() -> list[Any]:
        engine = counting_engine(sent, status=400)
        async with Client(profile_for("http://model.test/v1"), engine=engine,
                          env={"LLMX_HOME": str(tmp_path)}) as client:
            out = await asyncio.gather(*(client.generate("fails") for _ in range(3)),
                                       return_exceptions=True)
        await engine.aclose()
        return list(out)

    outcomes = asyncio.run(go())
    assert sent == [CHAT]
    assert all(isinstance(o, ProviderError) and o.status == 400 for o in outcomes)
    assert outcomes[0] is outcomes[1] is outcomes[2]  # the same error, not a made-up answer


def test_a_driver_closed_after_a_chunk_fails_its_follower_with_flight_cancelled(
        tmp_path: Path) -> None:
    """The follower already had a chunk of the abandoned answer: it cannot start over."""
    async def go(client: Client, sim: SimServer) -> tuple[BaseException | None, Completion]:
        driver = client.stream("walked away from", Call(max_tokens=30))
        follower = client.stream("walked away from", Call(max_tokens=30))
        chunks = aiter(driver)
        await anext(chunks)  # the driver's caller reads one chunk, then closes
        await chunks.aclose()  # type: ignore[attr-defined]
        error = None
        try:
            await follower.collect()
        except FlightCancelled as exc:
            error = exc
        return error, await client.generate("walked away from", Call(max_tokens=30))

    (error, retried), requests = with_client(go, tmp_path)
    assert isinstance(error, FlightCancelled)
    assert retried.text and retried.cached is False  # asking again works (a fresh request)
    assert requests == 2


def test_a_driver_cancelled_before_its_first_byte_leaves_its_follower_to_drive(
        tmp_path: Path) -> None:
    """Nothing reached the follower: it sends the request itself, once, and gets a whole
    answer (a proxy's first client hanging up costs the others nothing)."""
    async def go(client: Client, sim: SimServer) -> Completion:
        driver = client.stream("walked away early", Call(max_tokens=30))
        followers = [client.stream("walked away early", Call(max_tokens=30))
                     for _ in range(3)]
        task = asyncio.ensure_future(anext(aiter(driver)))
        await asyncio.sleep(0.005)  # waiting for its first byte
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        done = await asyncio.gather(*(f.collect() for f in followers))
        assert len({c.text for c in done}) == 1
        return done[0]

    answer, requests = with_client(go, tmp_path)
    assert answer.text and answer.finish_reason
    assert requests in (1, 2)  # the cancelled driver's request may not have arrived


def test_a_call_made_after_the_flight_landed_is_a_cache_hit(tmp_path: Path) -> None:
    async def go(client: Client, sim: SimServer) -> list[Completion]:
        first = client.stream("landed")
        follower = client.generate("landed")
        done = await first.collect()
        return [done, await follower, await client.generate("landed")]

    (done, followed, later), requests = with_client(go, tmp_path)
    assert requests == 1
    assert followed.text == done.text and followed.cached is False
    assert later.cached == "exact"
