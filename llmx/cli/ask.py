"""``llmx ask``: one prompt, answered on stdout.

This module is on the fast path: it imports neither typer nor rich. ``parse_fast`` reads
an ``ask`` command line by the option table ``llmx.cli.spec.ASK``, from which the Typer
command is built too; anything it does not parse cleanly (``--help``, a typo, a bad
number) falls back to the Typer app, which gives the full usage message. A test runs
both parsers over the same command lines and compares the ``AskArgs``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmx.cli._io import Io
from llmx.cli._stdin import GRACE_SECONDS, context_ready, read_all
from llmx.cli.spec import ASK, parse
from llmx.errors import UsageError
from llmx.values import fields_of, frozen, names

if TYPE_CHECKING:
    from llmx.answer import Answer
    from llmx.cli.ask_fallback import AskChain
    from llmx.cli.ask_inputs import Inputs
    from llmx.cli.ask_reasoning import ReasoningOut
    from llmx.config.profile import Profile
    from llmx.counters import Counts
    from llmx.engine import Client, Plan
    from llmx.prepare import Call
    from llmx.types import Completion, Message


@frozen  # not a dataclass nor a named tuple: created at the import of every ``llmx ask``
class AskArgs:
    """One ``llmx ask`` command line, parsed. Each field is set by the options of
    ``llmx.cli.spec.ASK`` naming it; these defaults are the options' defaults."""

    prompt: tuple[str, ...] = ()
    profile: str | None = None
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    json: bool = False
    config: str | None = None
    stdin: bool | None = None
    no_cache: bool = False
    refresh: bool = False
    kind: str | None = None
    compress: str | None = None
    dry_run: bool = False
    resume: bool = False  # -c / --continue
    cid: str | None = None
    no_log: bool = False
    tools: str | None = None  # the --tools file
    tool_choice: str | None = None
    schema: str | None = None  # the --schema file or JSON text
    show_reasoning: bool = False
    reasoning_effort: str | None = None
    files: tuple[str, ...] = ()  # -f: text files (llmx.attach)
    attach: tuple[str, ...] = ()  # -a: image paths or URLs
    template: str | None = None  # -t: a [templates.NAME] of the config (llmx.templates)
    extract: bool = False  # -x: only the first fenced code block (llmx.cli.extract)
    extract_last: bool = False  # --extract-last: only the last one


def parse_fast(argv: Sequence[str]) -> AskArgs | None:
    """Parse ``ask`` arguments (after the word ``ask``) by ``llmx.cli.spec.ASK``; None means
    "let Typer do it" (help, errors, anything unusual)."""
    parsed = parse(ASK, argv)
    return None if parsed is None else ask_args(*parsed)


def ask_args(words: Sequence[str], values: Mapping[str, Any]) -> AskArgs:
    """``AskArgs`` from the prompt words and option values by field name (names that are
    not fields, such as Typer's ``no_compress`` parameter, are ignored): both parsers
    end here."""
    given = {name: value for name, value in values.items() if name in ASK_FIELDS}
    return AskArgs(prompt=tuple(words), **given)


ASK_FIELDS = frozenset(names(AskArgs)) - {"prompt"}
ASK_DEFAULTS = {item.name: item.default for item in fields_of(AskArgs)}


def gather_prompt(args: AskArgs, io: Io, inputs: Inputs | None = None) -> str:
    """The prompt text from arguments and stdin (see ``llmx.cli._stdin``), or from the
    template's prompt, followed by the ``-f`` files (``inputs``: ``llmx.cli.ask_inputs``)."""
    words = args.prompt
    files = inputs.files if inputs is not None else ()
    if inputs is not None and inputs.prompt is not None:
        from llmx.cli.ask_inputs import templated

        text = templated(inputs.prompt, args, io)
    elif words == ("-",) or (not words and not io.stdin_is_tty):
        if args.stdin is False:
            raise UsageError("no prompt: `-` reads stdin, but --no-stdin was given")
        text = read_all(io.stdin)
    elif not words and not files:
        raise UsageError("no prompt given", hint='llmx ask "your question"  (or pipe text in)')
    else:
        text = " ".join(words)
        if not io.stdin_is_tty:
            text = _with_context(text, args, io)
    if not text.strip() and not any(item.text.strip() for item in files):
        raise UsageError("the prompt is empty")
    if files:
        from llmx.attach import with_files

        text = with_files(text, files)
    return text


def _with_context(prompt: str, args: AskArgs, io: Io) -> str:
    if not context_ready(io.stdin, args.stdin):
        if args.stdin is None:
            io.stderr.write(f"note: stdin sent nothing within {GRACE_SECONDS:g}s; ignoring it "
                            "(--stdin waits for it, --no-stdin skips it)\n")
        return prompt
    context = read_all(io.stdin)
    return f"{prompt}\n\n{context}" if context.strip() else prompt


