"""Inside an event loop, a due write queue is written on the loop's next turn, not by the call
that made it due (so no request waits for the transaction); outside a loop, by that call."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmx.cache.store import CacheStore, Grouping
from llmx.cache.types import Entry


def entry(i: int) -> Entry:
    return Entry(text=f"answer {i}", chunks=(), model="m", provider="p", input_tokens=i,
                 output_tokens=1, finish_reason="stop", prompt=f"question {i}", scope="s",
                 kind="chat", created=1.0)


def _stores(folder: Path) -> tuple[CacheStore, CacheStore]:
    grouped = CacheStore(folder, max_entries=100, max_bytes=2**31,
                         grouping=Grouping(entries=2, max_age=3600))
    return grouped, CacheStore(folder, max_entries=100, max_bytes=2**31)


def test_in_a_loop_the_due_write_waits_for_the_next_turn(tmp_path: Path) -> None:
    grouped, other = _stores(tmp_path / "cache")

    async def main() -> tuple[Entry | None, Entry | None, Entry | None]:
        grouped.set("k0", entry(0), expire=None)  # the first write goes at once
        grouped.set("k1", entry(1), expire=None)
        grouped.set("k2", entry(2), expire=None)  # due now: scheduled, not written
        before = other.get("k2")
        here = grouped.get("k2")  # this store's reads see it at once
        await asyncio.sleep(0)  # the loop's next turn writes it
        return before, here, other.get("k2")

    with grouped, other:
        before, here, after = asyncio.run(main())
        assert before is None and here == entry(2) and after == entry(2)
        assert other.get("k1") == entry(1)


def test_outside_a_loop_the_due_write_is_made_by_the_call(tmp_path: Path) -> None:
    grouped, other = _stores(tmp_path / "cache")
    with grouped, other:
        for i in range(3):
            grouped.set(f"k{i}", entry(i), expire=None)
        assert other.get("k2") == entry(2)


def test_a_write_scheduled_but_never_run_is_written_by_close(tmp_path: Path) -> None:
    grouped, other = _stores(tmp_path / "cache")

    async def main() -> None:
        for i in range(3):
            grouped.set(f"k{i}", entry(i), expire=None)
        grouped.close()  # before the loop's next turn

    asyncio.run(main())
    with other:
        assert [other.get(f"k{i}") for i in range(3)] == [entry(i) for i in range(3)]


def _unit(i: int, dims: int = 8) -> list[float]:
    row = [0.0] * dims
    row[i % dims] = 1.0
    return row


def test_the_index_takes_its_own_flushed_rows_without_reading_them_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmx.cache.vectors import VectorIndex

    folder = tmp_path / "cache"
    grouped = CacheStore(folder, max_entries=100, max_bytes=2**31,
                         grouping=Grouping(entries=50, max_age=3600))
    other = CacheStore(folder, max_entries=100, max_bytes=2**31)
    reads: list[int] = []
    real = grouped.vectors_since

    def counted(embedder: str, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        reads.append(seq)
        return real(embedder, seq)

    monkeypatch.setattr(grouped, "vectors_since", counted)
    with grouped, other:
        index = VectorIndex(grouped, "lex", 8)
        grouped.set("k0", entry(0), expire=None)  # the first write goes at once
        index.add("k0", "s", _unit(0))
        assert [key for key, _ in index.search("s", _unit(0), 0.9)] == ["k0"]
        for i in (1, 2, 3):
            index.add(f"k{i}", "s", _unit(i))
        grouped.flush()  # the store wrote rows 1..4: the index has them in memory already
        reads.clear()
        assert [key for key, _ in index.search("s", _unit(2), 0.9)] == ["k2"]
        assert reads == [] and index.seq == 4
        other.append_vector("k9", "s", "lex", VectorIndex(other, "lex", 8)._row(
            _unit(5)).astype("<f4").tobytes())  # another writer: the log must be read
        assert [key for key, _ in index.search("s", _unit(5), 0.9)] == ["k9"]
        assert reads == [4] and index.seq == 5
