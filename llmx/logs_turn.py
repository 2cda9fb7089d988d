"""One turn of a conversation, for ``llmx ask`` and ``llmx chat``: which conversation it
belongs to and its history (``begin``), and its log row once the answer is out (``keep``).

Every answer starts a conversation or continues one: ``-c``/``--continue`` the newest,
``--cid ID`` a given one (an id or a unique prefix of one; unknown: ``UsageError``). The
earlier turns become the call's history (``Call.history``), which ``llmx.prepare`` fits
into the context window (``llmx.compress.context.fit``, with its visible marker) and the
cache key covers. Without either flag nothing is read, and this module costs a cache hit
one small import and one spool line (``llmx.logs``).

Logging is on unless ``--no-log`` or the profile's ``logs = false``; such a turn leaves
no trace at all. A log that cannot be written costs one warning (``Once.state_failed``,
shared with the cache and the records), never the answer.
"""

# No ``from __future__ import annotations`` here: a named tuple's string annotations are
# compiled when its class is made.

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from llmx.logs import Entry, append, new_id
from llmx.types import Message

if TYPE_CHECKING:
    from llmx.cli.ask import AskArgs
    from llmx.config.profile import Profile
    from llmx.plan import Plan
    from llmx.state import Once
    from llmx.types import Completion


class Turn(NamedTuple):
    """Where an answer goes: conversation ``cid`` (new or continued), the ``history`` sent
    before the prompt, whether it is logged (``keep``) and the state directory."""

    cid: str
    history: tuple[Message, ...]
    keep: bool
    home: Path


def begin(env: Mapping[str, str], *, resume: bool, cid: str | None, log: bool,
          stderr: TextIO) -> Turn:
    """The turn of a call: a new conversation, or (``resume``: the newest; ``cid``: that
    one) an earlier one with its history. ``log``: the turn is logged."""
    from llmx.paths import state_dir

    home = state_dir(env)
    if not resume and cid is None:
        return Turn(new_id(), (), log, home)
    found, history = _resume(home, cid)
    if found is None:
        stderr.write("note: no earlier conversation to continue; starting a new one\n")
        return Turn(new_id(), (), log, home)
    if not log:
        stderr.write("note: logs are off for this call (--no-log or `logs = false`): this "
                     "turn is not kept in the conversation\n")
    return Turn(found, history, log, home)


def of_args(args: "AskArgs", profile: "Profile", env: Mapping[str, str], stderr: TextIO
            ) -> Turn:
    """``begin`` by an ``ask`` or ``chat`` command line's ``-c``, ``--cid`` and
    ``--no-log``, and the profile's ``logs``."""
    return begin(env, resume=args.resume, cid=args.cid, log=profile.logs and not args.no_log,
                 stderr=stderr)


def _resume(home: Path, cid: str | None) -> tuple[str | None, tuple[Message, ...]]:
    from llmx.errors import UsageError
    from llmx.logs_db import open_logs
    from llmx.logs_read import check_cid, find_cid, latest_cid, recent

    if cid is not None:
        check_cid(cid)
    connection = open_logs(home)
    if connection is None:
        found = None
    else:
        try:
            found = latest_cid(connection) if cid is None else find_cid(connection, cid)
            entries = recent(connection, cid=found) if found is not None else []
        finally:
            connection.close()
    if cid is not None and found is None:
        raise UsageError(f"no conversation {cid} in the logs", hint="`llmx logs` shows them")
    return found, history_of(entries) if found is not None else ()


def history_of(entries: Sequence[Entry]) -> tuple[Message, ...]:
    """The messages of logged turns, oldest first: each prompt and its answer (a turn
    whose answer had no text, only tool calls, is left out)."""
    messages: list[Message] = []
    for entry in entries:
        if entry.answer:
            messages += [Message("user", entry.prompt), Message("assistant", entry.answer)]
    return tuple(messages)


def after(turn: Turn, prompt: str, answer: str) -> Turn:
    """The next turn of the same conversation (``llmx chat``)."""
    return turn._replace(history=(*turn.history, Message("user", prompt),
                                  Message("assistant", answer)))


def keep(turn: Turn, prompt: str, plan: "Plan", completion: "Completion", profile: "Profile",
         warnings: "Once", *, reasoning_shown: bool = False,
         files: Sequence[tuple[str, bytes]] = ()) -> None:
    """Log the delivered ``completion`` of ``prompt`` (as the user gave it, before
    compression) when the turn is logged; trouble is one warning. ``files``: the name and
    bytes of each file whose text the prompt holds (``-f``), logged as name and sha256."""
    if not turn.keep:
        return
    from llmx.errors import LlmxError

    entry = entry_of(turn, prompt, plan, completion, profile, reasoning_shown)
    if files:
        import hashlib

        named = tuple((name, hashlib.sha256(data).hexdigest()) for name, data in files)
        entry = entry._replace(attachments=named + entry.attachments)
    try:
        append(entry, turn.home)
    except (OSError, LlmxError) as exc:
        warnings.state_failed("write the conversation log", exc)


def entry_of(turn: Turn, prompt: str, plan: "Plan", completion: "Completion",
             profile: "Profile", reasoning_shown: bool) -> Entry:
    """The log row of one answer."""
    import time

    request = plan.prepared.request
    tier = completion.cached or ("miss" if plan.policy.read else "off")
    usage = completion.usage
    return Entry(
        uid=new_id(24), ts=time.time(), cid=turn.cid, profile=profile.name,
        provider=completion.provider, model=completion.model, tier=tier,
        system=request.system, prompt=prompt, answer=completion.text,
        reasoning=completion.reasoning if reasoning_shown and completion.reasoning else None,
        attachments=_attachments(request.messages[-1]), input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens, cost=_cost(profile, completion),
        finish_reason=completion.finish_reason, tool_calls=_calls(completion))


def _attachments(message: Message) -> tuple[tuple[str, str], ...]:
    """(name, sha256) of each image of the prompt's message (``Message.images``, when
    this build has them): the bytes themselves are never logged."""
    images = getattr(message, "images", ())
    if not images:
        return ()
    import hashlib

    return tuple((image.name, hashlib.sha256(image.data).hexdigest()) for image in images)


def _cost(profile: "Profile", completion: "Completion") -> float | None:
    """Money this answer cost at the profile's price: 0 for one from the cache, None when
    the profile has no price."""
    if profile.price is None:
        return None
    if completion.cached:
        return 0.0
    from llmx.steps import cost_of

    return cost_of(profile.price, completion.usage)


def _calls(completion: "Completion") -> str | None:
    if not completion.tool_calls:
        return None
    import json

    from llmx.tooling import calls_json

    return json.dumps(calls_json(completion.tool_calls), ensure_ascii=False)