def run_ask(args: AskArgs, io: Io) -> int:
    from pathlib import Path

    from llmx import logs_turn
    from llmx.config.files import load
    from llmx.config.memo import keep
    from llmx.config.profile import first_use_note, resolve_profile
    from llmx.engine import Client
    from llmx.state import Once, stderr_warn

    config = load(args.config, io.env, Path.cwd())
    inputs = None
    if args.template is not None or args.files or args.extract or args.extract_last:
        from llmx.cli.ask_inputs import prepare_inputs

        args, inputs = prepare_inputs(config, args)
    prompt = gather_prompt(args, io, inputs)
    profile = resolve_profile(config, args.profile)
    check_flags(args, profile)
    note = first_use_note(config, args.profile)
    if note is not None:
        io.stderr.write(note + "\n")
        io.stderr.flush()
    turn = logs_turn.of_args(args, profile, io.env, io.stderr)
    call = call_of(args, turn.history)
    if args.attach:
        from llmx.cli.ask_inputs import images_for

        call = call._replace(images=images_for(args, profile.provider))
    warnings = Once(stderr_warn(io.stderr))  # one line for the cache, records and logs
    client = Client(profile, env=io.env, warn=warnings, warm=False, refresh_ahead=False)
    plan = client.plan(prompt, call, stream=args.stream)  # prepared once, for all below
    if args.dry_run:
        client.close()
        return _dry_run(plan, args, io)
    code = 0
    hit = client.lookup(plan)  # a hit needs no event loop and no HTTP stack
    if hit is not None:
        client.close()
        _emit_whole(hit, profile, args, io)
        logs_turn.keep(turn, prompt, plan, hit, profile, warnings,
                       reasoning_shown=args.show_reasoning)
        code = _conclude(hit, plan, args, io)
    else:
        import asyncio  # only now: a cache hit never starts an event loop

        from llmx.cli import collect_garbage

        collect_garbage()
        from llmx.cli.ask_fallback import with_fallbacks

        def log(completion: Completion, answered: Profile) -> None:
            logs_turn.keep(turn, prompt, plan, completion, answered, warnings,
                           reasoning_shown=args.show_reasoning)

        chain = with_fallbacks(client, config, prompt, args, io)
        code = asyncio.run(_ask(chain, plan, args, io, log))
    if code == 0:
        keep()  # the answer is out: remember the config's parse for the next ask
    return code


def call_of(args: AskArgs, history: tuple[Message, ...] = ()) -> Call:
    """The ``Call`` of a command line's options (``ask``; ``chat``, per turn), with the
    conversation's earlier turns as ``history``."""
    from llmx.prepare import Call

    call = Call(system=args.system, model=args.model, temperature=args.temperature,
                max_tokens=args.max_tokens, no_cache=args.no_cache, refresh=args.refresh,
                kind=args.kind, compress=args.compress, reasoning_effort=args.reasoning_effort,
                history=history)
    if args.tools is not None or args.tool_choice is not None or args.schema is not None:
        tools, choice, schema = tool_options(args)
        call = call._replace(tools=tools, tool_choice=choice, schema=schema)
    return call


def tool_options(args: AskArgs) -> tuple[str | None, str | None, str | None]:
    """The Call's tools, tool_choice and schema from their flags (read and checked)."""
    from llmx.cli.ask_tools import read_options

    return read_options(args.tools, args.tool_choice, args.schema)


def _conclude(completion: Completion, plan: Plan, args: AskArgs, io: Io) -> int:
    """After the answer is out: tool calls, refusals and the schema check (exit code)."""
    if args.extract or args.extract_last:
        from llmx.cli.extract import exit_code

        code = exit_code(completion.text, args.extract_last)
        if code:
            return code
    if not (completion.tool_calls or completion.refusal or plan.prepared.request.schema
            or completion.finish_reason in ("refusal", "content_filter")):
        return 0
    from llmx.cli.ask_tools import conclude

    return conclude(completion, plan.prepared.request, args.json, io)


FLAG_NAMES = {opt.field: opt.names[-1] for opt in ASK if opt.kind == "value"}  # --max-tokens


def check_flags(args: AskArgs, profile: Profile) -> None:
    """Each value flag by its config key's own rule (``UsageError`` naming the flag);
    ``--temperature`` by the profile's provider's range."""
    from llmx.prepare import Call, check_call

    check_call(profile, Call(model=args.model, temperature=args.temperature,
                             max_tokens=args.max_tokens, kind=args.kind,
                             compress=args.compress, reasoning_effort=args.reasoning_effort),
               FLAG_NAMES)


