"""``refusal_rate`` and ``inband_error_rate``: refusals and in-band errors as seeded fault
options, in each dialect's shape (the same shapes as the ``refusal`` and
``error_after_text`` directives), read by the official SDKs and by llmx's codecs."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from llmx.errors import StreamError
from llmx.sim import SimOptions, SimServer

from .simkit import with_sim
from .test_sim_directives import ask

USER: Any = [{"role": "user", "content": "hello"}]


def test_refusal_rate_one_refuses_every_openai_request() -> None:
    async def go(sim: SimServer) -> None:
        client = openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0)
        async with client:
            reply = await client.chat.completions.create(model="sim-1", messages=USER)
        assert reply.choices[0].message.refusal and reply.choices[0].message.content is None

    with_sim(go, refusal_rate=1.0)


def test_refusal_rate_gives_anthropic_stop_reason_refusal() -> None:
    async def go(sim: SimServer) -> None:
        client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0)
        async with client:
            message = await client.messages.create(model="sim-1", max_tokens=100,
                                                   messages=USER)
        assert message.stop_reason == "refusal"

    with_sim(go, refusal_rate=1.0)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
def test_inband_error_rate_ends_a_stream_with_an_error_after_text(provider: str) -> None:
    async def go(sim: SimServer) -> None:
        with pytest.raises(StreamError):
            await ask(sim, provider, "hello", stream=True)

    with_sim(go, inband_error_rate=1.0)


def test_ollama_has_no_refusal_so_answers_normally() -> None:
    async def go(sim: SimServer) -> None:
        chunks, _ = await ask(sim, "ollama", "hello", stream=False)
        assert chunks[0].text and chunks[0].finish_reason == "stop"

    with_sim(go, refusal_rate=1.0)


def test_the_rates_are_seeded_and_leave_other_faults_alone() -> None:
    def pattern(seed: int) -> list[bool]:
        async def go(sim: SimServer) -> list[bool]:
            out = []
            for i in range(12):
                chunks, _ = await ask(sim, "openai", f"q{i}", stream=False)
                out.append(chunks[0].finish_reason == "refusal")
            return out

        return with_sim(go, refusal_rate=0.5, seed=seed)

    first = pattern(3)
    assert first == pattern(3) and any(first) and not all(first)


def test_rates_outside_zero_to_one_are_refused() -> None:
    with pytest.raises(ValueError, match="refusal_rate"):
        SimOptions(refusal_rate=1.5)
