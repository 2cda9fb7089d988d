"""The gate's posting lists in SQLite: each term's entry ids in chunks of packed int64.

Tables (our own, in the gate's file): ``postings(term, chunk, ids, levels)`` — ``ids`` is
up to ``CHUNK`` little-endian int64 entry ids, ``levels`` one byte per id: how much of
that entry the term carries (``level``: the square root of the entry's share of its
squared norm on the term's words, in ``LEVELS`` steps, rounded up) — and
``terms(term, df, chunks, tail)``: how many ids the term has, how many chunks, and how
many ids its last chunk holds. Reading a term costs one indexed range scan of
``df / CHUNK`` rows (``read_many``: several terms in one statement); adding ids rewrites
only the last chunk (writing does not slow down as a list grows); removing an id rewrites the chunk
that holds it. ``add`` takes a whole batch so that a long catch-up writes each term once.

Chunks are only ever appended (a chunk's number never changes; ``add`` fills the last one,
then opens new ones), so "the first ``EARLY`` chunks of a term" is a stable part of its
list: the entries indexed while the term was rare. ``Tails`` tells, before ``add`` runs,
which chunk an id appended to a term will land in (the gate indexes term pairs for the
entries that land past the early chunks, see ``llmx.cache.gate``).
"""

from __future__ import annotations

import math
import sqlite3
import sys
from array import array
from collections.abc import Iterable, Mapping
from typing import Final

CHUNK: Final = 512
EARLY: Final = 2  # chunks of a term's list read in full by every query that has the term
LEVELS: Final = 63  # an id's level is 1..LEVELS (LEVELS: the entry is all that term)
SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS postings (term INTEGER, chunk INTEGER, ids BLOB NOT NULL,"
    " levels BLOB NOT NULL, PRIMARY KEY (term, chunk)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS terms (term INTEGER PRIMARY KEY, df INTEGER NOT NULL,"
    " chunks INTEGER NOT NULL, tail INTEGER NOT NULL)",
)


def _ids(blob: bytes) -> array[int]:
    out = array("q")
    out.frombytes(blob)
    if sys.byteorder != "little":
        out.byteswap()
    return out


def _blob(ids: array[int]) -> bytes:
    if sys.byteorder != "little":
        ids = array("q", ids)
        ids.byteswap()
    return ids.tobytes()


def level(share: float) -> int:
    """The level of an entry whose share of its squared norm on a term is ``share``."""
    return max(1, min(LEVELS, math.ceil(math.sqrt(max(share, 0.0)) * LEVELS - 1e-9)))


def frequencies(db: sqlite3.Connection, terms: Iterable[int]) -> list[tuple[int, int, int]]:
    """``(term, df, chunks)`` of the given terms that have ids."""
    wanted = list(terms)
    marks = ",".join("?" * len(wanted))
    return db.execute(f"SELECT term, df, chunks FROM terms WHERE term IN ({marks})"
                      " AND df > 0", wanted).fetchall()


def read(db: sqlite3.Connection, term: int) -> array[int]:
    """Every id of ``term``, in the order added."""
    rows = db.execute("SELECT ids FROM postings WHERE term = ? ORDER BY chunk", (term,))
    return _ids(b"".join(blob for (blob,) in rows))


def read_many(db: sqlite3.Connection, terms: list[int],
              below: int | None = None) -> list[tuple[int, array[int], bytes]]:
    """``(term, every id of term, their levels)`` for each of ``terms`` that has ids, in
    ``terms``' order, in one statement; only chunks under ``below`` when it is given."""
    if not terms:
        return []
    marks = ",".join("?" * len(terms))
    blobs: dict[int, list[bytes]] = {}
    steps: dict[int, list[bytes]] = {}
    limit = "" if below is None else f" AND chunk < {int(below)}"
    for term, blob, levels in db.execute(
            f"SELECT term, ids, levels FROM postings WHERE term IN ({marks})"
            f"{limit} ORDER BY term, chunk", terms):
        blobs.setdefault(term, []).append(blob)
        steps.setdefault(term, []).append(levels)
    return [(term, _ids(b"".join(blobs[term])), b"".join(steps[term]))
            for term in terms if term in blobs]


def add(db: sqlite3.Connection, batch: Mapping[int, list[int]],
        levels: Mapping[int, list[int]] | None = None) -> None:
    """Append ``batch[term]`` (ids not yet under that term) to each term's list, with
    their ``levels[term]`` (``LEVELS`` each when not given)."""
    for term, new in batch.items():
        row = db.execute("SELECT df, chunks, tail FROM terms WHERE term = ?", (term,)).fetchone()
        df, chunks, tail = row if row is not None else (0, 0, CHUNK)
        pending = array("q", new)
        steps = bytes(levels[term]) if levels is not None else bytes([LEVELS]) * len(new)
        if tail < CHUNK:  # fill the last chunk first
            blob, held = db.execute("SELECT ids, levels FROM postings WHERE term = ? AND"
                                    " chunk = ?", (term, chunks - 1)).fetchone()
            last = _ids(blob) + pending[: CHUNK - tail]
            held += steps[: CHUNK - tail]
            pending, steps = pending[CHUNK - tail :], steps[CHUNK - tail :]
            db.execute("UPDATE postings SET ids = ?, levels = ? WHERE term = ? AND chunk = ?",
                       (_blob(last), held, term, chunks - 1))
            tail = len(last)
        for start in range(0, len(pending), CHUNK):
            piece = pending[start : start + CHUNK]
            db.execute("INSERT INTO postings VALUES (?, ?, ?, ?)",
                       (term, chunks, _blob(piece), steps[start : start + CHUNK]))
            chunks, tail = chunks + 1, len(piece)
        db.execute("INSERT OR REPLACE INTO terms VALUES (?, ?, ?, ?)",
                   (term, df + len(new), chunks, tail))


def remove(db: sqlite3.Connection, terms: Iterable[int], entry: int) -> None:
    """Take ``entry`` out of each term's list (its chunk shrinks; an empty one stays)."""
    for term in terms:
        for chunk, blob, held in db.execute("SELECT chunk, ids, levels FROM postings"
                                            " WHERE term = ?", (term,)).fetchall():
            ids = _ids(blob)
            if entry in ids:
                at = ids.index(entry)
                del ids[at]
                db.execute("UPDATE postings SET ids = ?, levels = ? WHERE term = ? AND"
                           " chunk = ?", (_blob(ids), held[:at] + held[at + 1 :], term, chunk))
                db.execute("UPDATE terms SET df = df - 1, tail = CASE WHEN chunks = ? + 1"
                           " THEN tail - 1 ELSE tail END WHERE term = ?", (chunk, term))
                break


class Tails:
    """Where the next id appended to a term lands (``add``'s own rule: the last chunk until
    it holds ``CHUNK`` ids, then a new one), for a batch not yet added: each term's
    ``(chunks, tail)`` read once, then advanced by every ``land``. ``forget`` the terms
    whose lists changed otherwise (``remove``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._state: dict[int, list[int]] = {}

    def land(self, term: int) -> int:
        """The chunk number the next id of ``term`` goes to (and count it as added)."""
        state = self._state.get(term)
        if state is None:
            row = self._db.execute("SELECT chunks, tail FROM terms WHERE term = ?",
                                   (term,)).fetchone()
            state = self._state[term] = list(row) if row is not None else [0, CHUNK]
        if state[1] >= CHUNK:
            state[0] += 1
            state[1] = 0
        state[1] += 1
        return state[0] - 1

    def forget(self, terms: Iterable[int]) -> None:
        for term in terms:
            self._state.pop(term, None)
