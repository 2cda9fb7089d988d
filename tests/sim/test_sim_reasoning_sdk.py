"""Reasoning from the simulator, read by the official ``openai`` and ``anthropic`` SDKs and
by plain HTTP for Ollama: a reasoning model (named with "reason") or a request asking for
reasoning gets reasoning in its dialect's shape, never mixed into the answer."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai

from llmx.sim import SimServer

from .simkit import with_sim

USER: Any = [{"role": "user", "content": "9.11 or 9.8?"}]


def test_openai_reasoning_content_whole_and_streamed_agree() -> None:
    async def go(sim: SimServer) -> None:
        async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x",
                                      max_retries=0) as client:
            whole = await client.chat.completions.create(model="sim-reasoner", messages=USER)
            stream = await client.chat.completions.create(
                model="sim-reasoner", messages=USER, stream=True,
                stream_options={"include_usage": True})
            pieces, text, usage = [], [], None
            async for chunk in stream:
                usage = chunk.usage or usage
                for choice in chunk.choices:
                    extra = choice.delta.model_extra or {}
                    pieces.append(extra.get("reasoning_content") or "")
                    text.append(choice.delta.content or "")
            plain = await client.chat.completions.create(model="sim-1", messages=USER)
        message = whole.choices[0].message
        reasoning = (message.model_extra or {})["reasoning_content"]
        assert reasoning and reasoning == "".join(pieces)
        assert message.content == "".join(text) and reasoning not in (message.content or "")
        assert whole.usage is not None and usage is not None
        details = whole.usage.completion_tokens_details
        assert details is not None and details.reasoning_tokens == 16  # medium
        assert whole.usage.completion_tokens > details.reasoning_tokens
        assert "reasoning_content" not in (plain.choices[0].message.model_extra or {})

    with_sim(go)


def test_openai_reasoning_effort_asks_a_plain_model_to_reason() -> None:
    async def go(sim: SimServer) -> None:
        async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x",
                                      max_retries=0) as client:
            reply = await client.chat.completions.create(model="sim-1", messages=USER,
                                                         reasoning_effort="high")
        assert reply.usage is not None and reply.usage.completion_tokens_details is not None
        assert reply.usage.completion_tokens_details.reasoning_tokens == 32

    with_sim(go)


def test_anthropic_thinking_blocks_whole_and_streamed() -> None:
    async def go(sim: SimServer) -> None:
        async with anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x",
                                            max_retries=0) as client:
            thinking: Any = {"type": "enabled", "budget_tokens": 2048}
            whole = await client.messages.create(model="sim-1", max_tokens=4096,
                                                 messages=USER, thinking=thinking)
            async with client.messages.stream(model="sim-1", max_tokens=4096, messages=USER,
                                              thinking=thinking) as stream:
                final = await stream.get_final_message()
            try:
                await client.messages.create(model="sim-1", max_tokens=1000, messages=USER,
                                             thinking=thinking)
            except anthropic.BadRequestError as exc:
                refused = str(exc)
        assert [b.type for b in whole.content] == ["thinking", "text"]
        assert [b.type for b in final.content] == ["thinking", "text"]
        first, second = whole.content[0], final.content[0]
        assert first.type == "thinking" and second.type == "thinking"
        assert first.thinking and first.thinking == second.thinking and second.signature
        assert "budget_tokens" in refused

    with_sim(go)


def test_ollama_think_gives_message_thinking() -> None:
    async def go(sim: SimServer) -> None:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            whole = (await client.post("/api/chat", json={
                "model": "qwen3", "messages": USER, "think": True, "stream": False})).json()
            lines = (await client.post("/api/chat", json={
                "model": "qwen3", "messages": USER, "think": True})).text.splitlines()
            plain = (await client.post("/api/chat", json={
                "model": "qwen3", "messages": USER, "stream": False})).json()
        import json

        objs = [json.loads(line) for line in lines]
        thinking = "".join(o["message"].get("thinking", "") for o in objs)
        assert whole["message"]["thinking"] == thinking and thinking
        assert whole["message"]["content"] == "".join(o["message"]["content"] for o in objs)
        assert "thinking" not in plain["message"]

    with_sim(go)
