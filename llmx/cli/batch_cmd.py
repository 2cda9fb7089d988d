"""``llmx batch``: a JSONL file of prompts, answered concurrently, one output line per input line.

The composition: per-profile ``Client``s (cache, records, retries) feed ``run_batch``; a
signal sets the stop event; ``--provider-batch`` hands the whole file to the provider's
Batch API instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from llmx.choices import BATCH_MODES
from llmx.cli._io import Io
from llmx.cli.batch_spec import BatchArgs
from llmx.config import schema
from llmx.errors import UsageError
from llmx.state import Once, stderr_warn
from llmx.values import replaced

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from llmx.batch.feed import Planned
    from llmx.batch.jobs import Job
    from llmx.batch.limits import Bucket
    from llmx.batch.output import LineOut
    from llmx.batch.summary import Summary
    from llmx.cli.batch_mode import Items
    from llmx.config.profile import Config, Profile
    from llmx.engine import Client
    from llmx.types import Completion


LINE_RETRIES = schema.integer(0, 100)  # --line-retries: as many as a profile's `retries`
GRACE = schema.number(0.0, 3600.0)  # --grace: seconds for lines in flight after Ctrl-C


class Clients:
    """One Client per profile named in the input, opened on first use."""

    def __init__(self, config: Config, default: str | None, io: Io, stack: AsyncExitStack,
                 concurrency: int = 1, semantic: bool = False) -> None:
        self._config, self._default, self._io, self._stack = config, default, io, stack
        self._concurrency, self._semantic = concurrency, semantic
        self._clients: dict[str | None, Client] = {}
        self._warnings = Once(stderr_warn(io.stderr))  # shared: one state warning per run

    def warn(self, message: str) -> None:
        """One warning line for the run (each message once)."""
        self._warnings.notice(message)

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

    def monitoring(self) -> dict[str, object]:
        """The run's monitoring figures (``llmx.stats_figures``), once the clients closed."""
        from llmx.counters import Counts
        from llmx.stats_figures import Figures

        figures, counts = Figures(), Counts()
        for client in self._clients.values():
            figures.merge(client.figures)
            counts.update(client.counts.nonzero())
        return figures.to_json(counts.nonzero())

    def resends(self) -> int:
        """Requests the clients' HTTP engines sent again (retries inside one send)."""
        return sum(client.stats().get("retries", 0) for client in self._clients.values())


def run_batch_command(args: BatchArgs, io: Io) -> int:
    """Check everything (flags, config, paths), then open the input, the clients and the
    output, in that order: a refused command has touched nothing and sent nothing."""
    from llmx.cli.batch_paths import check_paths
    from llmx.config.files import load

    args = checked_flags(args)
    config = load(args.config, io.env, Path.cwd())
    _check_mode(args, config)
    check_paths(args.source, args.output, args.summary_json, resume=args.resume,
                stdin=io.stdin, stdout=io.stdout)
    return asyncio.run(_main(args, config, io))


def checked_flags(args: BatchArgs) -> BatchArgs:
    """Every flag through the config's own rules (one ``error:`` line naming the flag)."""
    from llmx.config.fields import rule

    def check(flag: str, checker: schema.Checker, value: object) -> object:
        return None if value is None else schema.check_flag(flag, checker, value)

    if args.resume and (not args.output or args.output == "-"):
        raise UsageError("--resume needs -o FILE (the output of the earlier run)")
    check("-j/--concurrency", rule("batch.concurrency"), args.concurrency)
    check("--rpm", rule("batch.rpm"), args.rpm)
    check("--tpm", rule("batch.tpm"), args.tpm)
    check("--line-retries", LINE_RETRIES, args.line_retries)
    check("--mode", schema.choice(*BATCH_MODES), args.mode)
    check("--deadline", schema.duration(), args.deadline)
    return args._replace(grace=schema.check_flag("--grace", GRACE, args.grace))


