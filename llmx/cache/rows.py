"""What the cache store writes into its databases and directory, as pure helpers.

No diskcache import and no SQL here: these functions shape values and keys, and handle the
files the store keeps private. ``llmx.cache.databases`` turns values into diskcache columns.

    responses:  key -> {"x": expires-at | null, "e": Entry JSON}   (``envelope``)
    (file)      ``touches``  -> "<stamp> <key>" lines: hits not yet folded into the LRU order
    vectors:    "seq:<embedder>"           -> last sequence number handed out (int)
                "v:<embedder>:<seq, 12 digits>" -> JSON [key, scope], NUL, float32 bytes
                "aux:" + JSON [namespace, key]  -> any value

Stored values are JSON text, raw integers or raw bytes (``to_column`` / ``from_column``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from llmx.cache.types import ENTRY_VERSION, Entry

DB_NAME: Final = "cache.db"  # diskcache's file name in each database directory
SEQ_WIDTH: Final = 12
VECTOR_PREFIX: Final = "v:"
COUNTER_PREFIX: Final = "seq:"


# -- column values ---------------------------------------------------------------------------


def to_column(value: Any) -> Any:
    """``bytes`` and ``int`` as they are, anything else as JSON text (``TypeError`` if it
    is not JSON-serialisable)."""
    if isinstance(value, bytes):
        return value
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
    data = {"text": entry.text, "chunks": list(entry.chunks), "model": entry.model,
            "provider": entry.provider, "input_tokens": entry.input_tokens,
            "output_tokens": entry.output_tokens, "finish_reason": entry.finish_reason,
            "prompt": entry.prompt, "scope": entry.scope, "kind": entry.kind,
            "created": entry.created, "v": ENTRY_VERSION}
    if entry.tool_calls:
        data["tool_calls"] = [list(call) for call in entry.tool_calls]
    if entry.reasoning:
        data["reasoning"] = entry.reasoning
    return data


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
    return f"{COUNTER_PREFIX}{embedder}"


def vector_key(embedder: str, seq: int) -> str:
    return f"{VECTOR_PREFIX}{embedder}:{seq:0{SEQ_WIDTH}d}"


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


# -- the touch file ----------------------------------------------------------------------------


def touch_line(stamp: int, key: str) -> str | None:
    """One line of the touch file; ``None`` for a key a line cannot hold."""
    return None if "\n" in key or "\r" in key else f"{stamp} {key}\n"


def parse_touches(text: str) -> dict[str, int]:
    """The newest stamp of each key in the touch file's ``text`` (bad lines skipped)."""
    found: dict[str, int] = {}
    for line in text.split("\n"):
        stamp, sep, key = line.partition(" ")
        if sep and key and stamp.isdigit():
            found[key] = max(int(stamp), found.get(key, 0))
    return found


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
