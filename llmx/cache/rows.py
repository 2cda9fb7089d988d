"""What the cache store writes into its databases and directory, as pure helpers.

No diskcache import here (``store.py`` stays its only user): these functions shape values
and keys, hold the statements on diskcache's schema and run them on the handle ``store.py``
passes in (``raw_sql``, ``put``, ``lru_get``), and handle the files the store keeps private.

    responses:  key -> {"x": expires-at | null, "e": Entry JSON}   (``envelope``)
    vectors:    "seq:<embedder>"           -> last sequence number handed out (int)
                "v:<embedder>:<seq, 12 digits>" -> JSON [key, scope], NUL, float32 bytes
                "aux:" + JSON [namespace, key]  -> any value

Column values are JSON text, raw integers or raw bytes (``to_column`` / ``from_column``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from llmx.cache.types import ENTRY_VERSION, Entry

DB_NAME: Final = "cache.db"  # diskcache's file name (diskcache.core.DBNAME)
MODE_RAW: Final = 1  # diskcache.core.MODE_RAW: the value is in the row, as stored
SEQ_WIDTH: Final = 12
ALL_VECTORS: Final = ("v:", "v;")  # key range (exclusive, inclusive) holding every vector row
COUNTER_PATTERN: Final = "seq:%"  # SQL LIKE pattern of the counter keys


# -- column values ---------------------------------------------------------------------------


def to_column(value: Any) -> Any:
    """``bytes`` -> BLOB, ``int`` -> INTEGER, anything else -> JSON TEXT (``TypeError`` if it
    is not JSON-serialisable)."""
    if isinstance(value, bytes):
        return sqlite3.Binary(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return json_text(value)


def from_column(value: Any) -> Any:
    """The value ``to_column`` stored; ``ValueError`` for anything it could not have."""
    if isinstance(value, str):
        return json.loads(value)
    if isinstance(value, bytes | int) and not isinstance(value, bool):
        return value
    raise ValueError("unexpected value type in cache database")


def json_text(value: Any) -> str:
    """Compact JSON, UTF-8 as is; fully escaped if the text holds lone surrogates (which
    SQLite could not store)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text


# -- response envelopes ------------------------------------------------------------------------


def envelope(entry: Entry, expires: float | None) -> dict[str, Any]:
    """The stored form of ``entry``, with its expiry time (``None``: never)."""
    return {"x": expires, "e": entry_json(entry)}


def entry_json(entry: Entry) -> dict[str, Any]:
    """``entry.to_json()``, without ``dataclasses.asdict``'s deep copies (it runs on every
    cache write; ``tests/cache/test_cache_store.py`` checks the two agree)."""
    return {"text": entry.text, "chunks": list(entry.chunks), "model": entry.model,
            "provider": entry.provider, "input_tokens": entry.input_tokens,
            "output_tokens": entry.output_tokens, "finish_reason": entry.finish_reason,
            "prompt": entry.prompt, "scope": entry.scope, "kind": entry.kind,
            "created": entry.created, "v": ENTRY_VERSION}


def open_envelope(value: Any, clock: Callable[[], float]) -> Entry | None:
    """The entry inside a stored envelope, or ``None`` if malformed or expired by ``clock``."""
    if not isinstance(value, dict):
        return None
    expires = value.get("x")
    if expires is not None and (not isinstance(expires, int | float) or
                                isinstance(expires, bool) or expires <= clock()):
        return None
    try:
        return Entry.from_json(value.get("e"))  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError):
        return None


# -- vector log keys and rows ------------------------------------------------------------------


def counter_key(embedder: str) -> str:
    return f"seq:{embedder}"


def vector_key(embedder: str, seq: int) -> str:
    return f"v:{embedder}:{seq:0{SEQ_WIDTH}d}"


def vector_range(embedder: str, after: int) -> tuple[str, str]:
    """Key range (exclusive, inclusive) of ``embedder``'s rows after sequence ``after``."""
    return vector_key(embedder, max(after, 0)), vector_key(embedder, 10**SEQ_WIDTH - 1)


