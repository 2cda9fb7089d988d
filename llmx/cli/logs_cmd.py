"""``llmx logs``: the logged answers, newest last; ``llmx logs path``: where they are.

``-n N`` the N newest (default 3; 0: all), ``-q TEXT`` only those whose prompt, answer or
system prompt hold every word of TEXT, ``--cid ID`` only that conversation (an id or a
unique prefix of one), ``--json`` one JSON object per answer and line (the ``Entry``
fields; ``attachments`` as ``{"name", "sha256"}`` objects; ``time`` in ISO 8601 UTC).
Nothing logged yet prints nothing and creates nothing.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Annotated, Any

import typer

from llmx.cli._boundary import guarded
from llmx.cli._io import Io
from llmx.errors import UsageError
from llmx.logs import Entry, db_path

DEFAULT_LIMIT = 3

LOGS_HELP = """The logged answers, newest last (`llmx logs path`: where).

Every `ask` and `chat` turn is logged (prompt, system, attachments by name and sha256,
answer, model, usage, cost, cache tier, conversation id) unless `--no-log` or the
profile's `logs = false`; API keys never are.

Examples:

* `llmx logs`   (the 3 newest answers, as Markdown)
* `llmx logs -n 0 --json | jq -r .prompt`   (every prompt)
* `llmx logs -q "Ann" --json`   (answers holding every word)
* `llmx logs --cid 3485a9`   (one conversation; `ask --cid 3485a9` continues it)
* `llmx logs -n 0 --json | jq -r .model | sort | uniq -c`   (answers per model)
"""

logs_app = typer.Typer(help=LOGS_HELP, invoke_without_command=True,
                       rich_markup_mode="markdown")


def _exit(ctx: typer.Context, command: Any) -> None:
    io = ctx.obj if isinstance(ctx.obj, Io) else Io.system()
    raise typer.Exit(guarded(lambda: command(io), io))


@logs_app.callback()
def logs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("-n", "--count", metavar="N",
                                       help="How many answers, the newest (0: all).")
                     ] = DEFAULT_LIMIT,
    query: Annotated[str | None, typer.Option("-q", "--query", metavar="TEXT", help=(
        "Only answers whose prompt, answer or system prompt hold every word."))] = None,
    cid: Annotated[str | None, typer.Option("--cid", metavar="ID", help=(
        "Only this conversation (an id or a unique prefix)."))] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per line.")
                        ] = False,
) -> None:
    """The logged answers (prompt, answer, model, conversation id), newest last."""
    if ctx.invoked_subcommand is None:
        _exit(ctx, lambda io: run_logs(io, limit=limit, text=query, cid=cid, as_json=json_out))


@logs_app.command("path")
def logs_path(ctx: typer.Context) -> None:
    """Print where the logs database is."""
    _exit(ctx, run_logs_path)


def run_logs(io: Io, *, limit: int = DEFAULT_LIMIT, text: str | None = None,
             cid: str | None = None, as_json: bool = False) -> int:
    from llmx.logs_db import open_logs
    from llmx.logs_read import find_cid, recent

    if limit < 0:
        raise UsageError(f"-n {limit}: give a count of answers (0: all)")
    connection = open_logs(db_path(io.env).parent)
    entries: list[Entry] = []
    if connection is not None:
        try:
            found = cid if cid is None else find_cid(connection, cid)
            if cid is None or found is not None:
                entries = recent(connection, limit or None, text=text, cid=found)
        finally:
            connection.close()
    for index, entry in enumerate(entries):
        if as_json:
            io.stdout.write(json.dumps(entry_json(entry), ensure_ascii=False) + "\n")
        else:
            io.stdout.write(("\n" if index else "") + entry_text(entry))
    return 0


def run_logs_path(io: Io) -> int:
    io.stdout.write(f"{db_path(io.env)}\n")
    return 0


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def entry_json(entry: Entry) -> dict[str, Any]:
    """One answer as ``--json`` prints it."""
    obj: dict[str, Any] = {"time": _when(entry.ts), **entry._asdict()}
    obj["attachments"] = [{"name": name, "sha256": digest}
                          for name, digest in entry.attachments]
    if entry.tool_calls is not None:
        with contextlib.suppress(ValueError):  # else kept as the text it was logged as
            obj["tool_calls"] = json.loads(entry.tool_calls)
    return obj


def entry_text(entry: Entry) -> str:
    """One answer as Markdown: a heading line with its time and conversation, a line of
    what answered it, then its sections."""
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(entry.ts))
    tokens = f"{entry.input_tokens:,} → {entry.output_tokens:,} tokens"
    cost = "" if entry.cost is None else f" · ${entry.cost:.6f}"
    lines = [f"# {when} · conversation {entry.cid}",
             f"{entry.profile} · {entry.provider}/{entry.model} · {entry.tier} · {tokens}{cost}",
             ""]
    if entry.system:
        lines += ["## System", entry.system.rstrip("\n"), ""]
    lines += ["## Prompt", entry.prompt.rstrip("\n"), ""]
    if entry.attachments:
        lines += ["## Attachments", *(f"- {name} (sha256 {digest})"
                                      for name, digest in entry.attachments), ""]
    if entry.reasoning:
        lines += ["## Reasoning", entry.reasoning.rstrip("\n"), ""]
    lines += ["## Answer", entry.answer.rstrip("\n") or "(no text)"]
    if entry.tool_calls:
        lines += ["", "## Tool calls", entry.tool_calls]
    return "\n".join(lines) + "\n"
