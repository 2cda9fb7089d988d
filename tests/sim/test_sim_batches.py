"""The simulator's batch APIs: OpenAI Files + Batches and Anthropic Message Batches,
through the official SDKs and raw HTTP (real HTTP over loopback)."""

from __future__ import annotations

import email.parser
import email.policy
import json
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from llmx.sim import SimOptions, SimServer, prompt_key
from llmx.sim.app import Reply, SimApp
from llmx.sim.batch_wire import form_parts
from llmx.sim.batches import SimBatches
from llmx.sim.common import SimError

from .simkit import with_sim

PROMPTS = ("Name a river.", "Name a mountain.", "Name a lake.")


def _openai(sim: SimServer, key: str = "x") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key=key, max_retries=0)


def _anthropic(sim: SimServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0)


def _chat_body(prompt: str, **extra: Any) -> dict[str, Any]:
    return {"model": "sim-1", "messages": [{"role": "user", "content": prompt}], **extra}


def _input_file(bodies: dict[str, Any]) -> bytes:
    lines = [
        {"custom_id": cid, "method": "POST", "url": "/v1/chat/completions", "body": body}
        for cid, body in bodies.items()
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


# -- OpenAI -----------------------------------------------------------------------------------


def test_openai_batch_answers_like_the_sync_endpoint() -> None:
    bodies = {f"q{i}": _chat_body(p) for i, p in enumerate(PROMPTS)}
    bodies["short"] = _chat_body(PROMPTS[0], max_tokens=3)

    async def go(sim: SimServer) -> None:
        async with _openai(sim) as client:
            data = _input_file(bodies)
            uploaded = await client.files.create(file=("in.jsonl", data), purpose="batch")
            assert (uploaded.bytes, uploaded.purpose, uploaded.filename) == (
                len(data), "batch", "in.jsonl")
            again = await client.files.retrieve(uploaded.id)
            assert again.id == uploaded.id
            assert (await client.files.content(uploaded.id)).content == data
            batch = await client.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                completion_window="24h")
            assert batch.status == "validating" and batch.input_file_id == uploaded.id
            done = await client.batches.retrieve(batch.id)
            assert done.status == "completed" and done.error_file_id is None
            assert done.request_counts is not None
            assert (done.request_counts.total, done.request_counts.completed) == (4, 4)
            assert done.output_file_id is not None
            lines = _jsonl((await client.files.content(done.output_file_id)).content)
            stats_after_batch = sim.stats()
            for line in lines:
                sync = await client.chat.completions.create(**bodies[line["custom_id"]])
                body = line["response"]["body"]
                assert line["response"]["status_code"] == 200 and line["error"] is None
                assert body["choices"][0]["message"]["content"] == sync.choices[0].message.content
                assert body["choices"][0]["finish_reason"] == sync.choices[0].finish_reason
                assert sync.usage is not None
                assert body["usage"]["completion_tokens"] == sync.usage.completion_tokens
                assert body["usage"]["prompt_tokens"] == sync.usage.prompt_tokens
        assert sorted(line["custom_id"] for line in lines) == sorted(bodies)
        assert stats_after_batch["batch_requests"] == 4
        assert stats_after_batch["prompts"][prompt_key(PROMPTS[0])] == 2
        assert stats_after_batch["prompts"][prompt_key(PROMPTS[1])] == 1
        assert stats_after_batch["by_endpoint"]["/v1/batches/{id}"] == 1

    with_sim(go, batch_delay_s=0)


def test_openai_error_lines_go_to_the_error_file() -> None:
    bodies = {"good": _chat_body("Hello there."), "no-model": {"messages": []}}

    async def go(sim: SimServer) -> None:
        async with _openai(sim) as client:
            uploaded = await client.files.create(file=("in.jsonl", _input_file(bodies)),
                                                 purpose="batch")
            batch = await client.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                completion_window="24h")
            done = await client.batches.retrieve(batch.id)
            assert done.request_counts is not None
            assert (done.request_counts.completed, done.request_counts.failed) == (1, 1)
            assert done.output_file_id and done.error_file_id
            errors = _jsonl((await client.files.content(done.error_file_id)).content)
            output = _jsonl((await client.files.content(done.output_file_id)).content)
        assert [line["custom_id"] for line in output] == ["good"]
        assert [line["custom_id"] for line in errors] == ["no-model"]
        response = errors[0]["response"]
        assert response["status_code"] == 400
        assert "model" in response["body"]["error"]["message"]

    with_sim(go, batch_delay_s=0)


