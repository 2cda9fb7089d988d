"""Provider Batch APIs, client side: the OpenAI Batch API and Anthropic Message Batches.

``run_provider_batch`` sends the jobs as one asynchronous provider batch (several when
there are more than one batch may hold, run side by side), polls with exponential
backoff, fetches the results and maps them back by ``custom_id`` into ``Result``s shaped
like direct mode's (``cached=False``, ``attempts=1``, ``latency_ms`` = the run's wall time).

OpenAI (``base_url`` ends in ``/v1``): upload the JSONL to ``files`` (multipart,
``purpose=batch``), create ``batches`` (``/v1/chat/completions``, ``24h``), poll
``batches/{id}`` until completed/failed/expired/cancelled, download the output and error
files. Anthropic (bare host): create ``v1/messages/batches``, poll until ``ended``, read
the results JSONL.

Every HTTP call goes through ``HttpEngine.request_body`` (retries, error mapping). A
failure to upload or create a batch raises. Once a batch exists every job gets a result
or an error: the provider's error for its line, cancelled/expired, "missing from batch
output", or the overall deadline passing (the batch is then cancelled, best effort). A
transient failure of a poll (after the engine's retries) only waits for the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote

from llmx.batch import provider_wire as wire
from llmx.batch.jobs import Job, Result
from llmx.counters import Counts
from llmx.errors import LlmxError, ProviderError, RateLimitError, TransportError
from llmx.providers.anthropic import API_VERSION, AnthropicCodec
from llmx.providers.base import Codec, HttpCall
from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.openai import OpenAICodec
from llmx.providers.wire import Headers, as_dict, bearer, encode_json, load_json
from llmx.types import Chunk, Request, Usage

# Both providers price batch requests at 50 % of their standard API price:
# OpenAI, https://platform.openai.com/docs/guides/batch ("50% cost discount");
# Anthropic, https://docs.anthropic.com/en/docs/build-with-claude/batch-processing
# ("reducing costs by 50%").
_DISCOUNTS: Mapping[str, float] = {"openai": 0.5, "anthropic": 0.5}
# How long a batch may take: OpenAI's only `completion_window` is "24h"; Anthropic ends a
# batch after 24 hours at most (most end sooner; a plan must allow the whole window).
_WINDOWS_S: Mapping[str, float] = {"openai": 24 * 3600.0, "anthropic": 24 * 3600.0}
_OPENAI_DONE = frozenset({"completed", "failed", "expired", "cancelled"})
_ANTHROPIC_DONE = frozenset({"ended"})

StatusHook = Callable[[str, Mapping[str, Any]], None]
Sleep = Callable[[float], Awaitable[Any]]
Found = dict[int, wire.Outcome]  # job index -> outcome


def batch_discount(provider: str) -> float:
    """The share of the standard price a provider batch saves (0.0 when it has no batch API):
    estimated batch cost = standard cost * (1 - batch_discount(provider))."""
    return _DISCOUNTS.get(provider, 0.0)


def batch_window_s(provider: str) -> float | None:
    """The longest a provider batch may take, in seconds (None: no Batch API)."""
    return _WINDOWS_S.get(provider)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Waits between polls: ``initial_s * factor**n`` capped at ``max_s``; ``deadline_s``
    (from the start of the run) bounds the whole run, after which the batch is cancelled."""

    initial_s: float = 0.5
    factor: float = 1.5
    max_s: float = 30.0
    deadline_s: float = 24 * 3600.0

    def __post_init__(self) -> None:
        if not (self.initial_s > 0 and self.factor >= 1 and self.max_s >= self.initial_s):
            raise ValueError("PollPolicy needs initial_s > 0, factor >= 1 and max_s >= initial_s")
        if not self.deadline_s > 0:
            raise ValueError("PollPolicy.deadline_s must be > 0")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after poll number ``attempt`` (0-based)."""
        return float(min(self.max_s, self.initial_s * self.factor ** min(attempt, 200)))


class _Deadline(Exception):
    """The overall deadline passed while the batch was still running."""


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What one run needs to send calls and to wait."""

    provider: str
    engine: HttpEngine
    endpoint: Endpoint
    codec: Codec
    auth: Mapping[str, str]
    poll: PollPolicy
    sleep: Sleep
    clock: Callable[[], float]
    deadline: float
    on_status: StatusHook | None

    async def send(self, method: str, path: str, body: bytes = b"", ctype: str = "") -> bytes:
        headers = Headers(self.auth)  # its repr hides the API key
        if ctype:
            headers["Content-Type"] = ctype
        call = HttpCall(method, path, headers, body)
        return await self.engine.request_body(self.endpoint, call, self.codec)

    async def send_json(
        self, method: str, path: str, body: bytes = b"", ctype: str = ""
    ) -> dict[str, Any]:
        """Send; the answer must be a JSON object (with an ``id`` when one is created)."""
        obj = as_dict(load_json(self.provider, await self.send(method, path, body, ctype)))
        if method == "POST" and not isinstance(obj.get("id"), str):
            raise ProviderError(f"{self.provider}: the batch API answered without an id")
        return obj

    def report(self, status: str, obj: Mapping[str, Any]) -> None:
        if self.on_status is not None:
            self.on_status(status, obj)

    async def wait(self, path: str, key: str, terminal: frozenset[str]) -> dict[str, Any]:
        """Poll ``path`` until ``obj[key]`` is terminal; ``_Deadline`` when time runs out."""
        attempt = 0
        while True:
            delay = self.poll.delay(attempt)
            attempt += 1
            if self.clock() + delay > self.deadline:
                raise _Deadline
            await self.sleep(delay)
            obj = await self._look(path)
            if obj is not None:
                status = str(obj.get(key))
                self.report(status, obj)
                if status in terminal:
                    return obj

    async def _look(self, path: str) -> dict[str, Any] | None:
        """One poll; None when it failed transiently (even after the engine's retries)."""
        try:
            return await self.send_json("GET", path)
        except (TransportError, RateLimitError):
            return None
        except ProviderError as exc:
            if exc.status is not None and exc.status >= 500:
                return None
            raise

    async def cancel(self, path: str) -> None:
        with contextlib.suppress(LlmxError):  # best effort: the deadline is reported anyway
            await self.send("POST", path)

    def timed_out(self, batch_id: str) -> tuple[str, str]:
        return ("RequestTimeout", f"{self.provider} batch {batch_id} did not finish within "
                f"{self.poll.deadline_s:g}s; cancel requested")


