"""GET lists and DELETE for the simulator's files and batches, through the official SDKs."""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from llmx.sim import SimServer
from tests.sim.simkit import with_sim


def _openai(sim: SimServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0)


def _anthropic(sim: SimServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0)


LINE = json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
                   "body": {"model": "sim-1",
                            "messages": [{"role": "user", "content": "hi"}]}}) + "\n"


def test_files_list_filter_page_and_delete() -> None:
    async def run(sim: SimServer) -> None:
        async with _openai(sim) as client:
            made = [await client.files.create(file=(f"f{i}.jsonl", LINE.encode()),
                                              purpose="batch") for i in range(3)]
            other = await client.files.create(file=("t.jsonl", b"{}\n"), purpose="fine-tune")
            listed = [f.id async for f in await client.files.list()]
            batch_only = [f.id async for f in await client.files.list(purpose="batch")]
            first = await client.files.list(limit=2)
            gone = await client.files.delete(made[0].id)
            after = [f.id async for f in await client.files.list()]
            with pytest.raises(openai.NotFoundError):
                await client.files.delete(made[0].id)
        ids = [f.id for f in made]
        assert listed == [other.id, *reversed(ids)]  # newest first
        assert batch_only == list(reversed(ids))
        assert [f.id for f in first.data] == listed[:2] and first.has_more
        assert gone.deleted is True and gone.id == ids[0]
        assert after == listed[:-1]

    with_sim(run)


def test_batches_list_pages_with_after() -> None:
    async def run(sim: SimServer) -> None:
        async with _openai(sim) as client:
            source = await client.files.create(file=("in.jsonl", LINE.encode()),
                                               purpose="batch")
            made = [await client.batches.create(input_file_id=source.id,
                                                endpoint="/v1/chat/completions",
                                                completion_window="24h") for _ in range(3)]
            paged = [b async for b in await client.batches.list(limit=1)]  # follows `after`
        assert [b.id for b in paged] == [b.id for b in reversed(made)]
        assert all(b.status == "completed" for b in paged)  # listing advances them too

    with_sim(run, batch_delay_s=0)


def test_openai_batches_have_no_delete() -> None:
    async def run(sim: SimServer) -> None:
        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            reply = await http.delete("/v1/batches/batch_x")
        assert reply.status_code == 405

    with_sim(run)


def test_anthropic_batches_list_and_delete() -> None:
    async def run(sim: SimServer) -> None:
        requests = [{"custom_id": "a", "params": {
            "model": "sim-1", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}}]
        async with _anthropic(sim) as client:
            made = [await client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
                    for _ in range(3)]
            listed = [b.id async for b in client.messages.batches.list(limit=2)]
            newer = await client.messages.batches.list(before_id=made[0].id, limit=1)
            deleted = await client.messages.batches.delete(made[1].id)
            after = [b.id async for b in client.messages.batches.list()]
            with pytest.raises(anthropic.NotFoundError):
                await client.messages.batches.retrieve(made[1].id)
        assert listed == [b.id for b in reversed(made)]
        assert [b.id for b in newer.data] == [made[1].id] and newer.has_more
        assert deleted.id == made[1].id and deleted.type == "message_batch_deleted"
        assert after == [made[2].id, made[0].id]

    with_sim(run, batch_delay_s=0)


def test_anthropic_batch_in_progress_cannot_be_deleted() -> None:
    async def run(sim: SimServer) -> None:
        requests = [{"custom_id": "a", "params": {
            "model": "sim-1", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}}]
        async with _anthropic(sim) as client:
            batch = await client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
            with pytest.raises(anthropic.BadRequestError, match="cancel it first"):
                await client.messages.batches.delete(batch.id)

    with_sim(run, batch_delay_s=60)
