"""The conversation logs: one row per delivered answer, with its text. Standard library only.

The logs live in one SQLite database, ``llmx.paths.state_dir(env) / "logs.db"`` (0600 in
a 0700 directory, WAL journal, FTS5 full-text index where the SQLite build has it), read
by ``llmx logs`` and by ``-c``/``--cid``. A row holds what the user would want to look
back at: prompt, system prompt, attachments (names and sha256, never their bytes), answer,
reasoning (only when it was shown), model, profile, provider, usage, cost, cache tier,
conversation id and time. Every text passes through ``llmx.errors.redact`` first, so an
API key (registered, or of a clear key shape) is never written, even when a provider
echoes it.

Writing costs a cache hit next to nothing: ``append`` adds one JSON line to the *spool*
``logs.pending`` beside the database (one ``write()`` under a POSIX lock on that file,
no SQLite, no fsync), and the spool is moved into the database (``llmx.logs_db.drain``)
whenever the database is read, or by the writer whose line makes the spool larger than
``DRAIN_BYTES``. A drain holds the spool's lock from reading it until it is truncated, and
every line carries a unique id the database keeps once (``INSERT OR IGNORE``), so any
number of concurrent writers and readers lose no line and duplicate none, whatever
process dies where; only drains write to the database, one at a time, so no caller ever
sees "database is locked".

``Entry`` is a NamedTuple (this module is imported after every answer, a cache hit's
included).
"""

# No ``from __future__ import annotations`` here: a named tuple's string annotations are
# compiled when its class is made (the first compile of a process costs ~3 ms).

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

DB_NAME = "logs.db"
SPOOL_NAME = "logs.pending"
LINE_VERSION = 1
DRAIN_BYTES = 256 * 1024  # a spool larger than this is drained by the writer that grew it
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_ENCODER = json.JSONEncoder(separators=(",", ":"))


class Entry(NamedTuple):
    """One delivered answer, as logged. ``attachments``: ``(name, sha256 hex)`` pairs;
    ``tool_calls``: the calls as JSON text, or None; ``cost``: None when no price is
    known; ``tier``: ``exact`` | ``semantic`` | ``miss`` | ``off`` (as in the records)."""

    uid: str
    ts: float
    cid: str
    profile: str
    provider: str
    model: str
    tier: str
    system: str | None
    prompt: str
    answer: str
    reasoning: str | None = None
    attachments: tuple[tuple[str, str], ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    finish_reason: str | None = None
    tool_calls: str | None = None


TEXT_FIELDS = ("system", "prompt", "answer", "reasoning", "tool_calls")


def db_path(env: Mapping[str, str]) -> Path:
    """Where the logs database is (not created)."""
    from llmx.paths import state_dir

    return state_dir(env) / DB_NAME


def new_id(length: int = 12) -> str:
    """A fresh random id of ``length`` hex digits (conversation ids are 12)."""
    return os.urandom((length + 1) // 2).hex()[:length]


def clean(text: str | None) -> str | None:
    """``text`` fit to be logged: secrets masked (``llmx.errors.redact``), and any lone
    surrogate (undecodable input) replaced, so SQLite can store it."""
    if text is None:
        return None
    from llmx.errors import redact

    text = redact(text)
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def cleaned(entry: Entry) -> Entry:
    """``entry`` with every text ``clean``; attachment names too."""
    changes: dict[str, Any] = {name: clean(getattr(entry, name)) for name in TEXT_FIELDS}
    changes["attachments"] = tuple((clean(name) or "", digest)
                                   for name, digest in entry.attachments)
    return entry._replace(**changes)


def to_line(entry: Entry) -> bytes:
    """The spool line of ``entry`` (already ``cleaned``)."""
    obj = {"v": LINE_VERSION, **entry._asdict()}
    obj["attachments"] = [list(pair) for pair in entry.attachments]
    return (_ENCODER.encode(obj) + "\n").encode("utf-8")


def append(entry: Entry, home: Path) -> None:
    """Log ``entry`` (see the module docstring) under the state directory ``home``.
    Raises ``OSError`` or ``llmx.errors.LlmxError`` (an unusable directory, a damaged
    database when this write drains); the caller warns and goes on."""
    data = to_line(cleaned(entry))
    path = home / SPOOL_NAME
    try:
        fd = os.open(path, _OPEN_FLAGS, 0o600)
    except FileNotFoundError:
        from llmx.paths import ensure_private_dir

        ensure_private_dir(home)
        fd = os.open(path, _OPEN_FLAGS, 0o600)
    try:
        os.lockf(fd, os.F_LOCK, 0)  # the whole file: a drain holds it while it moves lines
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
        written = os.write(fd, data)
        while written < len(data):  # a short write (disk full) is finished: whole lines only
            written += os.write(fd, data[written:])
        size = os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)  # releases the lock
    if size > DRAIN_BYTES:
        from llmx.logs_db import open_logs

        connection = open_logs(home, create=True)
        if connection is not None:
            connection.close()