class Ran(NamedTuple):
    """What a provider batch gave: one outcome per job, in job order, and its wall time."""

    outcomes: list[wire.Outcome]  # an answer (a whole Chunk), or (error type, message)
    elapsed_ms: float


async def run_provider_batch(jobs: Sequence[Job], **options: Any) -> list[Result]:
    """``provider_outcomes`` as one Result per job, in job order (same options)."""
    ran = await provider_outcomes(jobs, **options)
    return [result_of(job, outcome, ran.elapsed_ms)
            for job, outcome in zip(jobs, ran.outcomes, strict=True)]


async def provider_outcomes(
    jobs: Sequence[Job],
    *,
    provider: str,
    engine: HttpEngine,
    endpoint: Endpoint,
    api_key: str | None,
    model: str,
    poll: PollPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_status: StatusHook | None = None,
    to_request: Callable[[Job], Request] | None = None,
    counts: Counts | None = None,
) -> Ran:
    """Run ``jobs`` through ``provider``'s batch API: one outcome per job, in job order.

    ``to_request`` gives the Request direct mode would send for a job (default:
    ``provider_wire.job_request``, with ``model`` when the job names none); an OpenAI Batch
    line's ``openai_body`` goes to OpenAI as is. ``on_status(status, batch object)`` is
    called after a batch is created and after every poll. ``counts`` (a Client's) gets the
    batches submitted and the requests in them.
    """
    if provider not in wire.LIMITS:
        raise ProviderError(f"{provider} has no batch API in llmx (only openai and anthropic)")
    started = clock()
    policy = poll if poll is not None else PollPolicy()
    codec: Codec = OpenAICodec() if provider == "openai" else AnthropicCodec()
    auth = bearer(api_key) if provider == "openai" else _anthropic_auth(api_key)
    ctx = _Ctx(provider, engine, endpoint, codec, auth, policy, sleep, clock,
               started + policy.deadline_s, on_status)
    groups = wire.split(_items(provider, jobs, to_request, model), *wire.LIMITS[provider])
    if counts is not None:
        counts.add("provider_batches", len(groups))
        counts.add("provider_batch_lines", len(jobs))
    run = _run_openai if provider == "openai" else _run_anthropic
    found: Found = {}
    for part in await _together([run(ctx, group) for group in groups]):
        found.update(part)
    missing = ("ProviderError", wire.MISSING)
    return Ran([found.get(job.index, missing) for job in jobs], (clock() - started) * 1000.0)


