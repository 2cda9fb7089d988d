"""The simulator reads image parts as each provider does: the official SDKs send them, a
malformed or mismatched part is a 400 in the provider's shape, and a good image joins the
prompt as its marker line (``llmx.sim.images``)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import anthropic
import httpx
import openai
import pytest

from llmx.sim import SimServer
from tests.attach.kit import GIF, JPEG, png
from tests.sim.simkit import with_sim

PNG = png(2, 3)
B64 = base64.b64encode(PNG).decode()
URL = f"data:image/png;base64,{B64}"
MARK = f"[image image/png {len(PNG)} bytes sha256:{hashlib.sha256(PNG).hexdigest()[:12]}]"


def test_openai_sdk_chat_image_url_part() -> None:
    async def run(sim: SimServer) -> None:
        async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x",
                                      max_retries=0) as client:
            reply = await client.chat.completions.create(model="sim-1", messages=[
                {"role": "user", "content": [{"type": "text", "text": "what is it"},
                                             {"type": "image_url", "image_url": {"url": URL}}]}])
            bare = await client.chat.completions.create(model="sim-1", messages=[
                {"role": "user", "content": "what is it"}])
        assert reply.choices[0].message.content
        assert reply.usage is not None and bare.usage is not None
        assert reply.usage.prompt_tokens > bare.usage.prompt_tokens
        assert sim.stats()["recent_prompts"][0] == f"what is it\n{MARK}"

    with_sim(run)


def test_openai_sdk_responses_input_image() -> None:
    async def run(sim: SimServer) -> None:
        async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x",
                                      max_retries=0) as client:
            reply = await client.responses.create(model="sim-1", input=[
                {"role": "user", "content": [{"type": "input_text", "text": "see"},
                                             {"type": "input_image", "image_url": URL,
                                              "detail": "auto"}]}])
        assert reply.output_text
        assert sim.stats()["recent_prompts"][0] == f"see\n{MARK}"

    with_sim(run)


def test_anthropic_sdk_base64_image_block() -> None:
    async def run(sim: SimServer) -> None:
        async with anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x",
                                            max_retries=0) as client:
            reply = await client.messages.create(model="sim-1", max_tokens=20, messages=[
                {"role": "user", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                 "data": B64}},
                    {"type": "text", "text": "look"}]}])
            with pytest.raises(anthropic.BadRequestError, match="does not match"):
                await client.messages.create(model="sim-1", max_tokens=5, messages=[
                    {"role": "user", "content": [{"type": "image", "source": {
                        "type": "base64", "media_type": "image/jpeg", "data": B64}}]}])
        assert reply.content and sim.stats()["recent_prompts"][0] == f"{MARK}\nlook"

    with_sim(run)


BAD: list[tuple[str, str, dict[str, Any], str]] = [
    ("openai", "/v1/chat/completions", {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}]},
     "invalid base64"),
    ("openai", "/v1/chat/completions", {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0="}}]}]},
     "Invalid MIME type"),
    ("openai", "/v1/chat/completions", {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": "data:image/png;base64,x"}]}]}, "expected an object"),
    ("openai", "/v1/chat/completions", {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,"
                                            + base64.b64encode(b"text").decode()}}]}]},
     "not a supported image"),
    ("responses", "/v1/responses", {"input": [{"role": "user", "content": [
        {"type": "input_image", "image_url": "file:///x.png"}]}]}, "data URL"),
    ("anthropic", "/v1/messages", {"max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/tiff",
                                     "data": B64}}]}]}, "media_type"),
    ("anthropic", "/v1/messages", {"max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": "A" * (5 * 1024 * 1024 + 4)}}]}]},
     "exceeds 5 MB"),
    ("ollama", "/api/chat", {"messages": [{"role": "user", "content": "x",
                                           "images": ["not base64!"]}]}, "invalid base64"),
    ("ollama", "/api/chat", {"messages": [{"role": "user", "content": "x",
                                           "images": "abc"}]}, "list"),
]


@pytest.mark.parametrize(("dialect", "path", "body", "needle"), BAD,
                         ids=[f"{d}-{n}" for d, _, _, n in BAD])
def test_a_malformed_image_is_a_400(dialect: str, path: str, body: dict[str, Any],
                                    needle: str) -> None:
    async def run(sim: SimServer) -> None:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            reply = await client.post(path, json={"model": "sim-1", "stream": False, **body},
                                      headers={"x-api-key": "x", "anthropic-version": "1"})
        assert reply.status_code == 400, reply.text
        assert needle in reply.text

    with_sim(run)


def test_ollama_images_of_each_type_become_markers() -> None:
    async def run(sim: SimServer) -> None:
        images = [base64.b64encode(data).decode() for data in (PNG, JPEG, GIF)]
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            reply = await client.post("/api/chat", json={"model": "llava", "stream": False,
                                                         "messages": [{"role": "user",
                                                                       "content": "three",
                                                                       "images": images}]})
        assert reply.status_code == 200, reply.text
        lines = sim.stats()["recent_prompts"][0].splitlines()
        assert lines[0] == "three" and lines[1] == MARK
        assert [line.split()[1] for line in lines[1:]] == ["image/png", "image/jpeg",
                                                           "image/gif"]

    with_sim(run)
