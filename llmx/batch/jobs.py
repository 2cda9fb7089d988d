"""One input line -> a ``Job`` (or a ``BadLine``), read as a stream. Standard library only.

Two line shapes, one per line of JSONL (UTF-8; blank lines are skipped but keep their number):

    {"id": "q1", "prompt": "...", "system": "...", "model": "...", "profile": "...",
     "priority": "high" | "normal" | "low" | <int>, "params": {"temperature": 0.2, ...}}
    {"id": "q2", "messages": [{"role": "system" | "user" | "assistant", "content": "..."}]}
    {"custom_id": "q3", "method": "POST", "url": "/v1/chat/completions",
     "body": {"model": "...", "messages": [...], "temperature": 0, "max_tokens": 64}}

Normalised so that a Job maps straight onto ``Client.generate``: ``prompt`` is the last user
turn, ``messages`` the history before it (system turns removed), ``system`` the explicit
system text followed by any system/developer turns, and ``params`` holds only ``Call``
field names (``Call(system=..., model=..., history=job.messages, **job.params)``).
Unknown top-level keys are ignored (room for metadata); unknown ``params`` keys are an
error (a typo should not be silently dropped); unknown OpenAI ``body`` keys are kept only
in ``openai_body`` (for the provider Batch API). An integer id becomes its decimal string.

A line that is not JSON, lacks a prompt or has a wrong type becomes a ``BadLine`` whose
message names the line number; the runner writes it as an error line and runs the rest.

Output lines, ordering and resume live in ``llmx.batch.output`` (re-exported here).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from llmx.batch.output import OrderedWriter as OrderedWriter
from llmx.batch.output import Result as Result
from llmx.batch.output import done_ids as done_ids
from llmx.batch.output import prepare_resume as prepare_resume
from llmx.choices import COMPRESSION_MODES
from llmx.errors import UsageError
from llmx.messages import BadMessages, split_messages
from llmx.messages import show as _show
from llmx.types import Message

if TYPE_CHECKING:
    from llmx.prepare import Call

PRIORITIES: Mapping[str, int] = {"high": 0, "normal": 10, "low": 20}
DEFAULT_PRIORITY = PRIORITIES["normal"]
OPENAI_URLS = ("/v1/chat/completions", "/chat/completions")
READ_CHUNK = 1 << 16  # bytes per read by the threaded stdin reader


@dataclass(frozen=True, slots=True)
class Job:
    index: int  # 0-based input line number (blank lines count)
    id: str
    prompt: str | None
    messages: tuple[Message, ...] = ()
    system: str | None = None
    model: str | None = None
    profile: str | None = None
    priority: int = DEFAULT_PRIORITY  # lower is sooner
    params: Mapping[str, Any] = field(default_factory=dict)
    openai_body: Mapping[str, Any] | None = None  # the body of an OpenAI Batch request line


@dataclass(frozen=True, slots=True)
class BadLine:
    index: int
    lineno: int  # 1-based
    message: str  # "line N: why"
    id: str  # the line's own id when it could be read, else "line-N"


class _Bad(Exception):
    """Why a line cannot run (internal control flow of the parser)."""


def parse_line(raw: bytes, lineno: int) -> Job | BadLine:
    """Parse one JSONL line (``lineno`` is 1-based)."""
    default_id = f"line-{lineno}"
    try:
        data = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        reason = "not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else "invalid JSON"
        return BadLine(lineno - 1, lineno, f"line {lineno}: {reason}", default_id)
    if not isinstance(data, dict):
        return BadLine(lineno - 1, lineno, f"line {lineno}: expected a JSON object", default_id)
    line_id = default_id
    try:
        openai = "custom_id" in data or "body" in data
        line_id = _line_id(data, "custom_id" if openai else "id", default_id)
        if openai:
            return _openai_job(data, lineno - 1, line_id)
        return _native_job(data, lineno - 1, line_id)
    except _Bad as exc:
        return BadLine(lineno - 1, lineno, f"line {lineno}: {exc}", line_id)


def read_jobs(stream: BinaryIO) -> Iterator[Job | BadLine]:
    """Jobs from a binary stream, one line at a time (memory bounded by the longest line).
    A failing read (EIO, EISDIR) is a ``UsageError``."""
    lines = iter(stream)
    lineno = 0
    while True:
        try:
            raw = next(lines)
        except StopIteration:
            return
        except OSError as exc:
            raise unreadable(exc) from None
        lineno += 1
        if raw.strip():
            yield parse_line(raw, lineno)


def unreadable(exc: OSError) -> UsageError:
    return UsageError(f"cannot read the input: {exc.strerror or type(exc).__name__}")


async def aread_jobs(stream: BinaryIO) -> AsyncIterator[Job | BadLine]:
    """``read_jobs`` for a pipe or terminal: a daemon thread reads, so a slow producer never
    blocks the event loop. At most two chunks of ``READ_CHUNK`` bytes are held ahead."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[list[bytes] | BaseException | None] = asyncio.Queue(maxsize=2)
    threading.Thread(target=_pump, args=(stream, loop, queue), daemon=True,
                     name="llmx-batch-reader").start()
    lineno = 0
    while (lines := await queue.get()) is not None:
        if isinstance(lines, OSError):
            raise unreadable(lines) from None
        if isinstance(lines, BaseException):
            raise lines
        for raw in lines:
            lineno += 1
            if raw.strip():
                yield parse_line(raw, lineno)


