"""The semantic index of a provider embedder: one float32 matrix per scope, brute force.

(The lexical embedder's entries — and the model stage's candidates — are found by the
lexical gate, ``llmx.cache.gate``, an inverted index on disk that needs no numpy; this
index serves ``cache.embedder = "provider"``, whose vectors only the provider can make.)

Truth lives in the store's vector log (``VectorLog``: SQLite, safe for many
processes); this module only keeps a fast in-memory copy of it and, as a
speed-up, a snapshot file beside the cache:

* Nothing is read until the first ``search`` (``add`` appends to the log and
  reads nothing while the index is not loaded).
* Loading reads the snapshot ``<snapshot_dir>/vectors-<embedder>.npz`` and then
  the log rows after the snapshot's ``seq``. The snapshot is trusted only when
  it is a complete file (zip CRCs), names this embedder and dimension, is not
  ahead of the log, and the log still holds the snapshot's last row (same seq,
  same key); otherwise the index is rebuilt from the whole log.
* Every ``search`` first asks the log for its head seq and applies the rows
  other processes appended since (one cheap query when nothing changed); a
  head behind our seq means the log was cleared: rebuild.
* A new snapshot is written after loading when the unsnapshotted tail is
  large (``max(256, rows / 8)``), by ``rebuild()`` and by ``save()``: into a
  temporary file, fsynced, then ``os.replace``d, under an ``fcntl`` lock (a
  writer that finds the lock taken, or a newer snapshot, skips). Failing to
  write a snapshot is never an error. The file format: ``llmx.cache.snapshot``.

Search is exact brute-force cosine over the scope's rows. A scope of 8,192 rows or
more is first narrowed by a sign-bit prefilter: every row also keeps 256 bits, the
signs of its projections on fixed random hyperplanes (SimHash); only rows whose bits
differ from the query's in at most ``hamming_radius(threshold)`` places are scored.
The radius is chosen so that a row at or above the threshold is missed with odds far
below one in a billion (a miss would only cost a cache miss); when it would keep more
than a quarter of the rows, or for thresholds under about 0.62, every row is scored. At
100k rows this reads 3 MB of bits instead of 100 MB of floats per query.

Rows are keyed: adding a key again overwrites its row. Entries deleted from
the response store leave stale rows; callers skip keys that miss, and
``rebuild()`` (e.g. after a prune) re-reads what the log still holds.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from llmx.cache.snapshot import Matrix, Snapshot, read_snapshot, snapshot_file, write_snapshot
from llmx.errors import LlmxError

Signs = npt.NDArray[np.uint64]
Rows = npt.NDArray[np.intp]

SNAPSHOT_MIN_TAIL: Final = 256
SNAPSHOT_TAIL_FRACTION: Final = 8
_WIRE_DTYPE: Final = np.dtype("<f4")
PREFILTER_MIN_ROWS: Final = 8192
_PLANES: Final = 256
_PREFILTER_MAX_SHARE: Final = 4  # more candidates than rows / 4: plain brute force is faster
_RADIUS_SIGMAS: Final = 7.0
_UNIT_TOLERANCE: Final = 1e-6  # a row this close to unit length is not divided again


class VectorLog(Protocol):
    """The part of ``CacheStore`` the index needs.

    ``append_vector`` returns a seq that grows with every append, or ``None``
    when the row was queued (it gets its seq when the store writes its queue);
    a row must become visible together with its seq (allocate both in one
    transaction), so that once ``vector_seq`` reports ``s`` every row up to
    ``s`` can be read.
    ``vectors_since(embedder, seq)`` yields ``(seq, key, scope, vector bytes)``
    with a larger seq, in increasing seq order. Vector bytes are little-endian
    float32.
    """

    def append_vector(self, key: str, scope: str, embedder: str,
                      vector: bytes) -> int | None: ...

    def vectors_since(self, embedder: str, seq: int) -> Iterable[tuple[int, str, str, bytes]]: ...

    def vector_seq(self, embedder: str) -> int: ...

    @property
    def snapshot_dir(self) -> Path: ...


@dataclass(slots=True)
class _Block:
    """The rows of one scope: a matrix with spare capacity and a key per row."""

    dims: int
    matrix: Matrix = field(init=False)
    keys: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    signs: Signs = field(init=False)  # prefilter signatures of rows [0, signed)
    signed: int = 0

    def __post_init__(self) -> None:
        self.matrix = np.zeros((0, self.dims), dtype=np.float32)
        self.signs = np.zeros((0, _PLANES // 64), dtype=np.uint64)

    def put(self, key: str, vector: Matrix) -> None:
        row = self.rows.get(key)
        if row is None:
            row = len(self.keys)
            if row == self.matrix.shape[0]:
                self._grow(max(16, row * 2))
            self.keys.append(key)
            self.rows[key] = row
        self.matrix[row] = vector
        self.signed = min(self.signed, row)

    def adopt(self, keys: list[str], matrix: Matrix) -> None:
        self.keys = keys
        self.rows = {key: i for i, key in enumerate(keys)}
        self.matrix = matrix
        self.signed = 0

    def signatures(self, planes: Matrix) -> Signs:
        """Sign bits of every row projected on ``planes``, brought up to date."""
        count = len(self.keys)
        if self.signs.shape[0] < count:
            bigger = np.zeros((self.matrix.shape[0], _PLANES // 64), dtype=np.uint64)
            bigger[: self.signed] = self.signs[: self.signed]
            self.signs = bigger
        if self.signed < count:
            self.signs[self.signed : count] = _sign_bits(self.matrix[self.signed : count], planes)
            self.signed = count
        return self.signs[:count]

    def view(self) -> Matrix:
        return self.matrix[: len(self.keys)]

    def _grow(self, capacity: int) -> None:
        bigger = np.zeros((capacity, self.dims), dtype=np.float32)
        bigger[: len(self.keys)] = self.view()
        self.matrix = bigger


class VectorIndex:
    """Cosine search over the vectors of one embedder, per scope. See the module docstring."""

    def __init__(self, store: VectorLog, embedder_name: str, dims: int, *,
                 prefilter_rows: int = PREFILTER_MIN_ROWS) -> None:
        if dims <= 0:
            raise ValueError(f"dims must be positive, got {dims}")
        self._prefilter_rows = prefilter_rows
        self._planes: Matrix | None = None
        self._log = store
        self.embedder_name = embedder_name
        self.dims = dims
        self._blocks: dict[str, _Block] = {}
        self._seq = 0
        self._last_key = ""
        self._tail = 0  # rows applied from the log since the last snapshot
        self._loaded = False
        self._queued: dict[str, tuple[str, bytes]] = {}  # key -> (scope, row) not in the log yet

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def seq(self) -> int:
        """The log position the in-memory index reflects."""
        return self._seq

    def __len__(self) -> int:
        self._ensure_current()
        return sum(len(block.keys) for block in self._blocks.values())

    def add(self, key: str, scope: str, vector: npt.ArrayLike) -> None:
        """Append to the log; an index already loaded also takes in the new row
        (and any rows other processes appended before it)."""
        blob = self._row(vector).astype(_WIRE_DTYPE).tobytes()
        seq = self._log.append_vector(key, scope, self.embedder_name, blob)
        if seq is None:  # queued by the store: searchable here now, by others once written
            self._queued[key] = (scope, blob)
            if self._loaded:
                self._put(key, scope, blob)
            return
        if not self._loaded:
            return
        if seq == self._seq + 1:  # nobody wrote in between: take our own row as is
            self._apply([(seq, key, scope, blob)])
        else:
            self._catch_up()

    def search(
        self, scope: str, vector: npt.ArrayLike, threshold: float, k: int = 5
    ) -> list[tuple[str, float]]:
        """Up to ``k`` ``(key, cosine)`` of ``scope`` with cosine >= threshold, best first."""
        query = self._row(vector)
        self._ensure_current()
        block = self._blocks.get(scope)
        if block is None or not block.keys or k <= 0:
            return []
        rows = self._prefilter(block, query, threshold)
        if rows is None:
            scores = block.view() @ query
            hits = np.flatnonzero(scores >= threshold)
            hit_scores = scores[hits]
        else:
            scores = block.matrix[rows] @ query
            keep = scores >= threshold
            hits, hit_scores = rows[keep], scores[keep]
        if hits.size > k:
            top = np.argpartition(hit_scores, hits.size - k)[-k:]
            hits, hit_scores = hits[top], hit_scores[top]
        order = np.argsort(-hit_scores, kind="stable")
        return [(block.keys[hits[i]], float(hit_scores[i])) for i in order]

    def _prefilter(self, block: _Block, query: Matrix, threshold: float) -> Rows | None:
        """Rows whose sign signature is close enough to possibly reach ``threshold``;
        None: search every row (small block, low threshold, or too many candidates)."""
        radius = hamming_radius(threshold)
        count = len(block.keys)
        if count < self._prefilter_rows or radius is None or not hasattr(np, "bitwise_count"):
            return None
        if self._planes is None:
            self._planes = _hyperplanes(self.dims)
        signs = block.signatures(self._planes)
        target = _sign_bits(query[np.newaxis, :], self._planes)
        distance = np.bitwise_count(signs ^ target).sum(axis=1, dtype=np.uint16)
        rows = np.flatnonzero(distance <= radius)
        return None if rows.size > count // _PREFILTER_MAX_SHARE else rows

    def rebuild(self) -> int:
        """Forget the snapshot, re-read the whole log, write a fresh snapshot; rows kept."""
        self._reset()
        self._apply(self._log.vectors_since(self.embedder_name, 0))
        self._loaded = True
        self._apply_queued()
        self.save()
        return sum(len(block.keys) for block in self._blocks.values())

    def save(self) -> bool:
        """Write a snapshot of the loaded index now; False when skipped or it failed."""
        if not self._loaded:
            return False
        try:
            written = self._write_snapshot()
        except (OSError, LlmxError):  # the snapshot is only a speed-up
            return False
        if written:
            self._tail = 0
        return written

    @property
    def snapshot_path(self) -> Path:
        return snapshot_file(self._log.snapshot_dir, self.embedder_name)

    # -- loading and catching up -------------------------------------------------------

    def _ensure_current(self) -> None:
        if not self._loaded:
            self._load()
        else:
            self._catch_up()

    def _load(self) -> None:
        head = self._log.vector_seq(self.embedder_name)
        snapshot = (read_snapshot(self._log.snapshot_dir, self.embedder_name, self.dims)
                    if head > 0 else None)
        if snapshot is None or snapshot.seq > head or not self._adopt(snapshot):
            self._reset()
            self._apply(self._log.vectors_since(self.embedder_name, 0))
        self._loaded = True
        self._apply_queued()
        if self._tail >= max(SNAPSHOT_MIN_TAIL, self._size() // SNAPSHOT_TAIL_FRACTION):
            self.save()

    def _adopt(self, snapshot: Snapshot) -> bool:
        """Take the snapshot and the log rows after it; False if the log disagrees."""
        self._reset()
        if snapshot.seq == 0:
            self._apply(self._log.vectors_since(self.embedder_name, 0))
            return True
        rows = iter(self._log.vectors_since(self.embedder_name, snapshot.seq - 1))
        first = next(rows, None)
        if first is None or first[0] != snapshot.seq or first[1] != snapshot.last_key:
            return False
        for scope, keys, matrix in snapshot.scopes:
            self._blocks.setdefault(scope, _Block(self.dims)).adopt(keys, matrix)
        self._seq, self._last_key = snapshot.seq, snapshot.last_key
        self._apply(rows)
        return True

    def _catch_up(self) -> None:
        head = self._log.vector_seq(self.embedder_name)
        if head == self._seq:
            return
        if head < self._seq:  # the log was cleared or replaced
            self._reset()
            self._apply(self._log.vectors_since(self.embedder_name, 0))
            self._apply_queued()
            return
        own = self._own_rows()
        if own and own[-1][0] == head:  # only rows this process just wrote: no read
            self._apply(own)
            return
        self._apply(self._log.vectors_since(self.embedder_name, self._seq))

    def _own_rows(self) -> list[tuple[int, str, str, bytes]] | None:
        """The rows after ``seq`` that the log's last flush wrote from memory, when it
        can tell (``CacheStore.written_since``)."""
        written = getattr(self._log, "written_since", None)
        return None if written is None else written(self.embedder_name, self._seq)

    def _apply(self, rows: Iterable[tuple[int, str, str, bytes]]) -> None:
        for seq, key, scope, blob in rows:
            if seq <= self._seq:
                continue
            self._seq, self._last_key = seq, key
            self._tail += 1
            self._queued.pop(key, None)  # written: the log's row is the one to keep
            self._put(key, scope, blob)

    def _put(self, key: str, scope: str, blob: bytes) -> None:
        if len(blob) != self.dims * _WIRE_DTYPE.itemsize:
            return  # a row of another size cannot be searched; skip it
        vector = np.frombuffer(blob, dtype=_WIRE_DTYPE)
        self._blocks.setdefault(scope, _Block(self.dims)).put(key, vector)

    def _apply_queued(self) -> None:
        """Rows this process queued that the log does not show yet."""
        for key, (scope, blob) in self._queued.items():
            self._put(key, scope, blob)

    def _reset(self) -> None:
        self._blocks = {}
        self._seq = 0
        self._last_key = ""
        self._tail = 0

    def _size(self) -> int:
        return sum(len(block.keys) for block in self._blocks.values())

    def _row(self, vector: npt.ArrayLike) -> Matrix:
        row = np.asarray(vector, dtype=np.float32).reshape(-1)
        if row.shape != (self.dims,):
            raise ValueError(f"expected a vector of {self.dims} values, got shape {row.shape}")
        norm = float(np.linalg.norm(row))
        if not math.isfinite(norm):
            raise ValueError("vector holds non-finite values")
        if norm == 0.0 or abs(norm - 1.0) <= _UNIT_TOLERANCE:  # zero, or already unit length
            return row
        return row / norm

    def _write_snapshot(self) -> bool:
        """Snapshot the loaded index (skipped when another writer is at it or is ahead)."""
        scopes = [(scope, block.keys, block.view())
                  for scope, block in self._blocks.items() if block.keys]
        return write_snapshot(self._log.snapshot_dir, self.embedder_name, self.dims,
                              Snapshot(self._seq, self._last_key, scopes))


def hamming_radius(threshold: float) -> int | None:
    """How many of ``_PLANES`` sign bits may differ between a query and a row whose
    cosine is at least ``threshold``: a random hyperplane separates two vectors at
    angle t with probability t / pi; the radius is that mean plus seven standard
    deviations, so a qualifying row is skipped with odds far below one in a billion.
    None when the radius prunes nothing useful."""
    if not 0.0 < threshold <= 1.0:
        return None
    p = math.acos(threshold) / math.pi
    radius = _PLANES * p + _RADIUS_SIGMAS * math.sqrt(_PLANES * p * (1 - p)) + 2
    return int(radius) if radius < _PLANES / 2 else None


def _hyperplanes(dims: int) -> Matrix:
    """``_PLANES`` fixed random +-1 hyperplanes, identical in every process and numpy
    version (drawn from SHAKE-128, not from numpy's generators)."""
    raw = hashlib.shake_128(b"llmx vector prefilter").digest(dims * _PLANES // 8)
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8)).reshape(dims, _PLANES)
    return bits.astype(np.float32) * 2.0 - 1.0


def _sign_bits(vectors: Matrix, planes: Matrix) -> Signs:
    packed = np.packbits((vectors @ planes) > 0, axis=1)
    return np.ascontiguousarray(packed).view(np.uint64)
