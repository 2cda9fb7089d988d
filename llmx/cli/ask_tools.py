"""``llmx ask --tools / --tool-choice / --schema``: reading the flags, and what follows an
answer that called tools, refused, or had to follow a schema.

Imported only when one of those flags is given or an answer needs it (never on a plain
``ask``). What a caller may rely on:

* ``read_options``: the ``Call`` fields ``(tools, tool_choice, schema)`` (canonical JSON),
  or a ``UsageError`` naming the flag (a file that cannot be read, bad JSON, a tool
  list of the wrong shape, a choice naming no tool, ``--schema`` with ``--tools``).
* ``conclude``: after the answer was printed. Without ``--json``, each tool call goes to
  stdout as one JSON line (``{"id", "name", "arguments"}``, the arguments parsed) and a note
  to stderr. A refusal or a content filter raises ``RefusedError`` (exit 9) with the refusal
  text; a structured answer that does not follow the schema raises ``SchemaMismatch``
  (exit 10) saying where. Otherwise it returns 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from llmx.errors import RefusedError, SchemaMismatch, UsageError

if TYPE_CHECKING:
    from llmx.cli._io import Io
    from llmx.types import Completion, Request


def read_options(tools: str | None, tool_choice: str | None,
                 schema: str | None) -> tuple[str | None, str | None, str | None]:
    """The Call's ``tools``, ``tool_choice`` and ``schema`` from the flags' values."""
    from llmx.tooling import canonical_schema, canonical_tools, check_choice

    canonical = None
    if tools is not None:
        canonical = canonical_tools(_read(tools, "--tools"), f"--tools {tools}")
    check_choice(tool_choice, canonical)
    if schema is None:
        return canonical, tool_choice, None
    if tools is not None:
        raise UsageError("--schema cannot be combined with --tools (ask for one or the other)")
    text = schema if schema.lstrip().startswith("{") else _read(schema, "--schema")
    return None, tool_choice, canonical_schema(text)


def _read(path: str, flag: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read {flag} file {path}: {reason}") from None


def conclude(completion: Completion, request: Request, as_json: bool, io: Io) -> int:
    """Tool-call lines, the refusal and the schema check, after the answer is out."""
    if completion.tool_calls and not as_json:
        _print_calls(completion, io)
    if completion.refusal or completion.finish_reason in ("refusal", "content_filter"):
        raise RefusedError(_refusal_line(completion))
    if request.schema is not None and not completion.tool_calls:
        from llmx.tooling import schema_problem

        problem = schema_problem(completion.text, request.schema)
        if problem is not None:
            raise SchemaMismatch(f"the answer does not follow --schema: {problem}")
    return 0


def _print_calls(completion: Completion, io: Io) -> None:
    from llmx.tooling import calls_json

    for call in calls_json(completion.tool_calls):
        io.stdout.write(json.dumps(call, ensure_ascii=False) + "\n")
    io.stdout.flush()
    names = ", ".join(call.name for call in completion.tool_calls)
    count = len(completion.tool_calls)
    io.stderr.write(f"note: the model called {count} tool{'s' if count > 1 else ''} "
                    f"({names}); each call is one JSON line on stdout\n")
    io.stderr.flush()


def _refusal_line(completion: Completion) -> str:
    text = " ".join(completion.refusal.split())
    if completion.finish_reason == "content_filter":
        return "the provider's content filter stopped the answer" + (f": {text}" if text else "")
    return f"the model refused: {text}" if text else "the model refused to answer"
