"""``llmx batch``: a JSONL file of prompts, answered concurrently, one output line per input line.

The composition: per-profile ``Client``s (cache, records, retries) feed ``run_batch``; a
signal sets the stop event; ``--provider-batch`` hands the whole file to the provider's
Batch API instead.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

from llmx.cli._io import Io
from llmx.errors import UsageError
from llmx.state import Once, stderr_warn

if TYPE_CHECKING:
    from llmx.batch.jobs import Job
    from llmx.batch.output import Result
    from llmx.batch.summary import Summary
    from llmx.config.profile import Config, Profile
    from llmx.engine import Client
    from llmx.types import Completion


@dataclass(frozen=True)
class BatchArgs:
    source: str = "-"
    output: str | None = None
    concurrency: int | None = None
    unordered: bool = False
    resume: bool = False
    rpm: int | None = None
    tpm: int | None = None
    provider_batch: bool = False
    summary_json: str | None = None
    profile: str | None = None
    config: str | None = None
    line_retries: int = 2
    grace: float = 5.0
    semantic: bool = False


class Clients:
    """One Client per profile named in the input, opened on first use."""

    def __init__(self, config: Config, default: str | None, io: Io, stack: AsyncExitStack,
                 concurrency: int = 1, semantic: bool = False) -> None:
        self._config, self._default, self._io, self._stack = config, default, io, stack
        self._concurrency, self._semantic = concurrency, semantic
        self._clients: dict[str | None, Client] = {}
        self._warnings = Once(stderr_warn(io.stderr))  # shared: one state warning per run

    async def get(self, name: str | None) -> Client:
        from llmx.config.profile import resolve_profile
        from llmx.engine import Client

        name = name or self._default
        found = self._clients.get(name)
        if found is None:
            profile = _for_batch(resolve_profile(self._config, name), self._concurrency,
                                 self._semantic)
            client = Client(profile, env=self._io.env, warn=self._warnings)
            found = await self._stack.enter_async_context(client)
            self._clients[name] = found
        return found

    def opened(self, name: str | None) -> Client | None:
        return self._clients.get(name or self._default)

    def resends(self) -> int:
        """Requests the clients' HTTP engines sent again (retries inside one send)."""
        return sum(client.stats().get("retries", 0) for client in self._clients.values())


def run_batch_command(args: BatchArgs, io: Io) -> int:
    from llmx.config.files import load

    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("-j/--concurrency must be at least 1")
    if args.resume and not args.output:
        raise UsageError("--resume needs -o FILE (the output of the earlier run)")
    config = load(args.config, io.env, Path.cwd())
    return asyncio.run(_main(args, config, io))


async def _main(args: BatchArgs, config: Config, io: Io) -> int:
    from llmx.config.profile import resolve_profile

    profile = resolve_profile(config, args.profile)
    stop = asyncio.Event()
    concurrency = args.concurrency or profile.batch.concurrency
    with _signals(stop), _output(args) as out:
        async with AsyncExitStack() as stack:
            clients = Clients(config, args.profile, io, stack, concurrency, args.semantic)
            if args.provider_batch:
                summary = await _provider_batch(args, clients, out, io)
            else:
                summary = await _direct(args, clients, concurrency, out, stop, io)
    if args.summary_json:
        _write_summary(args.summary_json, summary, io)
    return int(summary.exit_code())