def _pump(stream: BinaryIO, loop: asyncio.AbstractEventLoop,
          queue: asyncio.Queue[list[bytes] | BaseException | None]) -> None:
    """Reader thread: whole lines to ``queue`` as they arrive; None at EOF."""

    def put(item: list[bytes] | BaseException | None) -> bool:
        try:
            asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
        except BaseException:  # loop closed or the put cancelled: nobody is listening
            return False
        return True

    read = getattr(stream, "read1", None) or stream.readline
    carry = b""
    try:
        while chunk := read(READ_CHUNK):
            lines = (carry + chunk).split(b"\n")
            carry = lines.pop()
            if lines and not put([line + b"\n" for line in lines]):
                return
    except OSError as exc:
        put(exc)
        return
    if carry and not put([carry]):
        return
    put(None)


def estimate_tokens(job: Job, default_max_tokens: int = 0) -> int:
    """A cheap token estimate for --tpm: characters // 4 plus the answer budget."""
    chars = len(job.prompt or "") + len(job.system or "")
    chars += sum(len(m.content) for m in job.messages)
    max_tokens = job.params.get("max_tokens")
    return chars // 4 + (max_tokens if isinstance(max_tokens, int) else default_max_tokens)


# -- the two shapes ---------------------------------------------------------------------------


def _native_job(data: Mapping[str, Any], index: int, line_id: str) -> Job:
    prompt = _optional_str(data, "prompt")
    if prompt is not None and not prompt:
        raise _Bad('"prompt" is empty')
    systems, turns = _messages(data["messages"]) if "messages" in data else ([], [])
    if prompt is None and not turns:
        raise _Bad('missing "prompt" or "messages"')
    prompt, history = _split_prompt(prompt, turns)
    return Job(index=index, id=line_id, prompt=prompt, messages=history,
               system=_join_system(_optional_str(data, "system"), systems),
               model=_optional_str(data, "model"), profile=_optional_str(data, "profile"),
               priority=_priority(data.get("priority")), params=_params(data.get("params")))


def _openai_job(data: Mapping[str, Any], index: int, line_id: str) -> Job:
    method, url = data.get("method", "POST"), data.get("url", OPENAI_URLS[0])
    body = data.get("body")
    if method != "POST":
        raise _Bad(f'"method" must be "POST", not {_show(method)}')
    if url not in OPENAI_URLS:
        raise _Bad(f'"url" {_show(url)} is not supported (only {OPENAI_URLS[0]})')
    if not isinstance(body, dict):
        raise _Bad('"body" must be an object')
    if "messages" not in body:
        raise _Bad('"body" has no "messages"')
    systems, turns = _messages(body["messages"])
    if not turns:
        raise _Bad('"body.messages" has no user message')
    prompt, history = _split_prompt(None, turns)
    params: dict[str, Any] = {}
    if "temperature" in body:
        params["temperature"] = _check("body.temperature", body["temperature"], _number)
    for name in ("max_tokens", "max_completion_tokens"):
        if body.get(name) is not None:
            params["max_tokens"] = _check(f"body.{name}", body[name], _positive_int)
    return Job(index=index, id=line_id, prompt=prompt, messages=history,
               system=_join_system(None, systems), model=_optional_str(body, "model"),
               priority=_priority(data.get("priority")), params=params, openai_body=body)