def _items(
    provider: str, jobs: Sequence[Job], to_request: Callable[[Job], Request] | None, model: str
) -> list[wire.Item]:
    build = to_request if to_request is not None else (lambda job: wire.job_request(job, model))
    seen: set[str] = set()
    return [
        wire.encode_item(provider, wire.custom_id(job, seen), job.index,
                         wire.request_body(provider, job, build, model))
        for job in jobs
    ]


async def _together(runs: list[Awaitable[Found]]) -> list[Found]:
    """Run the batches side by side; the first failure is raised as itself."""
    if len(runs) <= 1:
        return [await run for run in runs]
    tasks: list[asyncio.Task[Found]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_await(run)) for run in runs]
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


async def _await(run: Awaitable[Found]) -> Found:
    return await run


def _anthropic_auth(api_key: str | None) -> dict[str, str]:
    auth = {"anthropic-version": API_VERSION}
    if api_key:
        auth["x-api-key"] = api_key
    return auth


async def _run_openai(ctx: _Ctx, group: list[wire.Item]) -> Found:
    data = b"".join(item.line for item in group)
    ctype, form = wire.multipart([("purpose", None, b"batch"), ("file", "llmx.jsonl", data)])
    uploaded = await ctx.send_json("POST", "files", form, ctype)
    create = {"input_file_id": uploaded["id"], "endpoint": wire.CHAT_ENDPOINT,
              "completion_window": "24h"}
    batch = await ctx.send_json("POST", "batches", encode_json(create), "application/json")
    ctx.report(str(batch.get("status")), batch)
    path = f"batches/{quote(batch['id'], safe='')}"
    if batch.get("status") not in _OPENAI_DONE:
        try:
            batch = await ctx.wait(path, "status", _OPENAI_DONE)
        except _Deadline:
            await ctx.cancel(f"{path}/cancel")
            return dict.fromkeys((item.index for item in group), ctx.timed_out(batch["id"]))
    answers: dict[str, wire.Outcome] = {}
    for key in ("error_file_id", "output_file_id"):
        file_id = batch.get(key)
        if isinstance(file_id, str) and file_id:
            content = await ctx.send("GET", f"files/{quote(file_id, safe='')}/content")
            answers.update(wire.parse_lines(content, wire.openai_outcome))
    return _match(group, answers, wire.openai_fallback(batch))


async def _run_anthropic(ctx: _Ctx, group: list[wire.Item]) -> Found:
    payload = b'{"requests":[' + b",".join(item.line for item in group) + b"]}"
    batch = await ctx.send_json("POST", "v1/messages/batches", payload, "application/json")
    ctx.report(str(batch.get("processing_status")), batch)
    path = f"v1/messages/batches/{quote(batch['id'], safe='')}"
    if batch.get("processing_status") not in _ANTHROPIC_DONE:
        try:
            batch = await ctx.wait(path, "processing_status", _ANTHROPIC_DONE)
        except _Deadline:
            await ctx.cancel(f"{path}/cancel")
            return dict.fromkeys((item.index for item in group), ctx.timed_out(batch["id"]))
    url = wire.results_path(ctx.endpoint.base_url, batch.get("results_url"), path)
    answers = wire.parse_lines(await ctx.send("GET", url), wire.anthropic_outcome)
    return _match(group, answers, ("ProviderError", wire.MISSING))


def _match(
    group: list[wire.Item], answers: Mapping[str, wire.Outcome], missing: tuple[str, str]
) -> Found:
    return {item.index: answers.get(item.custom_id, missing) for item in group}


def result_of(job: Job, outcome: wire.Outcome, latency_ms: float) -> Result:
    """A job's output line from its outcome."""
    if isinstance(outcome, Chunk):
        return Result(index=job.index, id=job.id, text=outcome.text,
                      usage=outcome.usage or Usage(), cached=False, latency_ms=latency_ms,
                      attempts=1)
    return Result(index=job.index, id=job.id, cached=False, latency_ms=latency_ms,
                  attempts=1, error=outcome)
