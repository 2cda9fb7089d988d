"""``llmx chat``: a conversation, one turn after another, over one Client.

On a terminal (stdin and stdout both), a REPL (``llmx.ui.chat``). Otherwise one turn per
line of stdin (blank lines skipped), each answer on stdout as ``ask`` prints it in a pipe
(raw text, flushed per chunk, one newline at its end), each turn sent with the earlier
ones as history; the first error ends the run with its exit code. Words on the command
line are the first turn.

The options are ``ask``'s profile and generation options (``CHAT``, taken from
``llmx.cli.spec.ASK``), ``-c``/``--cid``/``--no-log`` included: every turn goes through
``llmx.logs_turn`` as an ``ask`` does (the conversation is continued or started; each
answer is logged unless logs are off), and the history is fitted into the context window
by ``llmx.prepare``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from llmx import logs_turn
from llmx.cli._io import Io
from llmx.cli.ask import AskArgs, ask_args, call_of, check_flags
from llmx.cli.spec import ASK, Words
from llmx.logs import new_id

if TYPE_CHECKING:
    import typer

    from llmx.engine import Client
    from llmx.logs_turn import Turn
    from llmx.state import Once
    from llmx.types import Completion

CHAT_FIELDS = ("profile", "model", "system", "temperature", "max_tokens", "config",
               "no_cache", "refresh", "compress", "show_reasoning", "reasoning_effort",
               "resume", "cid", "no_log")
CHAT = tuple(opt for opt in ASK if opt.field in CHAT_FIELDS and opt.kind != "const")
CHAT_WORDS = Words("prompt", "A first message (words are joined).")
CHAT_HELP = """A conversation: a REPL on a terminal, one turn per line from a pipe.

On a terminal: line editing and history, `/exit` or Ctrl-D to leave, `/clear` for a new
conversation, Ctrl-C to stop an answer. Each turn is sent with the earlier ones.

Examples:

* `llmx chat -p sim`
* `llmx chat -c`   (continue the newest conversation)
* `printf 'hello\\nagain\\n' | llmx chat`
"""


class Session:
    """One chat: its Client, options and current turn (the conversation so far)."""

    def __init__(self, client: Client, args: AskArgs, turn: Turn, warnings: Once,
                 io: Io) -> None:
        self.client, self.args, self.turn, self.warnings, self.io = (
            client, args, turn, warnings, io)
        self.terminated = False  # SIGTERM came: leave, whatever was going on

    @property
    def describe(self) -> str:
        profile = self.client.profile
        return (f"profile {profile.name} ({profile.provider}/{self.args.model or profile.model})"
                f" · conversation {self.turn.cid}")

    def clear(self) -> None:
        """Start a new conversation (``/clear``)."""
        self.turn = self.turn._replace(cid=new_id(), history=())

    async def answer(self, prompt: str) -> Completion:
        """One turn: send ``prompt`` with the history, print the answer, log it, and make
        it part of the history of the next turn."""
        from llmx.cli.ask import _stream_to

        plan = self.client.plan(prompt, call_of(self.args, self.turn.history))
        answer = self.client.stream(plan)
        if plan.prepared.omitted_tokens:
            self.io.stderr.write(f"note: {plan.prepared.omitted_tokens} tokens of the "
                                 "conversation were left out to fit the context window\n")
        await _stream_to(answer, self.io, self.args.show_reasoning,
                         None if answer.cached else self.client.counts)
        completion = answer.completion()
        if completion.refusal:
            self.io.stderr.write(f"note: the model refused: {completion.refusal}\n")
        logs_turn.keep(self.turn, prompt, plan, completion, self.client.profile,
                       self.warnings, reasoning_shown=self.args.show_reasoning)
        if completion.text:
            self.turn = logs_turn.after(self.turn, prompt, completion.text)
        return completion


def run_chat(args: AskArgs, io: Io) -> int:
    from pathlib import Path

    from llmx.cli import collect_garbage
    from llmx.config.files import load
    from llmx.config.profile import first_use_note, resolve_profile
    from llmx.engine import Client
    from llmx.state import Once, stderr_warn

    collect_garbage()
    config = load(args.config, io.env, Path.cwd())
    profile = resolve_profile(config, args.profile)
    check_flags(args, profile)
    note = first_use_note(config, args.profile)
    if note is not None:
        io.stderr.write(note + "\n")
    turn = logs_turn.of_args(args, profile, io.env, io.stderr)
    warnings = Once(stderr_warn(io.stderr))
    # no refresh-ahead: between two turns the event loop waits for the user, not for it
    client = Client(profile, env=io.env, warn=warnings, refresh_ahead=False)
    session = Session(client, args, turn, warnings, io)
    first = " ".join(args.prompt).strip()
    with asyncio.Runner() as runner:
        runner.run(session.client.__aenter__())
        try:
            if io.stdin_is_tty and io.stdout_is_tty:
                from llmx.ui.chat import run_repl

                return run_repl(session, runner, first)
            return _piped(session, runner, first)
        finally:
            runner.run(session.client.__aexit__(None, None, None))


def _piped(session: Session, runner: asyncio.Runner, first: str) -> int:
    """One turn per line of stdin (see the module docstring)."""
    for prompt in _turns(session.io, first):
        runner.run(session.answer(prompt))
    return 0


def _turns(io: Io, first: str) -> Iterator[str]:
    if first:
        yield first
    while line := io.stdin.readline():
        text = line.decode("utf-8", "replace").strip()
        if text:
            yield text


def chat_body(ctx: typer.Context, words: tuple[str, ...], values: dict[str, Any]) -> None:
    """The Typer command's body (``llmx.cli.app`` registers it)."""
    import typer

    from llmx.cli._boundary import guarded

    root = ctx.find_root().params.get("config")
    if values.get("config") is None and isinstance(root, str):
        values = {**values, "config": root}
    args = ask_args(words, values)
    io = ctx.obj if isinstance(ctx.obj, Io) else Io.system()
    raise typer.Exit(guarded(lambda: run_chat(args, io), io))

