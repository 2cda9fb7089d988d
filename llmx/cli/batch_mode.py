"""``llmx batch --mode`` / ``--deadline``: the run's facts gathered for ``llmx.batch.choose``,
and the run through the provider's Batch API (``provider_batch``).

Only a run that has something to weigh (``--mode auto`` with a ``--deadline``) reads its
whole input before it starts (the estimate needs every line); the lines read are then run
from memory by whichever way was chosen. Every other run streams its input as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from llmx.batch.choose import ASSUMED_OUTPUT, Choice, Estimate, choose
from llmx.config.schema import parse_duration
from llmx.types import Chunk, Completion, Usage

if TYPE_CHECKING:
    from llmx.batch.jobs import BadLine, Job
    from llmx.batch.output import LineOut, Result
    from llmx.batch.summary import Summary
    from llmx.cli._io import Io
    from llmx.cli.batch_cmd import Clients
    from llmx.cli.batch_spec import BatchArgs
    from llmx.config.profile import Profile
    from llmx.engine import Client
    from llmx.plan import Plan

Items = list["Job | BadLine"]


def weighs(args: BatchArgs) -> bool:
    """Does this run need an estimate (and so its whole input) before it starts?"""
    return args.mode == "auto" and args.deadline is not None


def decide(args: BatchArgs, profile: Profile, stream: BinaryIO) -> tuple[Choice, Items | None]:
    """The way this run goes, and its input lines when they had to be read for it."""
    from llmx.batch.jobs import read_jobs

    items: Items | None = list(read_jobs(stream)) if weighs(args) else None
    price = None if profile.price is None else (profile.price.input, profile.price.output)
    deadline = None if args.deadline is None else parse_duration(args.deadline)
    choice = choose(args.mode, profile.provider, deadline_s=deadline,
                    estimate=None if items is None else estimate(items, profile.max_tokens),
                    price=price, min_saving=profile.batch.auto_min_saving)
    return choice, items


def estimate(items: Items, default_max_tokens: int | None) -> Estimate:
    """Prompt tokens (characters / 4) and answer tokens (each line's ``max_tokens``, else
    the profile's, else ``ASSUMED_OUTPUT``) of the run's good lines."""
    from llmx.batch.jobs import Job

    lines = tokens_in = tokens_out = 0
    assumed = False
    for item in items:
        if not isinstance(item, Job):
            continue
        lines += 1
        chars = len(item.prompt or "") + len(item.system or "")
        tokens_in += (chars + sum(len(m.content) for m in item.messages)) // 4
        cap = item.params.get("max_tokens")
        if not isinstance(cap, int):
            cap = default_max_tokens
        if cap is None:
            cap, assumed = ASSUMED_OUTPUT, True
        tokens_out += cap
    return Estimate(lines, tokens_in, tokens_out, assumed)


async def provider_batch(args: BatchArgs, clients: Clients, out: LineOut, stream: BinaryIO,
                         items: Items | None, skip: set[str], io: Io) -> Summary:
    """The run through the provider's Batch API: lines the cache answers are answered from
    it (and not sent); the others go out as one provider batch."""
    from llmx.batch.jobs import Job, read_jobs
    from llmx.batch.output import OrderedWriter, Result
    from llmx.batch.summary import Summary

    client = await clients.get(None)
    read = items if items is not None else list(read_jobs(stream))
    kept = [item for item in read if item.id not in skip]  # --resume: answered ids
    cached, to_send = _from_cache(client, [i for i in kept if isinstance(i, Job)], args)
    sent = await _send_batch(client, to_send, io) if to_send else {}
    writer = OrderedWriter(out)
    ok = errors = 0
    for seq, item in enumerate(kept):
        result = (cached.get(item.index) or sent[item.index] if isinstance(item, Job)
                  else Result.failed(item.index, item.id, ("BadLine", item.message), attempts=0))
        ok, errors = (ok, errors + 1) if result.error else (ok + 1, errors)
        writer.add(seq, result)
    writer.drain()
    tiers = [r.cached for r in cached.values()]
    return Summary(total=len(kept), ok=ok, errors=errors, sends=len(to_send),
                   cached={"exact": tiers.count("exact"), "semantic": tiers.count("semantic")},
                   skipped=len(read) - len(kept))


def _from_cache(client: Client, jobs: list[Job], args: BatchArgs
                ) -> tuple[dict[int, Result], list[tuple[Job, Plan]]]:
    """The lines the cache answers, and the others with their plans (prepared once: the
    plan looked up is the one sent and then kept)."""
    from llmx.batch.jobs import call_for
    from llmx.batch.output import Result

    answered: dict[int, Result] = {}
    rest: list[tuple[Job, Plan]] = []
    for job in jobs:
        call = call_for(job, no_cache=args.no_cache, refresh=args.refresh)
        plan = client.plan(job.prompt or "", call, stream=False)
        hit = client.lookup(plan)
        if hit is None:
            rest.append((job, plan))
        else:
            answered[job.index] = Result.answered(job.index, job.id, hit, attempts=0)
    return answered, rest


async def _send_batch(client: Client, planned: list[tuple[Job, Plan]], io: Io
                      ) -> dict[int, Result]:
    """One provider batch for ``planned``; each complete answer is cached and every answer
    recorded (at the Batch API's discount), as a direct call's would be."""
    from llmx.batch.provider import batch_discount, provider_outcomes, result_of
    from llmx.scrub import scrub_whole

    def status(state: str, info: object) -> None:
        io.stderr.write(f"batch: provider status {state}\n")
        io.stderr.flush()

    link, jobs = client.link(), [job for job, _ in planned]
    requests = {job.index: plan.prepared.request for job, plan in planned}
    ran = await provider_outcomes(
        jobs, provider=client.profile.provider, engine=link.engine, endpoint=link.endpoint,
        api_key=link.api_key(), model=client.profile.model, on_status=status,
        to_request=lambda job: requests[job.index], counts=client.counts)
    billed = 1.0 - batch_discount(client.profile.provider)
    results: dict[int, Result] = {}
    for (job, plan), outcome in zip(planned, ran.outcomes, strict=True):
        if isinstance(outcome, Chunk):  # an answer (else its error's type and message)
            outcome = scrub_whole(outcome)  # an API key it echoes, masked before it is kept
        results[job.index] = result_of(job, outcome, ran.elapsed_ms)
        if isinstance(outcome, Chunk):
            await client.keep(plan, _completion(client, outcome, ran.elapsed_ms), billed=billed)
    io.stderr.write(_cost_line(client.profile, list(results.values())) + "\n")
    return results


def _completion(client: Client, answer: Chunk, latency_ms: float) -> Completion:
    return Completion(answer.text, answer.model or client.profile.model,
                      client.profile.provider, answer.usage or Usage(), latency_ms,
                      finish_reason=answer.finish_reason, tool_calls=answer.tool_calls,
                      refusal=answer.refusal, reasoning=answer.reasoning)


def _cost_line(profile: Profile, results: list[Result]) -> str:
    """The Batch API's estimated cost next to what the normal API would have cost."""
    from llmx.batch.provider import batch_discount

    discount = batch_discount(profile.provider)
    price = profile.price
    if price is None:
        return (f"batch: billed at {100 * (1 - discount):.0f}% of normal prices "
                "(set [price] in the profile for a cost estimate)")
    tokens_in = sum(r.usage.input_tokens for r in results if r.usage)
    tokens_out = sum(r.usage.output_tokens for r in results if r.usage)
    normal = (tokens_in * price.input + tokens_out * price.output) / 1e6
    return (f"batch: estimated cost {normal * (1 - discount):.4f} with the Batch API vs "
            f"{normal:.4f} at normal prices ({tokens_in} in / {tokens_out} out tokens)")
