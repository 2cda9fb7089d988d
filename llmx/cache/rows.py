"""What the cache store writes into its databases and directory, as pure helpers.

No diskcache here (``store.py`` stays its only user): these functions only shape values
and keys, and handle the files the store keeps private.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from llmx.cache.types import Entry

DB_NAME: Final = "cache.db"  # diskcache's file name (diskcache.core.DBNAME)
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
    return {"x": expires, "e": entry.to_json()}


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
