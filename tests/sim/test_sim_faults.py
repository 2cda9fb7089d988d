"""Fault injection: 429, 500/503, cut connections and stalls, all seeded."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from llmx.sim import SimOptions, SimServer

from .simkit import wait_for_stats, with_sim

OPENAI = ("/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
ANTHROPIC = (
    "/v1/messages",
    {"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]},
)
OLLAMA = (
    "/api/chat",
    {"model": "m", "stream": False, "messages": [{"role": "user", "content": "hi"}]},
)


@pytest.mark.parametrize(
    "route", [OPENAI, ANTHROPIC, OLLAMA], ids=["openai", "anthropic", "ollama"]
)
def test_rate_limit_has_retry_after_headers_and_provider_body(route: tuple[str, Any]) -> None:
    path, body = route

    async def go(sim: SimServer) -> httpx.Response:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            return await client.post(path, json=body)

    r = with_sim(go, rate_limit_rate=1.0, retry_after_s=0.25)
    assert r.status_code == 429
    assert float(r.headers["retry-after"]) == 0.25
    assert float(r.headers["retry-after-ms"]) == 250
    err = r.json()
    if path == "/api/chat":
        assert isinstance(err["error"], str)
    elif path == "/v1/messages":
        assert err["type"] == "error" and err["error"]["type"] == "rate_limit_error"
        assert r.headers["x-should-retry"] == "true"
    else:
        assert err["error"]["code"] == "rate_limit_exceeded"


def test_failures_are_500_or_503_with_openai_error_bodies() -> None:
    async def go(sim: SimServer) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            return [await client.post(OPENAI[0], json=OPENAI[1]) for _ in range(12)]

    responses = with_sim(go, fail_rate=1.0)
    assert {r.status_code for r in responses} == {500, 503}
    for r in responses:
        error = r.json()["error"]
        assert error["type"] == "server_error" and error["message"]
        assert set(error) == {"message", "type", "param", "code"}


def _statuses(seed: int) -> list[int]:
    async def go(sim: SimServer) -> list[int]:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            return [(await client.post(OPENAI[0], json=OPENAI[1])).status_code for _ in range(24)]

    return with_sim(go, fail_rate=0.3, rate_limit_rate=0.2, seed=seed)


def test_fault_decisions_are_reproducible_from_the_seed() -> None:
    first, again, other = _statuses(7), _statuses(7), _statuses(8)
    assert first == again
    assert first != other
    assert {200, 429} <= set(first) and set(first) & {500, 503}


def test_cut_stream_ends_without_done_and_the_client_sees_a_protocol_error() -> None:
    async def go(sim: SimServer) -> tuple[str, dict[str, Any]]:
        received = ""
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                async with client.stream(
                    "POST", OPENAI[0], json={**OPENAI[1], "stream": True}
                ) as r:
                    assert r.status_code == 200
                    async for text in r.aiter_text():
                        received += text
            stats = await wait_for_stats(client, lambda s: s["open_streams"] == 0)
        return received, stats

    received, stats = with_sim(go, cut_rate=1.0)
    assert '"delta":{"content":' in received  # some tokens arrived before the cut
    assert "[DONE]" not in received
    assert stats["faults"] == {"cut": 1}
    assert stats["open_streams"] == 0 and stats["in_flight"] == 0


def test_cut_non_stream_body_is_incomplete() -> None:
    async def go(sim: SimServer) -> None:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post(OLLAMA[0], json=OLLAMA[1])

    with_sim(go, cut_rate=1.0)


@pytest.mark.parametrize(
    ("option", "stream", "partial"),
    [
        ("stall_rate", False, False),
        ("stall_rate", True, False),
        ("midstream_stall_rate", True, True),
        ("midstream_stall_rate", False, True),
    ],
    ids=["before-headers", "stream-before-headers", "mid-stream", "mid-body"],
)
def test_stall_hangs_until_the_client_gives_up_and_leaks_nothing(
    option: str, stream: bool, partial: bool
) -> None:
    async def go(sim: SimServer) -> tuple[bool, str, dict[str, Any]]:
        got, had_headers = "", False
        timeout = httpx.Timeout(5.0, read=0.2)
        async with httpx.AsyncClient(base_url=sim.base_url, timeout=timeout) as client:
            with pytest.raises(httpx.ReadTimeout):
                body = {**ANTHROPIC[1], "stream": stream}
                async with client.stream("POST", ANTHROPIC[0], json=body) as r:
                    had_headers = True
                    async for text in r.aiter_text():
                        got += text
        async with httpx.AsyncClient(base_url=sim.base_url) as fresh:
            stats = await wait_for_stats(
                fresh, lambda s: s["in_flight"] == 0 and s["open_connections"] == 1
            )
        return had_headers, got, stats

    had_headers, got, stats = with_sim(go, **{option: 1.0})
    assert had_headers is partial
    assert ("text_delta" in got) is (partial and stream)
    assert ('"content":[{"type":"text"' in got) is (partial and not stream)
    assert "message_stop" not in got
    assert stats["faults"] == {"stall" if option == "stall_rate" else "stall_mid": 1}
    assert stats["in_flight"] == 0 and stats["open_streams"] == 0
    assert stats["open_connections"] == 1  # only the stats client's connection is left


def test_closing_the_server_ends_open_streams_and_leaves_no_tasks() -> None:
    async def main() -> set[asyncio.Task[Any]]:
        sim = SimServer(SimOptions(tokens_per_s=5.0))
        await sim.start()
        async with httpx.AsyncClient(timeout=5.0) as client:
            request = client.build_request(
                "POST", sim.base_url + OPENAI[0], json={**OPENAI[1], "stream": True}
            )
            response = await client.send(request, stream=True)
            assert response.status_code == 200
            chunks = response.aiter_bytes()
            await chunks.__anext__()  # the stream is open
            assert sim.stats()["open_streams"] == 1
            await sim.close()
            with pytest.raises(httpx.HTTPError):
                async for _ in chunks:
                    pass
            await response.aclose()
        assert sim.stats()["open_streams"] == 0
        return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

    assert asyncio.run(main()) == set()


def _durations_and_statuses(**options: Any) -> list[tuple[int, int | None]]:
    async def go(sim: SimServer) -> list[tuple[int, int | None]]:
        out: list[tuple[int, int | None]] = []
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            for _ in range(10):
                r = await client.post(OLLAMA[0], json=OLLAMA[1])
                out.append((r.status_code, r.json().get("prompt_eval_duration")))
        return out

    return with_sim(go, **options)


def test_jitter_is_seeded_and_does_not_change_which_requests_fail() -> None:
    plain = _durations_and_statuses(ttft_ms=1.0, fail_rate=0.4, seed=3)
    jittered = _durations_and_statuses(ttft_ms=1.0, fail_rate=0.4, seed=3, jitter=0.5)
    again = _durations_and_statuses(ttft_ms=1.0, fail_rate=0.4, seed=3, jitter=0.5)
    assert jittered == again
    assert [s for s, _ in plain] == [s for s, _ in jittered]
    ok_plain = {d for s, d in plain if s == 200}
    ok_jittered = [d for s, d in jittered if s == 200]
    assert ok_plain == {1_000_000}
    assert all(d is not None and 500_000 <= d <= 1_500_000 for d in ok_jittered)
    assert len(set(ok_jittered)) > 1
