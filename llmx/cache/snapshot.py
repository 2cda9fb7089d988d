"""Snapshot files of the semantic index: ``<directory>/vectors-<embedder>-<digest>.npz``.

A snapshot is one uncompressed ``.npz`` (never pickled) holding ``meta`` (JSON bytes:
format, embedder, dims, seq, last_key), ``vectors`` (float32, grouped by scope), ``keys``,
``scopes`` and ``scope_rows`` (the row count of each scope, in order).

* ``read_snapshot`` trusts a file only when it is complete (zip CRCs), of this format, names
  this embedder and dimension, and its arrays have the shapes and types written; anything
  else (a damaged, cut or foreign file) reads as ``None``, and the index is rebuilt from the
  vector log.
* ``write_snapshot`` writes into a temporary file, fsyncs it, ``os.replace``s it over the old
  one and fsyncs the directory, all under an ``fcntl`` lock; a writer that finds the lock
  taken, or a readable snapshot on disk at least as new, skips (returns False).

Whether a snapshot still matches the vector log is the index's business (``vectors.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt

from llmx.paths import ensure_private_dir

Matrix = npt.NDArray[np.float32]

SNAPSHOT_FORMAT: Final = 1
# what a damaged or foreign file can raise while it is read and checked (numpy's own ufunc
# errors are TypeErrors): any of them means "no usable snapshot", never an error
_UNREADABLE: Final = (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError,
                      zipfile.BadZipFile, EOFError)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An index at log position ``seq`` (its last row: ``last_key``): ``(scope, keys, rows)``
    per scope, row ``i`` of the matrix belonging to ``keys[i]``."""

    seq: int
    last_key: str
    scopes: list[tuple[str, list[str], Matrix]]


def snapshot_name(embedder: str) -> str:
    """The file name stem for ``embedder``: readable, and unique by a digest of the name."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", embedder)[:48]
    digest = hashlib.sha256(embedder.encode()).hexdigest()[:8]
    return f"vectors-{readable}-{digest}"


def snapshot_file(directory: Path, embedder: str) -> Path:
    return directory / f"{snapshot_name(embedder)}.npz"


def read_snapshot(directory: Path, embedder: str, dims: int) -> Snapshot | None:
    """``embedder``'s snapshot in ``directory``; ``None`` if missing, damaged or foreign."""
    try:
        with np.load(snapshot_file(directory, embedder), allow_pickle=False) as data:
            return _parse(data, embedder, dims)
    except _UNREADABLE:
        return None


def write_snapshot(directory: Path, embedder: str, dims: int, snapshot: Snapshot) -> bool:
    """Replace ``embedder``'s snapshot file with ``snapshot`` (creating ``directory``, 0700);
    False when skipped: another writer holds the lock, or the file on disk is as new."""
    directory = ensure_private_dir(directory)
    lock_fd = os.open(directory / f"{snapshot_name(embedder)}.lock", os.O_RDWR | os.O_CREAT,
                      0o600)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # another process is writing one right now
        if _seq_on_disk(directory, embedder, dims) >= snapshot.seq:
            return False
        _replace(directory, embedder, dims, snapshot)
        return True
    finally:
        os.close(lock_fd)


def _parse(data: Any, embedder: str, dims: int) -> Snapshot | None:
    meta = json.loads(bytes(data["meta"]).decode("utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != SNAPSHOT_FORMAT:
        return None
    if meta.get("embedder") != embedder or meta.get("dims") != dims:
        return None
    seq, last_key = meta.get("seq"), meta.get("last_key")
    if not isinstance(seq, int) or seq < 0 or not isinstance(last_key, str):
        return None
    vectors, keys = data["vectors"], data["keys"]
    scopes, counts = data["scopes"], data["scope_rows"]
    if keys.ndim != 1 or scopes.ndim != 1 or counts.ndim != 1 or counts.dtype.kind not in "iu":
        return None
    total = len(keys)
    valid = (
        vectors.dtype == np.float32 and vectors.shape == (total, dims)
        and counts.ndim == 1 and len(counts) == len(scopes)
        and bool((counts >= 0).all()) and int(counts.sum()) == total
    )
    if not valid:
        return None
    key_list = [str(k) for k in keys]
    parts: list[tuple[str, list[str], Matrix]] = []
    start = 0
    for scope, count in zip(scopes, counts, strict=True):
        end = start + int(count)
        parts.append((str(scope), key_list[start:end], vectors[start:end]))
        start = end
    return Snapshot(seq, last_key, parts)


def _seq_on_disk(directory: Path, embedder: str, dims: int) -> int:
    """The seq of the snapshot file on disk; -1 if there is none readable of ``dims`` (a
    damaged file never blocks its replacement)."""
    snapshot = read_snapshot(directory, embedder, dims)
    return -1 if snapshot is None else snapshot.seq


def _replace(directory: Path, embedder: str, dims: int, snapshot: Snapshot) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=snapshot_name(embedder), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            _write_arrays(out, embedder, dims, snapshot)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, snapshot_file(directory, embedder))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(directory)


def _write_arrays(out: IO[bytes], embedder: str, dims: int, snapshot: Snapshot) -> None:
    """One uncompressed .npz: meta (JSON bytes), vectors grouped by scope, keys,
    scopes and the row count of each scope."""
    parts = snapshot.scopes
    meta = {"format": SNAPSHOT_FORMAT, "embedder": embedder, "dims": dims,
            "seq": snapshot.seq, "last_key": snapshot.last_key}
    keys = [key for _, scope_keys, _ in parts for key in scope_keys]
    vectors = (np.concatenate([matrix for _, _, matrix in parts])
               if parts else np.zeros((0, dims), dtype=np.float32))
    np.savez(
        out,
        meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        vectors=vectors,
        keys=_text_array(keys),
        scopes=_text_array([scope for scope, _, _ in parts]),
        scope_rows=np.array([len(scope_keys) for _, scope_keys, _ in parts], dtype=np.int64),
    )


def _text_array(texts: list[str]) -> npt.NDArray[np.str_]:
    return np.array(texts, dtype=str) if texts else np.zeros(0, dtype="<U1")


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