async def _direct(args: BatchArgs, clients: Clients, concurrency: int, out: BinaryIO,
                  stop: asyncio.Event, io: Io) -> Summary:
    from llmx.batch.feed import count_lines
    from llmx.batch.jobs import aread_jobs, call_for, read_jobs
    from llmx.batch.limits import TokenBucket
    from llmx.batch.output import OrderedWriter, prepare_resume
    from llmx.batch.runner import run_batch
    from llmx.ui.progress import make_progress

    skip = prepare_resume(Path(args.output)) if args.resume and args.output else set()
    first = await clients.get(None)  # the default profile opens before any line is read

    async def send(job: Job) -> Completion:
        client = await clients.get(job.profile)
        return await client.generate(job.prompt or "", call_for(job))

    def key(job: Job) -> str | None:
        client = clients.opened(job.profile) or (first if job.profile is None else None)
        if client is None:
            return None
        return client.cache_key(job.prompt or "", call_for(job))

    with _jobs_source(args, io) as stream:
        jobs = aread_jobs(stream) if args.source == "-" else read_jobs(stream)
        return await run_batch(
            jobs, send=send, key=key, writer=OrderedWriter(out, ordered=not args.unordered),
            concurrency=concurrency, stop=stop, grace=args.grace, line_retries=args.line_retries,
            rpm=TokenBucket(args.rpm) if args.rpm else None,
            tpm=TokenBucket(args.tpm) if args.tpm else None, skip=skip,
            total=None if args.source == "-" else count_lines(args.source),
            resends=clients.resends,
            progress=make_progress(io.stderr, is_tty=_stderr_tty(io), env=io.env))


async def _provider_batch(args: BatchArgs, clients: Clients, out: BinaryIO, io: Io) -> Summary:
    from llmx.batch.jobs import Job, read_jobs
    from llmx.batch.output import OrderedWriter, Result
    from llmx.batch.summary import Summary

    client = await clients.get(None)
    with _jobs_source(args, io) as stream:
        items = list(read_jobs(stream))
    jobs = [item for item in items if isinstance(item, Job)]

    def status(state: str, info: object) -> None:
        io.stderr.write(f"batch: provider status {state}\n")
        io.stderr.flush()

    results = await client.provider_batch(jobs, on_status=status)
    io.stderr.write(_cost_line(client.profile, results) + "\n")
    by_index = {job.index: result for job, result in zip(jobs, results, strict=True)}
    writer = OrderedWriter(out)
    ok = errors = 0
    for seq, item in enumerate(items):
        result = by_index[item.index] if isinstance(item, Job) else Result.failed(
            item.index, item.id, ("BadLine", item.message), attempts=0)
        ok, errors = (ok, errors + 1) if result.error else (ok + 1, errors)
        writer.add(seq, result)
    writer.drain()
    return Summary(total=len(items), ok=ok, errors=errors, sends=len(jobs))


@contextmanager
def _signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT/SIGTERM: stop sending, let in-flight lines finish, write, exit 130."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


@contextmanager
def _jobs_source(args: BatchArgs, io: Io) -> Iterator[BinaryIO]:
    if args.source == "-":
        yield io.stdin
        return
    try:
        stream = open(args.source, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UsageError(f"cannot read {args.source}: {exc.strerror}") from None
    with stream:
        yield stream


@contextmanager
def _output(args: BatchArgs) -> Iterator[BinaryIO]:
    import sys

    if not args.output or args.output == "-":
        yield sys.stdout.buffer
        return
    mode = "ab" if args.resume else "wb"
    try:
        stream: IO[bytes] = open(args.output, mode)  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
    with stream:
        yield stream  # type: ignore[misc]


def _for_batch(profile: Profile, concurrency: int, semantic: bool) -> Profile:
    """The profile as a batch uses it: a connection per request in flight, and the
    semantic tier only when asked for (``--semantic``). Batch files are mostly templated
    prompts that differ in one detail, the riskiest input for semantic matching, and its
    index would hold a vector per line (100 MB per 100,000 lines). Exact repeats are still
    answered by the cache and coalesced in flight."""
    from dataclasses import replace

    http = profile.http
    if http.max_connections < concurrency:
        http = replace(http, max_connections=concurrency, max_keepalive=concurrency)
    cache = profile.cache if semantic else replace(profile.cache, semantic=False)
    return replace(profile, http=http, cache=cache)


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


def _stderr_tty(io: Io) -> bool:
    try:
        return io.stderr.isatty()
    except (ValueError, OSError):
        return False


def _write_summary(target: str, summary: Summary, io: Io) -> None:
    text = json.dumps(summary.as_dict()) + "\n"
    if target == "-":
        io.stderr.write(text)
        return
    Path(target).write_text(text)
