"""Stage 1 of semantic matching: the lexical gate, an inverted index on disk (no numpy).

``LexicalGate.candidates(scope, prompt, limit, gate)`` returns the entries of ``scope``
whose lexical cosine with ``prompt`` (the ``LexicalEmbedder`` row, computed in pure Python
by ``llmx.cache.gate_features``) is at least ``gate``, best first, at most ``limit``.

How: every indexed entry's terms (content-word stems, ``gate_features.terms``) are
posting lists in a SQLite file of our own, ``<snapshot_dir>/gate-<embedder>.db`` (tables
``meta``, ``entries``, ``postings``, ``terms``; never diskcache's tables). A list is kept
in chunks of ids in the order added (``gate_postings``); its first ``EARLY`` chunks hold
the entries indexed while the term was rare. An entry whose postings for two of its terms
both land past those early chunks (both terms were common then) is also indexed under the
pair's own list (``pair_id``): it holds only the entries that have both, so it stays short
however common each term is. A query reads, rarest term first, until the next list would
take the ids read past ``READ_BUDGET``: a rare term's whole list, a common term's early
chunks (or its whole list when the term alone carries ``gate**2`` of the query's squared
norm, so an entry sharing only it could reach the gate), then the pair lists of its common
terms, shortest first. Every entry that shares two common terms with the query is in a
pair list or an early chunk, so the query's cost has a ceiling however large the store
grows without skipping the common words (only a query whose single common word must carry
the match, or whose lists pass the budget, loses recall by it). Each posting carries a
level (format 5): how much of its entry the term (a pair: both terms) carries. It ranks
the entries met by an estimate of their cosine, the query's share on the words they share
with it weighed by those words' levels in the entry (``gate_query.best``: of many entries
holding the same common words, those that are mostly those words come first), leaves out
those whose cover, plus the share of the lists not read whole, is under ``0.7 * gate**2``
(they cannot reach the gate but through n-grams of other words: margin measured on
GPTCache's pairs), and scores the best ``max(8 * limit, 40)`` exactly from their stored
rows (the log's vector bytes, packed sparse). A query none of whose terms is indexed
costs one indexed SELECT: "no entry can reach the gate" is answered without reading any
entry. Candidates may miss an entry that
reaches the gate only through n-grams shared across different words or hash collisions (the
benchmarks ``benchmarks/cache_gate_index.py`` and ``benchmarks/index_scale.py`` measure
recall against brute force); they never hold an entry under the gate.

Truth stays in the store's vector log (``VectorLog``): the file is a derived index that
says which log seq it reflects (``meta``), catches up from the log before each query when
the log's head moved (rows of other processes: the entry's prompt is read from the
response store; keys whose entry is gone are skipped), and is rebuilt from the whole log
when the log is behind it or no longer holds its last row. This process's own rows are
indexed right after the store's flush wrote them (``caught_up``, the store's ``on_flush``),
from memory (``queued`` kept their prompts and rows), so a look-up does not pay for them;
a query at the head costs the head's read and three indexed SELECTs (frequencies, the
posting lists, the rows to score). One catch-up indexes at most ``CATCH_UP_ROWS`` log
rows, so a large log met for the first time (a cache from before the gate) is indexed over
the following queries, each paying a bounded share; until then its older entries are not
candidates (a miss, never a wrong answer). Rows queued by this process but not yet indexed
are searched from memory. The file is written with ``synchronous=OFF`` (it costs no
fsync); a damaged file is deleted and rebuilt. Nothing is opened until the first query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final, Protocol

from llmx.cache import gate_postings as postings
from llmx.cache.candidates import Candidate
from llmx.cache.gate_entries import Batch, insert, term_id
from llmx.cache.gate_features import (
    LexicalRows,
    Sparse,
    dense,
    pack,
    packed_dot,
    row_of_bytes,
    terms,
)
from llmx.cache.gate_query import best as _best
from llmx.cache.gate_query import lists_to_read
from llmx.cache.words import words

FORMAT: Final = 5
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL,"
    " scope TEXT NOT NULL, prompt TEXT NOT NULL, terms BLOB NOT NULL, row BLOB NOT NULL)",
    *postings.SCHEMA,
)
_MIN_RESCORED: Final = 40
_RESCORE_FACTOR: Final = 8
_FLOOR_MARGIN: Final = 0.7  # of gate**2: the cover an entry needs to be scored (shares
# are estimates: hash collisions and the bigrams they count once per word)
_WORDS_KEPT: Final = 1024  # texts whose words are kept between a look-up and its store
_CHARS_KEPT: Final = 1_000_000  # and their length at most (long prompts: fewer of them)
READ_BUDGET: Final = 8_192  # posting ids one query reads at most (after its rarest list)
CATCH_UP_ROWS: Final = 512  # log rows one query indexes at most (a large old log: over many)

Prompt = Callable[[str, str], str | None]  # (key, scope) -> the entry's prompt, None if gone


class GateLog(Protocol):
    """The part of the vector log the gate reads (``llmx.cache.vectors.VectorLog``)."""

    def vectors_since(self, embedder: str, seq: int) -> Iterable[tuple[int, str, str, bytes]]: ...

    def vector_seq(self, embedder: str) -> int: ...


class LexicalGate:
    """The inverted index of one lexical embedder's entries. See the module docstring."""

    def __init__(self, path: Path, log: GateLog, prompt: Prompt, embedder: str,
                 dims: int) -> None:
        self.path = path
        self._log = log
        self._prompt = prompt
        self._embedder = embedder
        self._rows = LexicalRows(dims)
        self._db: sqlite3.Connection | None = None
        self._pending: dict[str, tuple[str, str, bytes, frozenset[int]]] = {}  # not indexed
        self._seq = -1  # the log seq the file was at when last seen here (-1: not yet)
        self._words: dict[str, list[str]] = {}  # recent texts' words (look-up, then store)
        self._kept_chars = 0  # the length of the texts in ``_words``
        self._last: tuple[str, Sparse] = ("", {})  # the last row computed
        self.budget = READ_BUDGET

    def row(self, text: str) -> Sparse:
        """``text``'s lexical row; the last one is kept, and recent texts' words, so that
        the answer's ``queued`` does not compute them again after the look-up."""
        last = self._last
        if last[0] != text or not last[1]:
            last = self._last = (text, self._rows.row(text, self._tokens(text)))
        return last[1]

    def _tokens(self, text: str) -> list[str]:
        found = self._words.get(text)
        if found is None:
            if len(self._words) >= _WORDS_KEPT or self._kept_chars + len(text) > _CHARS_KEPT:
                self._words.clear()
                self._kept_chars = 0
            found = self._words[text] = words(text)
            self._kept_chars += len(text)
        return found

    def queued(self, key: str, scope: str, prompt: str, row: Sparse | None = None) -> None:
        """A row this process appended that the index does not hold yet (grouped writes:
        searched from memory until ``caught_up`` indexes it, from memory too)."""
        tokens = self._tokens(prompt)
        packed = pack(self.row(prompt) if row is None else row)
        ids = frozenset(term_id(scope, stem) for stem in terms(prompt, tokens))
        self._pending[key] = (scope, prompt, packed, ids)

    def forget(self, key: str) -> None:
        """Drop a queued row whose write failed."""
        self._pending.pop(key, None)

    def candidates(self, scope: str, prompt: str, *, limit: int = 5,
                   gate: float = 0.5) -> list[Candidate]:
        """Entries of ``scope`` with lexical cosine >= ``gate``, best first, <= ``limit``.
        The query's row is computed only when some entry may reach the gate."""
        tokens = self._tokens(prompt)
        if limit <= 0 or not tokens:
            return []
        shares = terms(prompt, tokens)
        ids = {term_id(scope, stem): share for stem, share in shares.items()}
        try:
            found = self._from_index(ids, gate, limit)
            pending = self._from_pending(scope, ids, gate * gate)
            if not found and not pending:
                return []
            query = dense(self.row(prompt), self._rows.dims)
            passed = {number: packed_dot(query, packed) for number, packed in found}
            passed = {number: cosine for number, cosine in passed.items() if cosine >= gate}
            held = self._prompts(list(passed)) if passed else []
        except (sqlite3.Error, OSError) as exc:
            raise _unavailable(exc) from exc
        scored: dict[str, Candidate] = {}
        for key, stored, packed in pending:
            cosine = packed_dot(query, packed)
            if cosine >= gate:
                scored[key] = Candidate(key, stored, min(cosine, 1.0))
        for number, key, stored in held:
            if key not in scored:
                scored[key] = Candidate(key, stored, min(passed[number], 1.0))
        return sorted(scored.values(), key=lambda c: (-c.lexical, c.key))[:limit]

    def _from_index(self, ids: dict[int, float], gate: float,
                    limit: int) -> list[tuple[int, bytes]]:
        """``(id, packed row)`` of the indexed entries worth scoring exactly."""
        db = self._current()
        present = postings.frequencies(db, ids)
        if not present:
            return []
        parts: dict[int, tuple[int, int]] = {}
        needed = gate * gate
        lists, levels, unread = lists_to_read(db, present, ids, needed, self.budget, parts)
        floor = _FLOOR_MARGIN * needed - unread  # an entry under it cannot reach the gate
        best = _best(lists, ids, max(_MIN_RESCORED, _RESCORE_FACTOR * limit), parts, floor,
                     levels)
        if not best:
            return []
        marks = ",".join("?" * len(best))
        rows = db.execute(f"SELECT id, row FROM entries WHERE id IN ({marks})", best)
        return [(number, row) for number, row in rows]

    def _prompts(self, numbers: list[int]) -> list[tuple[int, str, str]]:
        """``(id, key, prompt)`` of indexed entries (read only for those that passed), from
        the file as the query's ``_from_index`` left it (no second catch-up)."""
        marks = ",".join("?" * len(numbers))
        db = self._db if self._db is not None else self._current()
        return db.execute(
            f"SELECT id, key, prompt FROM entries WHERE id IN ({marks})", numbers).fetchall()

    def _from_pending(self, scope: str, ids: dict[int, float], needed: float
                      ) -> list[tuple[str, str, bytes]]:
        """The queued rows that cover at least ``needed`` of the query: a row's cosine with
        it is at most the square root of its cover, so the others cannot reach the gate.
        (Few rows wait for the store's next flush: no budget is needed.)"""
        return [(key, text, packed) for key, (where, text, packed, has) in self._pending.items()
                if where == scope
                and sum(ids[term] for term in has.intersection(ids)) >= needed]

    # -- the file and catching up with the log -----------------------------------------------

    def warm(self) -> None:
        """Open the file and catch up with the log now (raises ``CacheUnavailable``)."""
        try:
            self._current()
        except (sqlite3.Error, OSError) as exc:
            raise _unavailable(exc) from exc

    def indexed(self) -> int:
        """The log seq the file reflected when this process last looked (-1: not yet)."""
        return self._seq

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _current(self) -> sqlite3.Connection:
        """The open index, brought up to the log's head (rebuilt or recreated if need be)."""
        try:
            return self._catch_up(self._open())
        except sqlite3.DatabaseError:  # damaged: start afresh from the log
            self.close()
            self.path.unlink(missing_ok=True)
            return self._catch_up(self._open())

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            from llmx.errors import LlmxError
            from llmx.paths import ensure_private_dir

            try:
                ensure_private_dir(self.path.parent)
            except LlmxError as exc:  # e.g. a read-only home
                raise _unavailable(exc) from exc
            from llmx.cache.rows import private_file

            try:
                private_file(self.path)  # 0600 whatever the umask (its -wal/-shm follow it)
            except OSError as exc:
                raise _unavailable(exc) from exc
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(_SCHEMA[0])
            if _meta(db, "format", FORMAT) != FORMAT:  # another layout: start afresh
                for table in ("entries", "postings", "terms"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                db.execute("DELETE FROM meta")
            for statement in _SCHEMA[1:]:
                db.execute(statement)
            self._db = db
        return self._db

    def caught_up(self) -> None:
        """Index what the log holds now, if the file is open — called after the store's
        flush, so this process's rows just written are indexed from memory (their prompts
        and rows from ``queued``, the rows' numbers from ``written_since``) off the
        look-up. Never raises: the next look-up meets (and reports) the same trouble."""
        if self._db is not None:
            try:
                self._catch_up(self._db)
            except (sqlite3.Error, OSError):
                return

    def _catch_up(self, db: sqlite3.Connection) -> sqlite3.Connection:
        head = self._log.vector_seq(self._embedder)
        if head == self._seq:  # nothing appended since this process last looked
            return db
        seq = int(_meta(db, "seq", 0))
        if seq != head:
            db.execute("BEGIN IMMEDIATE")
            try:
                seq = int(_meta(db, "seq", 0))
                if seq != head:
                    seq = self._apply(db, seq, head)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        self._seq = seq
        return db

    def _apply(self, db: sqlite3.Connection, seq: int, head: int) -> int:
        """Index the log rows after ``seq``; start over when the log no longer holds our
        last row (it was cleared, pruned or replaced) or is behind us. Returns the seq
        the file reflects now."""
        if seq > 0 and not self._holds(db, seq, head):
            _reset(db)
            seq = 0
        last = (seq, str(_meta(db, "key", "")) if seq else "")
        batch: Batch = ({}, {})
        tails = postings.Tails(db)
        done = 0
        for number, key, scope, blob in self._rows_after(seq, head):
            if done == CATCH_UP_ROWS:  # the rest on the next queries: a miss, never a wait
                break
            done += 1
            last = (number, key)
            found = self._entry(key, scope, blob)
            if found is not None:
                insert(db, (number, key, scope, found[0]), found[1], (batch, tails))
        postings.add(db, *batch)
        if done < CATCH_UP_ROWS and last[0] < head:  # the log's head row is gone (a clear
            # keeps the counters)
            last = (head, "")
        for name, value in (("seq", last[0]), ("key", last[1]), ("format", FORMAT)):
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))
        return last[0]

    def _holds(self, db: sqlite3.Connection, seq: int, head: int) -> bool:
        """Does the log still hold the row the file reflects last (number and key)?"""
        if seq > head:
            return False
        written = getattr(self._log, "written_since", None)
        mine = None if written is None else written(self._embedder, seq - 1)
        first = (mine[0] if mine else
                 next(iter(self._log.vectors_since(self._embedder, seq - 1)), None))
        return first is not None and first[:2] == (seq, _meta(db, "key", ""))

    def _rows_after(self, seq: int, head: int) -> Iterable[tuple[int, str, str, bytes]]:
        """The log rows after ``seq``: from the store's memory when its last flush wrote
        all of them up to ``head`` (``CacheStore.written_since``), else read from the log."""
        written = getattr(self._log, "written_since", None)
        mine: list[tuple[int, str, str, bytes]] | None = (
            None if written is None else written(self._embedder, seq))
        if mine and mine[-1][0] >= head:
            return mine
        return self._log.vectors_since(self._embedder, seq)

    def _entry(self, key: str, scope: str, blob: bytes) -> tuple[str, bytes] | None:
        """The prompt and packed row to index for a log row: from ``queued`` when this
        process wrote it, else the response store's prompt (None: the entry is gone)."""
        queued = self._pending.pop(key, None)
        if queued is not None and queued[0] == scope:
            return queued[1], queued[2]
        text = self._prompt(key, scope)
        if text is None:
            return None
        row = row_of_bytes(blob) if len(blob) == 4 * self._rows.dims else self._rows.row(text)
        return text, pack(row)


def _unavailable(exc: BaseException) -> Exception:
    from llmx.cache.databases import CacheUnavailable

    return CacheUnavailable(f"the semantic index cannot be read: {exc}")


def _reset(db: sqlite3.Connection) -> None:
    for table in ("entries", "postings", "terms", "meta"):
        db.execute(f"DELETE FROM {table}")


def _meta(db: sqlite3.Connection, name: str, default: int | str) -> int | str:
    row = db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    return default if row is None else row[0]
