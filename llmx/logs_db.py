"""The logs database (see ``llmx.logs``): opening it, its schema, and draining the spool.

``open_logs(home)`` is the only way in: it takes the spool's lock, creates the database
(0600, WAL) and its schema when missing, moves every spooled line into it, truncates the
spool, releases the lock and returns the connection, from which the caller reads. So a
reader always sees every answer logged before it opened, and the database is only ever
written under that lock, one process at a time.

Schema (``PRAGMA user_version`` 1): table ``logs``, one row per answer, ``uid`` unique
(the spool line's id: a line drained twice is kept once), indexed by ``cid``; with FTS5,
the external-content table ``logs_fts`` over ``prompt``, ``answer`` and ``system``,
filled in the same transaction as the row.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llmx.logs import DB_NAME, SPOOL_NAME, Entry
from llmx.state import StateUnavailable

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0  # only drains write, one at a time: a wait is a drain's own length
COLUMNS = Entry._fields
_TABLE = """CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, ts REAL NOT NULL, cid TEXT NOT NULL,
    profile TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, tier TEXT NOT NULL,
    system TEXT, prompt TEXT NOT NULL, answer TEXT NOT NULL, reasoning TEXT,
    attachments TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cost REAL, finish_reason TEXT, tool_calls TEXT)"""
_INDEX = "CREATE INDEX IF NOT EXISTS logs_by_cid ON logs (cid, ts)"
_FTS = ("CREATE VIRTUAL TABLE IF NOT EXISTS logs_fts USING fts5(prompt, answer, system, "
        "content='logs', content_rowid='id')")
_INSERT = (f"INSERT OR IGNORE INTO logs ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(COLUMNS))})")
_INSERT_FTS = "INSERT INTO logs_fts (rowid, prompt, answer, system) VALUES (?, ?, ?, ?)"


def open_logs(home: Path, *, create: bool = False) -> sqlite3.Connection | None:
    """The logs database of the state directory ``home``, the spool drained into it; None
    when nothing was ever logged there (and ``create`` is False: nothing is created).
    ``StateUnavailable`` for a database that cannot be opened or is damaged."""
    spool, path = home / SPOOL_NAME, home / DB_NAME
    if not create and not spool.exists() and not path.exists():
        return None
    try:
        return _opened(spool, path)
    except sqlite3.Error as exc:
        raise StateUnavailable(f"cannot use the logs database {path}: {exc}",
                               hint=f"move the file aside (mv {path} {path}.bad) to start "
                                    "afresh") from None
    except OSError as exc:
        raise StateUnavailable(f"cannot use the logs in {home}: {exc.strerror}") from None


def _opened(spool: Path, path: Path) -> sqlite3.Connection:
    from llmx.paths import ensure_private_dir

    ensure_private_dir(spool.parent)
    fd = os.open(spool, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.lockf(fd, os.F_LOCK, 0)
        connection = _connect(path)
        try:
            _drain(connection, fd)
        except BaseException:
            connection.close()
            raise
    finally:
        os.close(fd)
    return connection


def _connect(path: Path) -> sqlite3.Connection:
    """Connect (creating the file 0600 first, so SQLite's -wal and -shm files are 0600 too)
    and make sure of the schema."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            _create(connection, version)
        connection.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        connection.close()
        raise
    return connection


def _create(connection: sqlite3.Connection, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"written by a newer llmx (schema {version})")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(_TABLE)
        connection.execute(_INDEX)
        with contextlib.suppress(sqlite3.OperationalError):  # no FTS5: LIKE searches
            connection.execute(_FTS)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def has_fts(connection: sqlite3.Connection) -> bool:
    """Whether this database has its full-text index."""
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'logs_fts'").fetchone()
    return found is not None


def _drain(connection: sqlite3.Connection, fd: int) -> None:
    """Every whole line of the (locked) spool into the database, then the spool emptied.
    Lines that do not parse (a newer llmx's, garbage) are dropped."""
    data = _read_all(fd)
    if not data:
        return
    fts = has_fts(connection)
    connection.execute("BEGIN IMMEDIATE")
    try:
        for values in _rows(data):
            cursor = connection.execute(_INSERT, values)
            if fts and cursor.rowcount == 1:
                row = dict(zip(COLUMNS, values, strict=True))
                connection.execute(_INSERT_FTS, (cursor.lastrowid, row["prompt"],
                                                 row["answer"], row["system"]))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    os.ftruncate(fd, 0)


def _read_all(fd: int) -> bytes:
    pieces = []
    while piece := os.read(fd, 1 << 20):
        pieces.append(piece)
    return b"".join(pieces)


def _rows(data: bytes) -> Iterator[tuple[Any, ...]]:
    """The column values of each valid line of ``data``."""
    for line in data.split(b"\n"):
        values = _values(line)
        if values is not None:
            yield values


def _values(line: bytes) -> tuple[Any, ...] | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("v") != 1:
        return None
    values = [obj.get(name) for name in COLUMNS]
    for value, types in zip(values, _TYPES, strict=True):
        if type(value) not in types:  # exact types: a bool is not an int here
            return None
    values[_ATTACHMENTS] = json.dumps(values[_ATTACHMENTS])
    return tuple(values)


_TEXT, _MAYBE_TEXT, _NUMBER = (str,), (str, type(None)), (int, float)
_BY_NAME: dict[str, tuple[type, ...]] = {
    **{name: _TEXT for name in ("uid", "cid", "profile", "provider", "model", "tier",
                                "prompt", "answer")},
    **{name: _MAYBE_TEXT for name in ("system", "reasoning", "finish_reason", "tool_calls")},
    "ts": _NUMBER, "input_tokens": (int,), "output_tokens": (int,),
    "cost": (int, float, type(None)), "attachments": (list,)}
_TYPES = tuple(_BY_NAME[name] for name in COLUMNS)
_ATTACHMENTS = COLUMNS.index("attachments")
