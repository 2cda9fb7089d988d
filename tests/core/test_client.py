"""The library API against the embedded simulator (real HTTP over loopback, in-process)."""

from __future__ import annotations

import asyncio

from llmx import Client, Completion
from llmx.config.profile import builtin_config, resolve_profile, with_overrides
from llmx.prepare import Call


async def session() -> tuple[Completion, Completion, list[str], dict[str, int]]:
    profile = resolve_profile(builtin_config(), "sim")
    async with Client(profile) as client:
        whole = await client.generate("hello there", Call(max_tokens=12, no_cache=True))
        answer = client.stream("hello there", Call(max_tokens=12, no_cache=True))
        pieces = [chunk.text async for chunk in answer if chunk.text]
        return whole, answer.completion(), pieces, client.stats()


def test_generate_and_stream_agree_and_report_usage_and_timing() -> None:
    whole, streamed, pieces, stats = asyncio.run(session())
    assert whole.text == streamed.text == "".join(pieces)
    assert len(pieces) > 1  # it really streamed
    assert streamed.usage.output_tokens == whole.usage.output_tokens == 12
    assert streamed.usage.input_tokens == whole.usage.input_tokens > 0
    assert streamed.finish_reason == whole.finish_reason
    assert streamed.ttft_ms is not None and 0 < streamed.ttft_ms <= streamed.latency_ms
    assert whole.provider == "openai" and whole.cached is False
    assert stats["requests"] == 2 and stats["retries"] == 0 and stats["clients"] == 1


def test_call_options_override_the_profile() -> None:
    async def go() -> Completion:
        profile = with_overrides(resolve_profile(builtin_config(), "sim"), max_tokens=5)
        async with Client(profile) as client:
            return await client.generate("count", Call(max_tokens=3))

    assert asyncio.run(go()).usage.output_tokens == 3