def _check_mode(args: BatchArgs, config: Config) -> None:
    """``--mode provider`` with a provider that has no Batch API: refused before anything."""
    from llmx.batch.provider import batch_window_s
    from llmx.config.profile import resolve_profile

    if args.mode == "provider":
        provider = resolve_profile(config, args.profile).provider
        if batch_window_s(provider) is None:
            raise UsageError(f"--mode provider: {provider} has no Batch API (use --mode "
                             "direct or auto)")


async def _main(args: BatchArgs, config: Config, io: Io) -> int:
    from llmx.cli.batch_mode import decide, provider_batch
    from llmx.config.profile import resolve_profile

    profile = resolve_profile(config, args.profile)
    stop = asyncio.Event()
    concurrency = args.concurrency or profile.batch.concurrency
    with _jobs_source(args, io) as stream, _signals(stop):
        async with AsyncExitStack() as stack:
            clients = Clients(config, args.profile, io, stack, concurrency, args.semantic)
            await clients.get(None)  # the default profile opens before the output
            choice, items = decide(args, profile, stream)
            if args.mode != "auto" or args.deadline is not None:
                io.stderr.write(choice.line(args.mode) + "\n")
            with _output(args, io) as (out, skip):
                if choice.mode == "provider":
                    summary = await provider_batch(args, clients, out, stream, items, skip,
                                                   io)
                else:
                    limits = (_bucket(args.rpm, "rpm", profile, io, clients.warn),
                              _bucket(args.tpm, "tpm", profile, io, clients.warn))
                    summary = await _direct(args, clients, concurrency, out, stream, items,
                                            skip, stop, io, limits, config)
            summary = dataclasses.replace(summary, mode=choice.as_dict())
    summary = dataclasses.replace(summary, monitoring=clients.monitoring())
    if args.warm:
        from llmx.cli.warm import report

        io.stderr.write(report(summary) + "\n")
    if args.summary_json:
        _write_summary(args.summary_json, summary, io)
    return int(summary.exit_code())


def _bucket(per_minute: int | None, kind: str, profile: Profile, io: Io,
            warn: Callable[[str], None]) -> Bucket | None:
    """``--rpm`` / ``--tpm``: this process's bucket, or with ``cache.backend = "redis"`` one
    bucket per profile shared by every process using that Redis."""
    from llmx.batch.limits import SharedBucket, TokenBucket

    if not per_minute:
        return None
    if profile.cache.backend != "redis" or profile.cache.mode == "off":
        return TokenBucket(per_minute)
    from llmx.cache.shared import open_redis
    from llmx.paths import cache_dir

    store = open_redis(profile.cache, cache_dir(io.env), clock=time.time, warn=None)
    name = f"{profile.name}:{kind}"
    return SharedBucket(lambda rate, capacity, amount: store.bucket(name, rate, capacity,
                                                                    amount),
                        per_minute, warn=warn)