def vector_seq_of(embedder: str, row_key: str) -> int | None:
    """The sequence number in ``row_key``; ``None`` if it is not one of ``embedder``'s rows
    (another embedder's name may extend this one's: ``a`` and ``a:000000000001``)."""
    prefix = f"v:{embedder}:"
    digits = row_key[len(prefix):]
    if not row_key.startswith(prefix) or len(digits) != SEQ_WIDTH or not digits.isdigit():
        return None
    return int(digits)


def aux_key(namespace: str, key: str) -> str:
    return "aux:" + json.dumps([namespace, key])


def pack_vector(key: str, scope: str, vector: bytes) -> bytes:
    """``[key, scope]`` as JSON, a NUL (JSON text never holds a raw one), the vector bytes."""
    return json.dumps([key, scope]).encode() + b"\0" + bytes(vector)


def unpack_vector(payload: Any) -> tuple[str, str, bytes] | None:
    """``(key, scope, vector bytes)`` from ``pack_vector``'s payload; ``None`` if malformed."""
    if not isinstance(payload, bytes) or b"\0" not in payload:
        return None
    head, vector = payload.split(b"\0", 1)
    try:
        names = json.loads(head)
    except ValueError:
        return None
    if not (isinstance(names, list) and len(names) == 2 and all(isinstance(x, str)
                                                               for x in names)):
        return None
    return names[0], names[1], vector


# -- statements on diskcache's 5.x schema ------------------------------------------------------
# (table Cache: rowid, key, raw, store_time, expire_time, access_time, access_count, tag, size,
# mode, filename, value; unique index on (key, raw); triggers keep Settings "count" and "size".)
# diskcache has no public call for "the N least recently used rows", for reading a row without
# touching its access time, or for a key-range scan; and its own get/set/incr spend up to a dozen
# statements per call. Pinned: diskcache >= 5.6, < 6. ``tests/cache/test_cache_store.py`` checks
# each statement against the real schema.

EVICT_LRU: Final = (
    "DELETE FROM Cache WHERE rowid IN (SELECT rowid FROM Cache ORDER BY access_time LIMIT ?)"
)
LIVE_COUNT: Final = "SELECT COUNT(*) FROM Cache WHERE expire_time IS NULL OR expire_time > ?"
NEWEST_PAGE: Final = (
    "SELECT rowid, store_time, key, mode, filename, value FROM Cache"
    " WHERE raw = 1 AND (store_time < ? OR (store_time = ? AND rowid < ?))"
    " ORDER BY store_time DESC, rowid DESC LIMIT ?"
)
KEY_RANGE: Final = (
    "SELECT key, mode, filename, value FROM Cache"
    " WHERE raw = 1 AND key > ? AND key <= ? ORDER BY key LIMIT ?"
)
CHECKPOINT: Final = "PRAGMA wal_checkpoint(TRUNCATE)"
COUNTER_KEYS: Final = "SELECT key FROM Cache WHERE raw = 1 AND key LIKE ?"
# diskcache's set (SELECT, then UPDATE or INSERT) as one upsert; the UPDATE or INSERT triggers
# fire just as they do for diskcache's own statements.
UPSERT: Final = (
    "INSERT INTO Cache(key, raw, store_time, expire_time, access_time, access_count, tag, size,"
    " mode, filename, value) VALUES (?, ?, ?, ?, ?, 0, NULL, ?, ?, ?, ?)"
    " ON CONFLICT(key, raw) DO UPDATE SET store_time = excluded.store_time,"
    " expire_time = excluded.expire_time, access_time = excluded.access_time, access_count = 0,"
    " tag = NULL, size = excluded.size, mode = excluded.mode, filename = excluded.filename,"
    " value = excluded.value"
)
# diskcache's incr (SELECT, then UPDATE or INSERT) as one statement; a counter that is not an
# integer is left alone and returns no row.
BUMP: Final = (
    "INSERT INTO Cache(key, raw, store_time, expire_time, access_time, access_count, tag, size,"
    " mode, filename, value) VALUES (?, 1, ?, NULL, ?, 0, NULL, 0, ?, NULL, 1)"
    " ON CONFLICT(key, raw) DO UPDATE SET store_time = excluded.store_time, value = value + 1"
    " WHERE typeof(value) = 'integer' RETURNING value"
)
# The first half of diskcache's cull on every set, as one statement.
CULL_EXPIRED: Final = (
    "DELETE FROM Cache WHERE rowid IN (SELECT rowid FROM Cache WHERE expire_time IS NOT NULL"
    " AND expire_time < ? ORDER BY expire_time LIMIT ?)"
)
# len(cache) and cache.volume() in one statement.
COUNT_AND_VOLUME: Final = (
    "SELECT (SELECT value FROM Settings WHERE key = 'count'),"
    " (SELECT value FROM Settings WHERE key = 'size')"
    " + (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size())"
)
# diskcache's LRU get without its transaction: read the live row, then touch its access time.
SELECT_LIVE: Final = (
    "SELECT rowid, mode, filename, value FROM Cache"
    " WHERE key = ? AND raw = ? AND (expire_time IS NULL OR expire_time > ?)"
)
TOUCH: Final = "UPDATE Cache SET access_time = ? WHERE rowid = ?"
SCHEMA_PROBE: Final = "SELECT 1 FROM Cache LIMIT 1"  # does the connection read the database
DATA_VERSION: Final = "PRAGMA data_version"
CULL_LIMIT: Final = 10  # expired rows dropped per write, as diskcache's own set does