def test_injected_faults_fail_batch_lines_with_5xx() -> None:
    async def go(sim: SimServer) -> None:
        async with _openai(sim) as client:
            data = _input_file({f"q{i}": _chat_body(p) for i, p in enumerate(PROMPTS)})
            uploaded = await client.files.create(file=("in.jsonl", data), purpose="batch")
            batch = await client.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                completion_window="24h")
            done = await client.batches.retrieve(batch.id)
            assert done.output_file_id is None and done.error_file_id is not None
            errors = _jsonl((await client.files.content(done.error_file_id)).content)
        assert {line["response"]["status_code"] for line in errors} <= {500, 503}
        assert len(errors) == 3
        assert sum(sim.stats()["faults"].values()) == 3

    with_sim(go, batch_delay_s=0, fail_rate=1.0)


def test_invalid_input_lines_fail_the_batch_with_line_numbers() -> None:
    good = json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
                       "body": _chat_body("x")})
    wrong_url = good.replace('"custom_id": "a"', '"custom_id": "b"').replace(
        "/v1/chat/completions", "/v1/embeddings")
    data = "\n".join([good, "{not json", good, wrong_url]).encode()

    async def go(sim: SimServer) -> None:
        async with _openai(sim) as client:
            uploaded = await client.files.create(file=("in.jsonl", data), purpose="batch")
            batch = await client.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                completion_window="24h")
            failed = await client.batches.retrieve(batch.id)
        assert failed.status == "failed" and failed.output_file_id is None
        assert failed.errors is not None and failed.errors.data is not None
        found = [(e.code, e.line) for e in failed.errors.data]
        assert found == [("invalid_json_line", 2), ("duplicate_custom_id", 3), ("url_mismatch", 4)]
        assert sim.stats()["batch_requests"] == 0

    with_sim(go, batch_delay_s=0)


def test_create_batch_rejects_bad_references() -> None:
    async def go(sim: SimServer) -> None:
        async with _openai(sim) as client:
            other = await client.files.create(file=("x.jsonl", b"{}\n"), purpose="fine-tune")
            with pytest.raises(openai.NotFoundError):
                await client.batches.create(input_file_id="file-nope",
                                            endpoint="/v1/chat/completions",
                                            completion_window="24h")
            with pytest.raises(openai.BadRequestError, match="purpose"):
                await client.batches.create(input_file_id=other.id,
                                            endpoint="/v1/chat/completions",
                                            completion_window="24h")
            with pytest.raises(openai.NotFoundError):
                await client.files.content("file-nope")
        async with _openai(sim, key="sim-invalid") as bad_key:
            with pytest.raises(openai.AuthenticationError):
                await bad_key.files.create(file=("x.jsonl", b"{}\n"), purpose="batch")

    with_sim(go)


def test_a_pending_batch_can_be_cancelled_and_answers_nothing() -> None:
    async def go(sim: SimServer) -> None:
        async with _openai(sim) as client:
            uploaded = await client.files.create(
                file=("in.jsonl", _input_file({"a": _chat_body("x")})), purpose="batch")
            batch = await client.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                completion_window="24h")
            running = await client.batches.retrieve(batch.id)
            assert running.status == "in_progress"
            assert running.request_counts is not None and running.request_counts.total == 1
            cancelling = await client.batches.cancel(batch.id)
            assert cancelling.status == "cancelling"
            cancelled = await client.batches.retrieve(batch.id)
            assert cancelled.status == "cancelled" and cancelled.output_file_id is None
            with pytest.raises(openai.BadRequestError):
                await client.batches.cancel(batch.id)
        assert sim.stats()["batch_requests"] == 0

    with_sim(go, batch_delay_s=3600)


