"""The simulator's Responses API, Azure routes and model look-up, through the `openai` SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

from llmx.sim import SimServer
from tests.sim.simkit import with_sim


def _client(sim: SimServer, **kw: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0, **kw)


def test_responses_create_json_has_text_usage_and_status() -> None:
    async def run(sim: SimServer) -> None:
        async with _client(sim) as client:
            reply = await client.responses.create(model="sim-1", input="hello there",
                                                  instructions="be brief")
            again = await client.responses.create(model="sim-1", input="hello there",
                                                  instructions="be brief")
        assert reply.status == "completed" and reply.object == "response"
        assert reply.output_text and reply.output_text == again.output_text
        assert reply.output[0].type == "message"
        assert reply.usage is not None and reply.usage.output_tokens > 0
        assert reply.usage.total_tokens == reply.usage.input_tokens + reply.usage.output_tokens
        assert sim.stats()["by_endpoint"]["/v1/responses"] == 2

    with_sim(run)


def test_responses_max_output_tokens_is_incomplete() -> None:
    async def run(sim: SimServer) -> None:
        async with _client(sim) as client:
            reply = await client.responses.create(model="sim-1", input="tell me a story",
                                                  max_output_tokens=3)
        assert reply.status == "incomplete"
        assert reply.incomplete_details is not None
        assert reply.incomplete_details.reason == "max_output_tokens"
        assert reply.usage is not None and reply.usage.output_tokens == 3

    with_sim(run)


def test_responses_stream_events_add_up_to_the_json_answer() -> None:
    async def run(sim: SimServer) -> None:
        async with _client(sim) as client:
            whole = await client.responses.create(model="sim-1", input="stream me")
            stream = await client.responses.create(model="sim-1", input="stream me",
                                                   stream=True)
            events = [event async for event in stream]
        kinds = [e.type for e in events]
        assert kinds[:2] == ["response.created", "response.in_progress"]
        assert kinds[-1] == "response.completed"
        assert [e.sequence_number for e in events] == list(range(len(events)))
        deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert deltas == whole.output_text
        done = events[-1].response
        assert done.output_text == whole.output_text and done.usage == whole.usage

    with_sim(run)


def test_responses_stream_helper_and_incomplete_end() -> None:
    async def run(sim: SimServer) -> None:
        async with _client(sim) as client:
            stream = await client.responses.create(model="sim-1", input="long one",
                                                   stream=True, max_output_tokens=2)
            events = [event async for event in stream]
        assert events[-1].type == "response.incomplete"
        assert events[-1].response.usage is not None
        assert events[-1].response.usage.output_tokens == 2

    with_sim(run)


def test_responses_without_input_is_a_bad_request() -> None:
    async def run(sim: SimServer) -> None:
        async with _client(sim) as client:
            with pytest.raises(openai.BadRequestError) as info:
                await client.post("/responses", body={"model": "sim-1"}, cast_to=object)
        assert "input" in str(info.value)

    with_sim(run)


def test_models_retrieve_known_and_unknown() -> None:
    async def run(sim: SimServer) -> None:
        async with _client(sim) as client:
            model = await client.models.retrieve("sim-1")
            with pytest.raises(openai.NotFoundError) as info:
                await client.models.retrieve("gpt-nope")
        assert model.id == "sim-1" and model.object == "model"
        assert "gpt-nope" in str(info.value)

    with_sim(run)


def _azure(sim: SimServer, **kw: Any) -> openai.AsyncAzureOpenAI:
    return openai.AsyncAzureOpenAI(azure_endpoint=sim.base_url, api_key="azkey",
                                   max_retries=0, **kw)


def test_azure_deployment_route_answers_as_the_deployment() -> None:
    async def run(sim: SimServer) -> None:
        async with _azure(sim, api_version="2024-10-21") as client:
            reply = await client.chat.completions.create(
                model="my-deploy", messages=[{"role": "user", "content": "hi azure"}])
            stream = await client.chat.completions.create(
                model="my-deploy", messages=[{"role": "user", "content": "hi azure"}],
                stream=True)
            text = "".join([c.choices[0].delta.content or "" async for c in stream
                            if c.choices])
        assert reply.model == "my-deploy" and reply.choices[0].message.content == text
        assert sim.stats()["by_endpoint"]["/v1/chat/completions"] == 2

    with_sim(run)


def test_azure_v1_route_and_responses() -> None:
    async def run(sim: SimServer) -> None:
        client = openai.AsyncOpenAI(base_url=sim.base_url + "/openai/v1/", api_key="azkey",
                                    max_retries=0)
        async with client:
            chat = await client.chat.completions.create(
                model="my-deploy", messages=[{"role": "user", "content": "v1"}])
            reply = await client.responses.create(model="my-deploy", input="v1")
        assert chat.choices[0].message.content and reply.output_text

    with_sim(run)


def test_azure_invalid_key_in_api_key_header_is_refused() -> None:
    async def run(sim: SimServer) -> None:
        client = openai.AsyncAzureOpenAI(azure_endpoint=sim.base_url, api_key="sim-invalid",
                                         api_version="2024-10-21", max_retries=0)
        async with client:
            with pytest.raises(openai.AuthenticationError):
                await client.chat.completions.create(
                    model="d", messages=[{"role": "user", "content": "hi"}])

    with_sim(run)


def test_azure_deployment_route_needs_an_api_version() -> None:
    async def run(sim: SimServer) -> None:
        import httpx

        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            missing = await http.post("/openai/deployments/d/chat/completions",
                                      json={"messages": [{"role": "user", "content": "x"}]})
            unknown = await http.post("/openai/deployments/d/nothing?api-version=1", json={})
        assert missing.status_code == unknown.status_code == 404
        assert missing.json()["error"]["message"] == "Resource not found"

    with_sim(run)


def test_unknown_model_404_has_the_shape_of_the_recorded_capture(shared_data: Path) -> None:
    wire = shared_data / "wire"
    if not (wire / "openai_error_404_model_not_found").is_dir():
        pytest.skip("../shared/data/wire is absent")
    recorded = json.loads((wire / "openai_error_404_model_not_found" / "response.body")
                          .read_bytes())

    async def run(sim: SimServer) -> Any:
        import httpx

        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            reply = await http.get("/v1/models/gpt-nope")
        assert reply.status_code == 404
        return reply.json()

    ours = with_sim(run)
    assert ours["error"].keys() == recorded["error"].keys()
    assert ours["error"]["code"] == recorded["error"]["code"] == "model_not_found"
    assert ours["error"]["type"] == recorded["error"]["type"]


def test_reasoning_models_lead_with_a_reasoning_item() -> None:
    async def run(sim: SimServer) -> None:
        async with _client(sim) as client:
            plain = await client.responses.create(model="sim-1", input="think")
            hidden = await client.responses.create(model="gpt-5-mini", input="think")
            shown = await client.responses.create(model="gpt-5-mini", input="think",
                                                  reasoning={"summary": "auto"})
            stream = await client.responses.create(model="gpt-5-mini", input="think",
                                                   reasoning={"summary": "auto"}, stream=True)
            events = [event async for event in stream]
        assert [item.type for item in plain.output] == ["message"]
        assert plain.usage is not None and plain.usage.output_tokens_details.reasoning_tokens == 0
        assert [item.type for item in hidden.output] == ["reasoning", "message"]
        assert hidden.output[0].summary == []  # type: ignore[union-attr]
        usage = hidden.usage
        assert usage is not None and usage.output_tokens_details.reasoning_tokens > 0
        assert usage.output_tokens > usage.output_tokens_details.reasoning_tokens
        summary = shown.output[0].summary[0].text  # type: ignore[union-attr]
        deltas = "".join(e.delta for e in events
                         if e.type == "response.reasoning_summary_text.delta")
        assert summary and deltas == summary
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text == shown.output_text == hidden.output_text
        assert [e.sequence_number for e in events] == list(range(len(events)))

    with_sim(run)


def test_the_llmx_codec_reads_the_simulators_reasoning_and_text() -> None:
    from llmx.providers.responses import ResponsesCodec
    from llmx.types import Message, Request

    async def run(sim: SimServer) -> tuple[Any, bytes]:
        import httpx

        body = {"model": "o4-mini", "input": "think", "stream": True,
                "reasoning": {"summary": "detailed"}}
        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            streamed = await http.post("/v1/responses", json=body)
            whole = await http.post("/v1/responses", json={**body, "stream": False})
        return streamed.content, whole.content

    streamed, whole = with_sim(run)
    codec = ResponsesCodec()
    decoder = codec.stream_decoder()
    chunks = [*decoder.feed(streamed), *decoder.close()]
    one = codec.parse_response(whole)
    assert "".join(c.reasoning for c in chunks) == one.reasoning != ""
    assert "".join(c.text for c in chunks) == one.text != ""
    assert chunks[-1].usage == one.usage and chunks[-1].finish_reason == one.finish_reason
    assert codec.build(Request("o4-mini", (Message("user", "q"),)), None).path == "responses"