def _dry_run(plan: Plan, args: AskArgs, io: Io) -> int:
    """What would be sent, and its token counts; nothing is sent or cached."""
    from llmx.cli.ask_inputs import message_json
    from llmx.cli.compress_cmd import summary_line
    from llmx.compress.tokens import tokenizer_for
    from llmx.paths import state_dir

    prepared = plan.prepared
    request = prepared.request
    tokenizer = tokenizer_for(request.model, cache_dir=state_dir(io.env) / "tokenizers")
    before = prepared.tokens_before
    after = prepared.tokens_after
    if before is None or after is None:
        before = after = tokenizer.count(request.messages[-1].content)
    if args.json:
        obj = {"model": request.model, "system": request.system,
               "messages": [message_json(m) for m in request.messages],
               "tokens_before": before, "tokens_after": after, "compressor": prepared.compressor,
               "omitted_tokens": prepared.omitted_tokens, "encoding": tokenizer.encoding,
               "approximate": tokenizer.approximate}
        io.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        return 0
    io.stdout.write(request.messages[-1].content.rstrip("\n") + "\n")
    line = summary_line(before, after, tokenizer.encoding, tokenizer.approximate)
    if prepared.omitted_tokens:
        line += f"; {prepared.omitted_tokens} tokens omitted to fit the context window"
    io.stderr.write(line + "\n")
    return 0


async def _ask(client: Client | AskChain, plan: Plan, args: AskArgs, io: Io,
               log: Callable[[Completion, Profile], None]) -> int:
    """Send ``plan``, print the answer, then ``log`` it (with the profile that answered)."""
    async with client:
        answer = client.stream(plan, wire_stream=args.stream)
        omitted = plan.prepared.omitted_tokens
        if omitted:
            io.stderr.write(f"note: {omitted} prompt tokens were left out to fit "
                            "the model's context window\n")
        if args.json or not args.stream or args.extract or args.extract_last:
            completion = await answer.collect()
            _emit_whole(completion, client.profile, args, io)
        else:
            await _stream_to(answer, io, args.show_reasoning,
                             None if answer.cached else getattr(client, "counts", None))
            completion = answer.completion()
    log(completion, client.profile)
    return _conclude(completion, plan, args, io)


async def _stream_to(answer: Answer, io: Io, show_reasoning: bool,
                     counts: Counts | None = None) -> None:
    """Print a streamed answer; ``counts`` (a provider's stream) gets the pipe writer's
    pieces and writes (the buffer efficiency figure)."""
    import asyncio

    from llmx.counters import sink_counts
    from llmx.ui.stream import make_sink

    thinking = _reasoning_out(io) if show_reasoning else None
    sink = make_sink(io.stdout, is_tty=io.stdout_is_tty, env=io.env,
                     later=asyncio.get_running_loop().call_later)
    try:
        async for chunk in answer:
            if chunk.reasoning and thinking is not None:
                thinking.write(chunk.reasoning)
            if chunk.text:
                if thinking is not None:
                    thinking.end()
                sink.write(chunk.text)
    finally:
        if thinking is not None:
            thinking.end()
        sink.close()
        if counts is not None:
            counts.update(sink_counts(sink))


def _reasoning_out(io: Io) -> ReasoningOut:
    from llmx.cli.ask_reasoning import ReasoningOut

    return ReasoningOut(io)


def _emit_whole(completion: Completion, profile: Profile, args: AskArgs, io: Io) -> None:
    if args.json:
        obj = completion_json(completion, profile)
        if args.tools is not None:
            obj.setdefault("tool_calls", [])  # asked with tools: the key is always there
        if args.show_reasoning or args.reasoning_effort is not None:
            obj["reasoning"] = completion.reasoning
        io.stdout.write(json.dumps(obj, ensure_ascii=False))
        io.stdout.write("\n")
        io.stdout.flush()
        return
    from llmx.ui.stream import make_sink

    if args.show_reasoning and completion.reasoning:
        thinking = _reasoning_out(io)
        thinking.write(completion.reasoning)
        thinking.end()
    if args.extract or args.extract_last:
        from llmx.cli.extract import write_block

        return write_block(completion.text, args.extract_last, io)
    sink = make_sink(io.stdout, is_tty=io.stdout_is_tty, env=io.env)
    sink.write(completion.text)
    sink.close()


def completion_json(completion: Completion, profile: Profile) -> dict[str, Any]:
    return {
        "text": completion.text,
        "model": completion.model,
        "provider": completion.provider,
        "profile": profile.name,
        "usage": {"input_tokens": completion.usage.input_tokens,
                  "output_tokens": completion.usage.output_tokens},
        "latency_ms": round(completion.latency_ms, 2),
        "ttft_ms": None if completion.ttft_ms is None else round(completion.ttft_ms, 2),
        "finish_reason": completion.finish_reason,
        "cached": completion.cached,
        **({"similarity": round(completion.similarity, 4)}
           if completion.similarity is not None else {}),
        **_tool_json(completion),
    }


def _tool_json(completion: Completion) -> dict[str, Any]:
    if not (completion.tool_calls or completion.refusal):
        return {}
    from llmx.tooling import calls_json

    return {"tool_calls": calls_json(completion.tool_calls), "refusal": completion.refusal}

