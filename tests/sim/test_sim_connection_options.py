"""The simulator's connection options: a set-up delay per new connection
(``connect_delay_ms``) and closing idle connections (``idle_close_ms``)."""

from __future__ import annotations

import asyncio
import time

import pytest

from llmx.cli.sim_cmd import check_options
from llmx.errors import UsageError
from llmx.sim import SimOptions, SimServer

from .simkit import with_sim

GET = b"GET /sim/stats HTTP/1.1\r\nhost: sim\r\n\r\n"


async def answer_s(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> float:
    """Send one stats request, read its whole answer; the seconds it took."""
    started = time.perf_counter()
    writer.write(GET)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    return time.perf_counter() - started


def test_a_new_connection_waits_for_the_set_up_delay_and_later_requests_do_not() -> None:
    async def go(sim: SimServer) -> tuple[float, float, float]:
        r1, w1 = await asyncio.open_connection("127.0.0.1", sim.port)
        first = await answer_s(r1, w1)
        again = await answer_s(r1, w1)
        r2, w2 = await asyncio.open_connection("127.0.0.1", sim.port)
        await asyncio.sleep(0.3)  # opened early: set up by the time it is used
        early = await answer_s(r2, w2)
        w1.close()
        w2.close()
        return first, again, early

    first, again, early = with_sim(go, connect_delay_ms=250)
    assert first >= 0.25
    assert again < 0.25 and early < 0.25


def test_an_idle_connection_is_closed_after_idle_close_ms_and_counted() -> None:
    async def go(sim: SimServer) -> tuple[bytes, int, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        await answer_s(reader, writer)
        started = time.perf_counter()
        rest = await asyncio.wait_for(reader.read(), timeout=5)  # b"" once closed
        writer.close()
        return rest, sim.stats()["idle_closed"], time.perf_counter() - started

    rest, closed, after_s = with_sim(go, idle_close_ms=100)
    assert rest == b"" and closed == 1
    assert after_s >= 0.09


def test_a_slow_request_is_never_closed_as_idle() -> None:
    async def go(sim: SimServer) -> tuple[int, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        body = b'{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}]}'
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: sim\r\ncontent-type: "
                     b"application/json\r\ncontent-length: %d\r\n\r\n%b" % (len(body), body))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        writer.close()
        return int(head.split(b" ")[1]), sim.stats()["idle_closed"]

    assert with_sim(go, idle_close_ms=50, latency_ms=200) == (200, 0)


def test_a_partly_received_request_keeps_its_connection_open() -> None:
    async def go(sim: SimServer) -> tuple[int, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(GET[:10])
        await asyncio.sleep(0.2)  # longer than idle_close_ms, mid-request
        writer.write(GET[10:])
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        writer.close()
        return int(head.split(b" ")[1]), sim.stats()["idle_closed"]

    assert with_sim(go, idle_close_ms=80) == (200, 0)


@pytest.mark.parametrize("name", ["connect_delay_ms", "idle_close_ms"])
def test_negative_connection_options_are_refused(name: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_options({name: -1.0})
    assert "--" + name.replace("_", "-") in str(caught.value)
    with pytest.raises(ValueError, match=name):
        SimOptions(**{name: -1.0})