def raw_sql(cache: Any, statement: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on diskcache's own connection (``Cache._sql``, diskcache 5.x)."""
    result: list[tuple[Any, ...]] = cache._sql(statement, args).fetchall()
    return result


def put(cache: Any, key: str, value: Any, expire: float | None, *,
        count: bool) -> tuple[int, int]:
    """diskcache's ``set`` in one transaction (upsert, then drop up to ten expired rows), and
    with ``count`` the entries (expired ones included) and volume after it; else ``(0, 0)``."""
    db_key, raw = cache.disk.put(key)
    size, mode, filename, column = cache.disk.store(value, False, key=key)
    now = time.time()
    expire_time = None if expire is None else now + expire
    with cache.transact():
        raw_sql(cache, UPSERT, (db_key, raw, now, expire_time, now, size, mode, filename, column))
        raw_sql(cache, CULL_EXPIRED, (now, CULL_LIMIT))
        if not count:
            return 0, 0
        entries, volume = raw_sql(cache, COUNT_AND_VOLUME)[0]
    return int(entries), int(volume)


def lru_get(cache: Any, key: str) -> Any | None:
    """diskcache's LRU ``get`` without its write transaction: read the live row, decode it,
    then touch its access time (one autocommitted UPDATE; a row deleted meanwhile is missed).
    A touch that cannot be written (a full disk, a read-only mount) costs the LRU update only:
    the value read is still returned."""
    db_key, raw = cache.disk.put(key)
    found = raw_sql(cache, SELECT_LIVE, (db_key, raw, time.time()))
    if not found:
        return None
    rowid, mode, filename, column = found[0]
    value = cache.disk.fetch(mode, filename, column, False)
    with contextlib.suppress(sqlite3.OperationalError):
        raw_sql(cache, TOUCH, (time.time(), rowid))
    return value


# -- files -------------------------------------------------------------------------------------


def private_file(path: Path) -> None:
    """Create ``path`` 0600 if missing; tighten it and its SQLite side files if open to others."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            side = path.with_name(path.name + suffix)
            if side.stat().st_mode & 0o077:
                side.chmod(0o600)


def remove_databases(*directories: Path) -> None:
    """Delete the database file in each of ``directories`` and its SQLite side files."""
    for directory in directories:
        for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
            with contextlib.suppress(FileNotFoundError):
                (directory / name).unlink()


def remove_moved_aside(*directories: Path) -> None:
    """Delete the damaged databases once moved aside (``cache.db.corrupt-*``, side files too)."""
    for directory in directories:
        for path in directory.glob(f"{DB_NAME}.corrupt-*") if directory.is_dir() else ():
            with contextlib.suppress(OSError):
                path.unlink()


def remove_files(directory: Path) -> None:
    """Delete the files directly inside ``directory`` (best effort)."""
    if directory.is_dir():
        for child in directory.iterdir():
            with contextlib.suppress(OSError):
                child.unlink()


def tree_size(directory: Path) -> int:
    """Bytes on disk of every file under ``directory`` (links not followed)."""
    total = 0
    for root, _dirs, files in os.walk(directory):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