# -- fields -----------------------------------------------------------------------------------


def _line_id(data: Mapping[str, Any], name: str, default: str) -> str:
    value = data.get(name)
    if value is None and name == "id":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise _Bad(f'"{name}" must be a non-empty string')
    return value


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise _Bad(f'"{name}" must be a string')
    return value


def _priority(value: object) -> int:
    if value is None:
        return DEFAULT_PRIORITY
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value in PRIORITIES:
        return PRIORITIES[value]
    raise _Bad(f'"priority" must be high, normal, low or an integer, not {_show(value)}')


def _messages(value: object) -> tuple[list[str], list[Message]]:
    """(system texts, user/assistant turns) from an OpenAI-style message list."""
    try:
        return split_messages(value)
    except BadMessages as exc:
        raise _Bad(str(exc)) from None


def _split_prompt(prompt: str | None, turns: list[Message]) -> tuple[str, tuple[Message, ...]]:
    """The prompt and the history before it; without a prompt, the last turn is the prompt."""
    if prompt is not None:
        return prompt, tuple(turns)
    if turns[-1].role != "user":
        raise _Bad("the last message must be from the user")
    return turns[-1].content, tuple(turns[:-1])


def _join_system(explicit: str | None, systems: list[str]) -> str | None:
    parts = ([explicit] if explicit else []) + systems
    return "\n\n".join(parts) if parts else None


def _params(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad('"params" must be an object')
    unknown = sorted(set(value) - set(_PARAM_CHECKS))
    if unknown:
        raise _Bad(f'unknown "params" key {_show(unknown[0])} '
                   f"(known: {', '.join(sorted(_PARAM_CHECKS))})")
    return {name: _check(f"params.{name}", v, _PARAM_CHECKS[name]) for name, v in value.items()}


Check = tuple[str, Callable[[object], bool]]  # (what is expected, test)


def _check(name: str, value: object, check: Check) -> Any:
    """``value`` when it passes ``check``; else a BadLine reason naming the field."""
    description, test = check
    if not test(value):
        raise _Bad(f'"{name}" must be {description}, not {_show(value)}')
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


_number: Check = ("a number", _is_number)
_positive_int: Check = ("a positive integer", _is_positive_int)
_PARAM_CHECKS: Mapping[str, Check] = {
    "temperature": _number,
    "max_tokens": _positive_int,
    "kind": ("a string", lambda v: isinstance(v, str)),
    "compress": (f"one of {', '.join(COMPRESSION_MODES)}", lambda v: v in COMPRESSION_MODES),
    "no_cache": ("true or false", lambda v: isinstance(v, bool)),
    "refresh": ("true or false", lambda v: isinstance(v, bool)),
}


def call_for(job: Job, *, no_cache: bool = False, refresh: bool = False) -> Call:
    """The per-call options of a line (its params are ``Call`` field names); ``no_cache`` and
    ``refresh`` (``llmx batch --no-cache / --refresh``) apply to every line, on top of a
    line's own ``params``."""
    from llmx.prepare import Call

    params = job.params
    if not params:  # the common line: no params of its own
        return Call(system=job.system, model=job.model, history=job.messages,
                    no_cache=no_cache, refresh=refresh)
    given = dict(params)
    given["no_cache"] = no_cache or bool(given.get("no_cache", False))
    given["refresh"] = refresh or bool(given.get("refresh", False))
    return Call(system=job.system, model=job.model, history=job.messages, **given)
