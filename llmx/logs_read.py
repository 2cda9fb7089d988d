"""Reading the logs (see ``llmx.logs``): recent answers, a search, a conversation.

Every function takes a connection from ``llmx.logs_db.open_logs`` (the spool already
drained into it) and returns ``Entry`` values, oldest first ("newest last", as a
conversation reads).

A search (``text``) keeps the answers whose prompt, answer or system prompt hold every word
of ``text``: with FTS5 each word is matched as a token (``Ann`` finds "my name is Ann",
not "Annual"; case and accents ignored), without it as a substring (ASCII case ignored).
Words are taken literally: no FTS5 query syntax reaches SQLite.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from llmx.errors import UsageError
from llmx.logs import Entry
from llmx.logs_db import COLUMNS, has_fts

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM logs"
_CID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-")
MAX_CID = 64


def check_cid(cid: str) -> str:
    """``cid`` if it can be a conversation id (or a prefix of one), else ``UsageError``."""
    if not cid or len(cid) > MAX_CID or not set(cid) <= _CID_CHARS:
        raise UsageError(f"--cid {cid!r} is not a conversation id",
                         hint="`llmx logs` shows them (letters, digits, - and _)")
    return cid


def recent(connection: sqlite3.Connection, limit: int | None = None, *,
           text: str | None = None, cid: str | None = None) -> list[Entry]:
    """The ``limit`` newest answers (all when None) matching ``text`` and in conversation
    ``cid`` (exact), oldest first."""
    where: list[str] = []
    params: list[str | int] = []
    if cid is not None:
        where.append("cid = ?")
        params.append(cid)
    if text is not None:
        clause, words = _search(connection, text)
        where.append(clause)
        params.extend(words)
    sql = _SELECT + (f" WHERE {' AND '.join(where)}" if where else "")
    sql += " ORDER BY ts DESC, id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    rows = [_entry(row) for row in connection.execute(sql, params)]
    rows.reverse()
    return rows


def _search(connection: sqlite3.Connection, text: str) -> tuple[str, list[str]]:
    words = text.split()
    if not words:
        raise UsageError("-q needs some text to search for")
    if has_fts(connection):
        query = " ".join('"' + word.replace('"', '""') + '"' for word in words)
        return "id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?)", [query]
    likes, params = [], []
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        likes.append("(" + " OR ".join(f"coalesce({column}, '') LIKE ? ESCAPE '\\'"
                                       for column in ("prompt", "answer", "system")) + ")")
        params.extend([pattern] * 3)
    return "(" + " AND ".join(likes) + ")", params


def latest_cid(connection: sqlite3.Connection) -> str | None:
    """The conversation of the newest answer, or None when nothing is logged."""
    row = connection.execute("SELECT cid FROM logs ORDER BY ts DESC, id DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def find_cid(connection: sqlite3.Connection, given: str) -> str | None:
    """The conversation id ``given`` names: itself, or the one id it is a prefix of;
    None when none is; ``UsageError`` when the prefix names several."""
    check_cid(given)
    if connection.execute("SELECT 1 FROM logs WHERE cid = ? LIMIT 1", (given,)).fetchone():
        return given
    found = [str(row[0]) for row in connection.execute(
        "SELECT DISTINCT cid FROM logs WHERE cid GLOB ? LIMIT 3", (given + "*",))]
    if len(found) > 1:
        raise UsageError(f"--cid {given} names several conversations ({', '.join(found)}, ...)",
                         hint="give more of the id")
    return found[0] if found else None


def _entry(row: tuple[Any, ...]) -> Entry:
    values = dict(zip(COLUMNS, row, strict=True))
    values["attachments"] = _pairs(values["attachments"])
    return Entry(**values)


def _pairs(raw: str) -> tuple[tuple[str, str], ...]:
    try:
        items = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(items, list):
        return ()
    return tuple((str(item[0]), str(item[1])) for item in items
                 if isinstance(item, list) and len(item) == 2)
