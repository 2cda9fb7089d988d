"""Reading the vector log that ``CacheStore`` keeps in its vectors database.

Each embedder's rows are numbered 1, 2, ... by a counter (``rows.counter_key``) and stored
under ``rows.vector_key(embedder, number)`` as ``rows.pack_vector`` payloads. These
functions only read: ``rows_since`` walks the numbers after ``seq`` (or, when the counter is
damaged, every key), ``from_flushed`` serves the same rows from what this process's last
flush wrote, ``head`` is the counter. A row that cannot be unpacked is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from llmx.cache import rows
from llmx.cache.databases import VECTORS

if TYPE_CHECKING:
    from llmx.cache.databases import Databases

Row = tuple[int, str, str, bytes]  # seq, key, scope, vector bytes


def rows_since(dbs: Databases, embedder: str, seq: int) -> Iterator[Row]:
    """``embedder``'s rows numbered after ``seq``, in order."""
    counter = dbs.value(VECTORS, rows.counter_key(embedder))
    if counter is not None and not isinstance(counter, int):  # damaged: the rows there are
        yield from _scan(dbs, embedder, seq)
        return
    for number in range(max(seq, 0) + 1, (counter or 0) + 1):
        unpacked = rows.unpack_vector(dbs.value(VECTORS, rows.vector_key(embedder, number)))
        if unpacked is not None:
            yield (number, *unpacked)


def _scan(dbs: Databases, embedder: str, seq: int) -> Iterator[Row]:
    """``rows_since`` by walking every key (when the counter cannot be trusted)."""
    cache = dbs.get(VECTORS, create=False)
    found = [] if cache is None else [
        (number, key) for key in cache.iterkeys()
        if (number := rows.vector_seq_of(embedder, key)) is not None and number > seq]
    for number, key in found:
        unpacked = rows.unpack_vector(dbs.value(VECTORS, key))
        if unpacked is not None:
            yield (number, *unpacked)


def from_flushed(flushed: tuple[int, list[bytes]], seq: int) -> list[Row] | None:
    """The rows after ``seq`` from ``flushed`` (the first seq and the payloads a flush
    wrote), or ``None`` when that flush did not write every row from ``seq + 1`` on."""
    first, payloads = flushed
    if not payloads or not first <= seq + 1 < first + len(payloads):
        return None
    out = []
    for number, payload in enumerate(payloads[seq + 1 - first:], seq + 1):
        unpacked = rows.unpack_vector(payload)
        if unpacked is None:
            return None
        out.append((number, *unpacked))
    return out


def head(dbs: Databases, embedder: str) -> int:
    """The last sequence number handed out for ``embedder`` (0: none yet)."""
    value = dbs.value(VECTORS, rows.counter_key(embedder))
    return value if isinstance(value, int) else 0
