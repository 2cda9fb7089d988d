"""How one entry is written into the lexical gate's file (``llmx.cache.gate``): its row in
``entries`` and its ids, with their levels, under each of its terms and, for two terms
both past their lists' early chunks, under the pair's list. Stdlib only."""

from __future__ import annotations

import hashlib
import sqlite3

from llmx.cache import gate_postings as postings
from llmx.cache.gate_features import terms
from llmx.cache.gate_query import pair_id


def term_id(scope: str, stem: str) -> int:
    """A term's 63-bit id, per scope (so a posting list never mixes scopes)."""
    digest = hashlib.blake2b(f"{scope}\x00{stem}".encode("utf-8", "surrogatepass"),
                             digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


Batch = tuple[dict[int, list[int]], dict[int, list[int]]]  # term -> ids, their levels


def insert(db: sqlite3.Connection, entry: tuple[int, str, str, str], row: bytes,
           pending: tuple[Batch, postings.Tails]) -> None:
    """Index one ``(id, key, scope, prompt)`` with its packed lexical row, its ids queued
    in the batch (``term -> ids`` and their levels: the entry's share on the term), with
    a pair id for each two of its terms that land past their lists' early chunks (its
    level: the two shares' sum); a key indexed before loses its old row."""
    number, key, scope, text = entry
    (batch, levels), tails = pending
    old = db.execute("SELECT id, terms FROM entries WHERE key = ?", (key,)).fetchone()
    if old is not None:
        postings.add(db, batch, levels)  # the old row's ids may still be in the batch
        batch.clear()
        levels.clear()
        db.execute("DELETE FROM entries WHERE id = ?", (old[0],))
        gone = unpacked(old[1])
        postings.remove(db, gone, old[0])
        tails.forget(gone)
    shares: dict[int, float] = {}
    for stem, share in terms(text).items():
        term = term_id(scope, stem)
        shares[term] = shares.get(term, 0.0) + share
    ids = sorted(shares)
    late = [term for term in ids if tails.land(term) >= postings.EARLY]
    for i, first in enumerate(late):
        for second in late[i + 1 :]:
            shares[pair_id(first, second)] = shares[first] + shares[second]
    blob = b"".join(term.to_bytes(8, "little") for term in shares)
    db.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
               (number, key, scope, text, blob, row))
    for term, share in shares.items():
        batch.setdefault(term, []).append(number)
        levels.setdefault(term, []).append(postings.level(share))


def unpacked(blob: bytes) -> list[int]:
    return [int.from_bytes(blob[i : i + 8], "little") for i in range(0, len(blob), 8)]