def test_a_batch_completes_once_its_delay_has_passed() -> None:
    now = [100.0]
    app = SimApp(SimOptions(batch_delay_s=5.0))
    app.batches = SimBatches(app.opts, app.stats, app.dice, clock=lambda: now[0])

    def call(method: bytes, path: str, body: bytes = b"", ctype: bytes = b"") -> Any:
        headers = [(b"host", b"sim"), (b"content-type", ctype)]
        reply = app.handle(method, path.encode(), headers, body)
        assert isinstance(reply, Reply) and reply.status == 200, reply
        return json.loads(reply.body)

    request = httpx.Request("POST", "http://sim/v1/files", data={"purpose": "batch"},
                            files={"file": ("in.jsonl", _input_file({"a": _chat_body("x")}))})
    file_id = call(b"POST", "/v1/files", request.read(),
                   request.headers["content-type"].encode())["id"]
    create = json.dumps({"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                         "completion_window": "24h"}).encode()
    batch_id = call(b"POST", "/v1/batches", create)["id"]
    now[0] += 4.9
    assert call(b"GET", f"/v1/batches/{batch_id}")["status"] == "in_progress"
    assert app.stats.batch_requests == 0
    now[0] += 0.2
    assert call(b"GET", f"/v1/batches/{batch_id}")["status"] == "completed"
    assert app.stats.batch_requests == 1


def test_output_file_has_the_recorded_shape(shared_data: Path) -> None:
    capture = shared_data / "wire" / "openai_batch_output_jsonl" / "response.body"
    if not capture.is_file():
        pytest.skip("the openai_batch_output_jsonl capture is absent")
    recorded_raw = capture.read_bytes().splitlines()[0]
    recorded = json.loads(recorded_raw)

    async def go(sim: SimServer) -> bytes:
        async with _openai(sim) as client:
            uploaded = await client.files.create(
                file=("in.jsonl", _input_file({"request-1": _chat_body("Hello")})),
                purpose="batch")
            batch = await client.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                completion_window="24h")
            done = await client.batches.retrieve(batch.id)
            assert done.output_file_id is not None
            return (await client.files.content(done.output_file_id)).content

    raw = with_sim(go, batch_delay_s=0).splitlines()[0]
    ours = json.loads(raw)
    assert list(ours) == list(recorded)
    assert list(ours["response"]) == list(recorded["response"])
    assert set(recorded["response"]["body"]) <= set(ours["response"]["body"])
    assert ours["response"]["body"]["usage"].keys() == recorded["response"]["body"]["usage"].keys()
    assert ours["id"].startswith("batch_req_") and recorded["id"].startswith("batch_req_")
    assert raw[:8] == recorded_raw[:8] == b'{"id": "'  # the same separators


# -- Anthropic --------------------------------------------------------------------------------


def _params(prompt: str, **extra: Any) -> Any:
    return {"model": "sim-1", "max_tokens": 50, "system": "Be brief.",
            "messages": [{"role": "user", "content": prompt}], **extra}


def test_anthropic_batch_answers_like_the_sync_endpoint() -> None:
    requests: Any = [{"custom_id": f"r{i}", "params": _params(p)} for i, p in enumerate(PROMPTS)]
    requests.append({"custom_id": "broken", "params": {"messages": []}})

    async def go(sim: SimServer) -> None:
        async with _anthropic(sim) as client:
            batch = await client.messages.batches.create(requests=requests)
            assert batch.processing_status == "in_progress" and batch.results_url is None
            assert batch.request_counts.processing == 4
            done = await client.messages.batches.retrieve(batch.id)
            assert done.processing_status == "ended" and done.ended_at is not None
            assert done.results_url == f"{sim.base_url}/v1/messages/batches/{batch.id}/results"
            counts = done.request_counts
            assert (counts.succeeded, counts.errored, counts.processing) == (3, 1, 0)
            results = {r.custom_id: r.result async for r in
                       await client.messages.batches.results(batch.id)}
            for request in requests[:3]:
                result = results[request["custom_id"]]
                assert result.type == "succeeded"
                sync = await client.messages.create(**request["params"])
                assert result.message.content == sync.content
                assert result.message.usage.output_tokens == sync.usage.output_tokens
                assert result.message.usage.input_tokens == sync.usage.input_tokens
        broken = results["broken"]
        assert broken.type == "errored"
        assert broken.error.error.type == "invalid_request_error"
        assert sim.stats()["batch_requests"] == 4

    with_sim(go, batch_delay_s=0)


def test_anthropic_cancel_ends_with_canceled_results() -> None:
    async def go(sim: SimServer) -> None:
        async with _anthropic(sim) as client:
            batch = await client.messages.batches.create(
                requests=[{"custom_id": "a", "params": _params("x")}])
            async with httpx.AsyncClient(base_url=sim.base_url) as raw:
                early = await raw.get(f"/v1/messages/batches/{batch.id}/results")
            assert early.status_code == 404 and early.json()["type"] == "error"
            canceling = await client.messages.batches.cancel(batch.id)
            assert canceling.processing_status == "canceling"
            assert canceling.cancel_initiated_at is not None
            ended = await client.messages.batches.retrieve(batch.id)
            assert ended.processing_status == "ended" and ended.request_counts.canceled == 1
            results = [r async for r in await client.messages.batches.results(batch.id)]
        assert [(r.custom_id, r.result.type) for r in results] == [("a", "canceled")]

    with_sim(go, batch_delay_s=3600)


def test_anthropic_create_rejects_bad_custom_ids() -> None:
    async def go(sim: SimServer) -> list[int]:
        statuses = []
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            for ids in (["has space"], ["dup", "dup"], []):
                requests = [{"custom_id": i, "params": _params("x")} for i in ids]
                r = await client.post("/v1/messages/batches", json={"requests": requests})
                assert r.json()["error"]["type"] == "invalid_request_error"
                statuses.append(r.status_code)
        return statuses

    assert with_sim(go) == [400, 400, 400]


# -- routing and multipart --------------------------------------------------------------------


def test_unknown_batch_routes_and_methods() -> None:
    async def go(sim: SimServer) -> dict[str, int]:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            return {
                "get list": (await client.get("/v1/batches")).status_code,
                "put list": (await client.put("/v1/batches", content=b"{}")).status_code,
                "bad tail": (await client.get("/v1/files/f1/bogus")).status_code,
                "post file": (await client.post("/v1/files/f1", content=b"{}")).status_code,
                "no batch": (await client.get("/v1/messages/batches/nope")).status_code,
                "not multipart": (await client.post("/v1/files", json={})).status_code,
            }

    assert with_sim(go) == {"get list": 200, "put list": 405, "bad tail": 404, "post file": 405,
                            "no batch": 404, "not multipart": 400}


def test_form_parts_reads_what_httpx_and_email_agree_on() -> None:
    content = b"line one\r\n--not-the-boundary\r\n\x00\xff binary\r\n\r\nend"
    request = httpx.Request("POST", "http://x/v1/files", data={"purpose": "batch"},
                            files={"file": ("my file.jsonl", content)})
    body = request.read()
    ctype = request.headers["content-type"]
    parts = form_parts(ctype, body)
    assert parts["purpose"] == (None, b"batch")
    assert parts["file"] == ("my file.jsonl", content)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    by_email = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                for p in message.iter_parts()}
    assert by_email == {name: data for name, (_, data) in parts.items()}


def test_form_parts_rejects_a_truncated_body() -> None:
    request = httpx.Request("POST", "http://x/", files={"file": ("a.jsonl", b"{}")})
    body = request.read()
    with pytest.raises(SimError):
        form_parts(request.headers["content-type"], body[: len(body) - 10])
    with pytest.raises(SimError):
        form_parts("application/json", body)