async def _direct(args: BatchArgs, clients: Clients, concurrency: int, out: LineOut,
                  stream: BinaryIO, items: Items | None, skip: set[str], stop: asyncio.Event,
                  io: Io,
                  limits: tuple[Bucket | None, Bucket | None], config: Config) -> Summary:
    from llmx.batch.feed import count_lines
    from llmx.batch.jobs import aread_jobs, call_for, read_jobs
    from llmx.batch.output import OrderedWriter
    from llmx.batch.runner import run_batch
    from llmx.cli.batch_fallback import LineFallbacks
    from llmx.engine import Plan
    from llmx.ui.progress import make_progress

    flags = {"no_cache": args.no_cache, "refresh": args.refresh}
    fallbacks = LineFallbacks(clients, config, args.profile, io.stderr, flags)

    def plan(job: Job) -> Plan | None:  # by its profile's Client, once that is open
        client = clients.opened(job.profile)
        return None if client is None else client.plan(job.prompt or "",
                                                       call_for(job, **flags), stream=False)

    def send(job: Job, planned: Planned | None) -> Awaitable[Completion]:
        client = clients.opened(job.profile)
        if client is not None and isinstance(planned, Plan):  # planned when it was read
            return fallbacks.send(job, lambda: client.generate(planned))
        return fallbacks.send(job, lambda: opened_then_send(job))

    async def opened_then_send(job: Job) -> Completion:
        client = await clients.get(job.profile)
        return await client.generate(job.prompt or "", call_for(job, **flags))

    def shared(job: Job, planned: Planned) -> bool:
        client = clients.opened(job.profile)
        return client is not None and isinstance(planned, Plan) and client.in_flight(planned)

    jobs = (iter(items) if items is not None
            else aread_jobs(stream) if args.source == "-" else read_jobs(stream))
    return await run_batch(
        jobs, send=send, plan=plan, shared=shared,
        writer=OrderedWriter(out, ordered=not args.unordered),
        concurrency=concurrency, stop=stop, grace=args.grace, line_retries=args.line_retries,
        rpm=limits[0], tpm=limits[1], skip=skip,
        total=None if args.source == "-" else count_lines(args.source),
        resends=clients.resends,
        progress=make_progress(io.stderr, is_tty=io.stderr_is_tty, env=io.env))


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
def _output(args: BatchArgs, io: Io) -> Iterator[tuple[LineOut, set[str]]]:
    """The output (and, for --resume, the ids it already answers) as one transaction: a
    regular file is written beside it and renamed over it at the end (llmx/batch/outfile.py);
    stdout, devices and FIFOs are streamed into, a line (or a ready run of lines) per write."""
    from llmx.batch.outfile import OutputFile, real_target

    if args.warm:
        from llmx.cli.warm import FailedLines

        yield FailedLines(io.stderr), set()
        return
    if not args.output or args.output == "-":
        yield _stdout_sink(io), set()
        return
    target = real_target(args.output)
    if target.exists() and not target.is_file():
        with _device(args.output) as sink:
            yield sink, set()
        return
    output, done = OutputFile.begin(target, resume=args.resume)
    try:
        yield output.sink, done
    except BaseException:
        if output.sink.new_lines:  # answers were written: keep them (resume does the rest)
            output.commit()
        else:
            output.abandon()
        raise
    output.commit()


def _stdout_sink(io: Io) -> LineOut:
    """Lines straight into stdout's descriptor, or into its binary stream when it has none
    (the in-process test harness)."""
    import io as stdio

    from llmx.batch.outfile import LineSink

    io.stdout.flush()
    binary = io.binary_stdout()
    try:
        fd = binary.fileno()
    except (AttributeError, ValueError, stdio.UnsupportedOperation):
        return binary
    return LineSink(fd, "stdout")


@contextmanager
def _device(name: str) -> Iterator[LineOut]:
    from llmx.batch.outfile import LineSink, OutputFailed

    try:
        fd = os.open(name, os.O_WRONLY)
    except OSError as exc:
        raise OutputFailed(f"cannot write {name}: {exc.strerror}") from None
    try:
        yield LineSink(fd, name)
    finally:
        os.close(fd)


def _for_batch(profile: Profile, concurrency: int, semantic: bool) -> Profile:
    """The profile as a batch uses it: a connection per request in flight, and the
    semantic tier only when asked for (``--semantic``). Batch files are mostly templated
    prompts that differ in one detail, the riskiest input for semantic matching, and its
    index would hold a vector per line (100 MB per 100,000 lines). Exact repeats are still
    answered by the cache and coalesced in flight."""
    http = profile.http
    if http.max_connections < concurrency:
        http = replaced(http, max_connections=concurrency, max_keepalive=concurrency)
    cache = profile.cache if semantic else replaced(profile.cache, semantic=False)
    return replaced(profile, http=http, cache=cache)


def _write_summary(target: str, summary: Summary, io: Io) -> None:
    """The summary JSON (written whole, after the output): a failure here is a warning,
    since every answer is already saved."""
    from llmx.batch.outfile import OutputFailed, real_target, write_atomic

    text = json.dumps(summary.as_dict()) + "\n"
    if target == "-":
        io.stderr.write(text)
        return
    try:
        write_atomic(real_target(target), text.encode())
    except (OSError, OutputFailed) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc.message
        io.stderr.write(f"warning: cannot write the summary to {target}: {reason}\n")
