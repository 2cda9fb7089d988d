"""Provider Batch APIs, client side, against the simulator (real HTTP over loopback)."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import pytest

from llmx.batch import provider_wire as wire
from llmx.batch.jobs import Job, Result, parse_line
from llmx.batch.provider import PollPolicy, batch_discount, run_provider_batch
from llmx.errors import AuthError
from llmx.providers.anthropic import AnthropicCodec
from llmx.providers.base import Codec, HttpCall
from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.openai import OpenAICodec
from llmx.sim import SimOptions, SimServer
from llmx.sim.batch_wire import form_parts
from llmx.sim.batches import SimBatches
from llmx.types import Completion, Message

T = TypeVar("T")
SECRET = "sk-test-do-not-leak-4242"


def _with_sim(fn: Callable[[SimServer, HttpEngine], Awaitable[T]], **options: Any) -> T:
    async def main() -> T:
        engine = HttpEngine()
        try:
            async with SimServer(SimOptions(**options)) as sim:
                return await fn(sim, engine)
        finally:
            await engine.aclose()

    return asyncio.run(main())


def _endpoint(sim: SimServer, provider: str) -> Endpoint:
    return Endpoint(base_url=sim.base_url + ("/v1" if provider == "openai" else ""), timeout=10)


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def _run(sim: SimServer, engine: HttpEngine, provider: str, jobs: list[Job],
               **kw: Any) -> list[Result]:
    fake = kw.pop("fake", None) or FakeTime()
    return await run_provider_batch(
        jobs, provider=provider, engine=engine, endpoint=_endpoint(sim, provider),
        api_key=kw.pop("api_key", SECRET), model="sim-1", sleep=fake.sleep, clock=fake.clock,
        **kw)


def _jobs() -> list[Job]:
    return [
        Job(index=0, id="plain", prompt="Name a river."),
        Job(index=1, id="with system", prompt="Name a lake.", system="Be terse."),
        Job(index=3, id="history", prompt="And another?",
            messages=(Message("user", "Name a city."), Message("assistant", "Rome."))),
        Job(index=4, id="short", prompt="Name a river.", params={"max_tokens": 3}),
    ]


async def _direct(sim: SimServer, engine: HttpEngine, provider: str, job: Job) -> Any:
    codec: Codec = OpenAICodec() if provider == "openai" else AnthropicCodec()
    call = codec.build(wire.job_request(job, "sim-1"), None)
    return await engine.request(_endpoint(sim, provider), call, codec)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_results_equal_direct_mode_answers(provider: str) -> None:
    statuses: list[str] = []

    async def go(sim: SimServer, engine: HttpEngine) -> None:
        jobs = _jobs()
        results = await _run(sim, engine, provider, jobs,
                             on_status=lambda status, obj: statuses.append(status))
        assert sim.stats()["batch_requests"] == len(jobs)
        assert [(r.index, r.id) for r in results] == [(j.index, j.id) for j in jobs]
        for job, result in zip(jobs, results, strict=True):
            direct = await _direct(sim, engine, provider, job)
            assert result.error is None
            assert result.text == direct.text and result.text
            assert result.usage == direct.usage
            assert (result.cached, result.attempts) == (False, 1)
        assert results[3].usage is not None and results[3].usage.output_tokens == 3
        assert len({r.text for r in results}) == 4  # system and history change the answer

    _with_sim(go, batch_delay_s=0)
    assert statuses[-1] in ("completed", "ended")


def test_result_lines_have_the_direct_mode_shape() -> None:
    async def go(sim: SimServer, engine: HttpEngine) -> list[Result]:
        return await _run(sim, engine, "openai", _jobs()[:1])

    [result] = _with_sim(go, batch_delay_s=0)
    direct = Result.answered(0, "plain", Completion("t", "sim-1", "openai"), attempts=1)
    ours, theirs = json.loads(result.to_line()), json.loads(direct.to_line())
    assert ours.keys() == theirs.keys()
    assert ours["usage"].keys() == theirs["usage"].keys()


def test_openai_batch_lines_send_their_own_body() -> None:
    raw: list[dict[str, Any]] = [
        {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "sim-1-mini", "max_tokens": 5,
                  "messages": [{"role": "user", "content": "Say hi."}]}},
        {"custom_id": "b", "body": {"messages": [{"role": "user", "content": "Say bye."}]}},
    ]
    jobs = [parse_line(json.dumps(line).encode(), n) for n, line in enumerate(raw, 1)]
    assert all(isinstance(job, Job) for job in jobs)

    async def go(sim: SimServer, engine: HttpEngine) -> None:
        results = await _run(sim, engine, "openai", [j for j in jobs if isinstance(j, Job)])
        assert [r.id for r in results] == ["a", "b"]
        for line, result in zip(raw, results, strict=True):
            body: dict[str, Any] = {"model": "sim-1"}  # fills in a missing model
            body.update(line["body"])
            call = HttpCall("POST", "chat/completions", {}, json.dumps(body).encode())
            direct = await engine.request(_endpoint(sim, "openai"), call, OpenAICodec())
            assert (result.text, result.usage) == (direct.text, direct.usage)
        assert results[0].usage is not None and results[0].usage.output_tokens == 5

    _with_sim(go, batch_delay_s=0)


def test_error_lines_become_error_results() -> None:
    jobs = [
        Job(index=0, id="ok", prompt="Hello."),
        Job(index=1, id="bad", prompt="x", openai_body={"model": "m", "messages": "nope"}),
    ]

    async def go(sim: SimServer, engine: HttpEngine) -> list[Result]:
        return await _run(sim, engine, "openai", jobs)

    ok, bad = _with_sim(go, batch_delay_s=0)
    assert ok.error is None and ok.text
    assert bad.error is not None and bad.text is None
    kind, message = bad.error
    assert kind == "ProviderError" and "400" in message and "messages" in message
    assert SECRET not in bad.to_line().decode()


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_injected_failures_are_per_line_errors(provider: str) -> None:
    async def go(sim: SimServer, engine: HttpEngine) -> list[Result]:
        return await _run(sim, engine, provider, _jobs())

    results = _with_sim(go, batch_delay_s=0, fail_rate=1.0)
    assert all(r.error is not None for r in results)
    assert all(r.error and r.error[0] == "ProviderError" for r in results)
    assert all(r.error and ("500" in r.error[1] or "503" in r.error[1] or "529" in r.error[1])
               for r in results)


class DroppingEngine(HttpEngine):
    """Drops the result lines of one custom_id from every downloaded file."""

    drop = "history"

    async def request_body(self, ep: Endpoint, call: HttpCall, codec: Codec) -> bytes:
        body = await super().request_body(ep, call, codec)
        if call.method == "GET" and (call.path.endswith("/content") or "results" in call.path):
            needle = f'"custom_id": "{self.drop}"'.encode()
            body = b"".join(ln for ln in body.splitlines(keepends=True) if needle not in ln)
        return body


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_job_missing_from_the_output_gets_an_error(provider: str) -> None:
    async def go(sim: SimServer, engine: HttpEngine) -> list[Result]:
        dropping = DroppingEngine()
        try:
            return await _run(sim, dropping, provider, _jobs())
        finally:
            await dropping.aclose()

    results = _with_sim(go, batch_delay_s=0)
    assert [r.id for r in results if r.error] == ["history"]
    assert results[2].error == ("ProviderError", wire.MISSING)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_polls_back_off_until_the_batch_is_done(provider: str) -> None:
    fake = FakeTime()
    statuses: list[str] = []

    async def go(sim: SimServer, engine: HttpEngine) -> list[Result]:
        app = sim.app
        app.batches = SimBatches(app.opts, app.stats, app.dice, clock=fake.clock)
        return await _run(sim, engine, provider, _jobs(), fake=fake,
                          on_status=lambda status, obj: statuses.append(status))

    results = _with_sim(go, batch_delay_s=20.0)
    assert all(r.error is None for r in results)
    policy = PollPolicy()
    assert fake.sleeps[0] == policy.initial_s
    for before, after in zip(fake.sleeps, fake.sleeps[1:], strict=False):
        assert after == pytest.approx(min(policy.max_s, before * policy.factor))
    assert sum(fake.sleeps[:-1]) < 20.0 <= sum(fake.sleeps)  # done at the first poll after
    assert statuses[-1] in ("completed", "ended")
    assert len(statuses) == len(fake.sleeps) + 1  # after creating, then after every poll
    assert results[0].latency_ms == pytest.approx(sum(fake.sleeps) * 1000)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_the_deadline_cancels_the_batch_and_fails_every_job(provider: str) -> None:
    fake = FakeTime()
    policy = PollPolicy(initial_s=1.0, factor=2.0, max_s=4.0, deadline_s=12.0)

    async def go(sim: SimServer, engine: HttpEngine) -> tuple[list[Result], dict[str, Any]]:
        results = await _run(sim, engine, provider, _jobs(), fake=fake, poll=policy)
        return results, sim.stats()

    results, stats = _with_sim(go, batch_delay_s=3600)
    assert sum(fake.sleeps) <= policy.deadline_s
    assert max(fake.sleeps) == policy.max_s
    assert all(r.error and r.error[0] == "RequestTimeout" for r in results)
    root = "/v1" if provider == "openai" else "/v1/messages"
    assert stats["by_endpoint"][root + "/batches/{id}/cancel"] == 1
    assert stats["batch_requests"] == 0


def test_an_invalid_key_raises_without_showing_it() -> None:
    async def go(sim: SimServer, engine: HttpEngine) -> None:
        with pytest.raises(AuthError) as caught:
            await _run(sim, engine, "openai", _jobs(), api_key="sim-invalid")
        assert "sim-invalid" not in str(caught.value)

    _with_sim(go)


def test_no_jobs_sends_nothing_and_unknown_providers_are_refused() -> None:
    async def go(sim: SimServer, engine: HttpEngine) -> None:
        assert await _run(sim, engine, "openai", []) == []
        assert sim.stats()["requests"] == 0
        with pytest.raises(Exception, match="no batch API"):
            await _run(sim, engine, "ollama", _jobs())

    _with_sim(go)


# -- pure pieces ------------------------------------------------------------------------------


def test_multipart_is_read_back_by_two_independent_parsers() -> None:
    data = b'{"a": 1}\r\n--llmx-0000\r\n\x00\xff\r\n\r\n'
    ctype, body = wire.multipart([("purpose", None, b"batch"), ("file", "in.jsonl", data)])
    assert form_parts(ctype, body) == {"purpose": (None, b"batch"), "file": ("in.jsonl", data)}
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    parts = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
             for p in message.iter_parts()}
    assert parts == {"purpose": b"batch", "file": data}
    with pytest.raises(ValueError):
        wire.multipart([('na"me', None, b"")])


def test_custom_ids_are_valid_and_unique() -> None:
    seen: set[str] = set()
    ids = ["q1", "q1", "has space", "llmx-3", "x" * 65, "ok_id-2"]
    chosen = [wire.custom_id(Job(index=n, id=i, prompt="p"), seen) for n, i in enumerate(ids)]
    assert len(set(chosen)) == len(chosen)
    assert chosen[0] == "q1" and chosen[5] == "ok_id-2"
    assert all(c.replace("-", "").replace("_", "").isalnum() and len(c) <= 64 for c in chosen)


def test_split_respects_count_and_bytes() -> None:
    items = [wire.Item(f"c{i}", i, b"x" * 10) for i in range(7)]
    assert [len(g) for g in wire.split(items, 3, 10_000)] == [3, 3, 1]
    assert [len(g) for g in wire.split(items, 100, 25)] == [2, 2, 2, 1]
    assert wire.split([], 3, 10) == []
    joined = [item for group in wire.split(items, 3, 25) for item in group]
    assert joined == items


def _error(outcome: wire.Outcome) -> tuple[str, str]:
    assert isinstance(outcome, tuple), outcome
    return outcome


def test_anthropic_errored_results_map_to_the_error_tree() -> None:
    def errored(kind: str) -> Mapping[str, Any]:
        error = {"type": "error", "error": {"type": kind, "message": f"{kind} happened"}}
        return {"custom_id": "a", "result": {"type": "errored", "error": error}}

    assert _error(wire.anthropic_outcome(errored("authentication_error")))[0] == "AuthError"
    assert _error(wire.anthropic_outcome(errored("rate_limit_error")))[0] == "RateLimitError"
    invalid = _error(wire.anthropic_outcome(errored("invalid_request_error")))
    assert invalid[0] == "ProviderError" and "invalid_request_error happened" in invalid[1]
    expired = _error(wire.anthropic_outcome({"custom_id": "a", "result": {"type": "expired"}}))
    assert expired[0] == "ProviderError" and "expired" in expired[1]


def test_openai_batch_level_failure_names_the_problem() -> None:
    batch = {"id": "b1", "status": "failed",
             "errors": {"data": [{"code": "too_many_tasks", "message": "Too many."}]}}
    kind, message = wire.openai_fallback(batch)
    assert kind == "ProviderError" and "too_many_tasks" in message and "b1" in message
    assert wire.openai_fallback({"status": "expired"})[1].endswith("(batch expired)")
    line = {"custom_id": "a", "response": None,
            "error": {"code": "batch_expired", "message": "This request expired."}}
    assert "batch_expired" in _error(wire.openai_outcome(line))[1]


def test_results_url_is_followed_only_on_the_profiles_own_origin() -> None:
    path = "v1/messages/batches/b1"
    own = "http://127.0.0.1:9/v1/messages/batches/b1/results"
    assert wire.results_path("http://127.0.0.1:9", own, path) == own
    elsewhere = "https://evil.example/v1/messages/batches/b1/results"
    assert wire.results_path("http://127.0.0.1:9", elsewhere, path) == f"{path}/results"
    assert wire.results_path("http://127.0.0.1:9", None, path) == f"{path}/results"


def test_batch_discount_and_poll_policy() -> None:
    assert batch_discount("openai") == batch_discount("anthropic") == 0.5
    assert batch_discount("ollama") == 0.0
    policy = PollPolicy(initial_s=1.0, factor=2.0, max_s=5.0)
    assert [policy.delay(n) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(10_000) == 5.0
    with pytest.raises(ValueError):
        PollPolicy(initial_s=0)
    with pytest.raises(ValueError):
        PollPolicy(factor=0.5)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_request_bodies_never_ask_for_a_stream(provider: str) -> None:
    job = Job(index=0, id="a", prompt="p", params={"temperature": 0.5, "max_tokens": 7})
    streaming = wire.job_request(job, "m")._replace(stream=True)
    body = wire.request_body(provider, job, lambda _: streaming, "m")
    assert "stream" not in body and "stream_options" not in body
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("m", 0.5, 7)
    assert body["messages"][-1] == {"role": "user", "content": "p"}
