"""CacheStore on a real directory: round trips, TTL, LRU limits, bad values, modes, vector log."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmx.cache.store import CacheStore, CacheUnavailable
from llmx.cache.types import Entry
from llmx.cli._io import Io
from llmx.cli.cache_cmd import (
    cache_size,
    run_cache_clear,
    run_cache_ls,
    run_cache_path,
    run_cache_prune,
    run_cache_show,
)
from llmx.errors import UsageError

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def make_entry(i: int = 0, *, text: str | None = None, prompt: str | None = None) -> Entry:
    body = f"answer number {i} — ünïcode ✓" if text is None else text
    return Entry(text=body, chunks=(5, len(body) - 5), model="sim-1", provider="openai",
                 input_tokens=10 + i, output_tokens=20 + i, finish_reason="stop",
                 prompt=f"question {i}" if prompt is None else prompt, scope="scope-a",
                 kind="chat", created=T0 + i)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "state" / "cache"


@pytest.fixture
def store(folder: Path, clock: Clock) -> Iterator[CacheStore]:
    with CacheStore(folder, max_entries=1000, max_bytes=2**30, clock=clock) as opened:
        yield opened


@contextlib.contextmanager
def responses_db(folder: Path) -> Iterator[sqlite3.Connection]:
    """A test's own look at the stored rows (closed at once: it must not hold the WAL)."""
    with contextlib.closing(sqlite3.connect(folder / "responses" / "cache.db", timeout=10,
                                            isolation_level=None)) as con:
        yield con


def stored_rows(folder: Path) -> list[tuple[str, int, object, str | None]]:
    with responses_db(folder) as con:
        return list(con.execute("SELECT key, mode, value, filename FROM Cache"))


# -- reads on a cache that does not exist --------------------------------------------------


def test_reads_on_a_missing_cache_miss_and_create_nothing(folder: Path) -> None:
    with CacheStore(folder, max_entries=10, max_bytes=2**20) as store:
        assert store.get("k") is None
        assert len(store) == 0 and list(store.iter_entries()) == []
        assert store.delete("k") is False
        assert store.vector_seq("lexical") == 0
        assert list(store.vectors_since("lexical", 0)) == []
        assert store.get_aux("ns", "k") is None
        assert store.volume() == 0
        assert store.clear() == 0 and store.prune() == 0
        assert store.snapshot_dir.parent == folder
    assert not folder.exists() and not folder.parent.exists()


# -- round trips ---------------------------------------------------------------------------


def test_set_then_get_round_trips_the_entry(store: CacheStore) -> None:
    entry = make_entry(1)
    store.set("k1", entry, expire=None)
    assert store.get("k1") == entry
    assert store.get("k2") is None
    assert store.get("k1") == entry  # a hit does not consume the entry
    assert len(store) == 1


def test_a_second_store_on_the_same_directory_sees_the_entry(store: CacheStore, folder: Path,
                                                              clock: Clock) -> None:
    store.set("k", make_entry(2), expire=60)
    with CacheStore(folder, max_entries=10, max_bytes=2**30, clock=clock) as other:
        assert other.get("k") == make_entry(2)


def test_set_overwrites(store: CacheStore) -> None:
    store.set("k", make_entry(1), expire=None)
    store.set("k", make_entry(2), expire=None)
    assert store.get("k") == make_entry(2)
    assert len(store) == 1


def test_values_are_json_text_inside_sqlite(store: CacheStore, folder: Path) -> None:
    store.set("k", make_entry(3, text="x" * 200_000), expire=None)
    ((key, mode, value, filename),) = stored_rows(folder)
    assert key == "k" and filename is None and mode == 1  # inline, raw: no pickle, no file
    assert isinstance(value, str)
    assert Entry.from_json(json.loads(value)["e"]) == make_entry(3, text="x" * 200_000)
    everything = {p.name for p in folder.rglob("*") if p.is_file()}
    assert everything <= {"cache.db", "cache.db-wal", "cache.db-shm"}


def test_delete(store: CacheStore) -> None:
    store.set("k", make_entry(), expire=None)
    assert store.delete("k") is True
    assert store.delete("k") is False
    assert store.get("k") is None


# -- TTL --------------------------------------------------------------------------------------


def test_an_expired_entry_is_never_served_and_is_removed(store: CacheStore, clock: Clock,
                                                         folder: Path) -> None:
    store.set("short", make_entry(1), expire=10)
    store.set("forever", make_entry(2), expire=None)
    clock.now += 9.5
    assert store.get("short") == make_entry(1)
    clock.now += 1
    assert store.get("short") is None
    assert [row[0] for row in stored_rows(folder)] == ["forever"]
    clock.now += 10 * 365 * 86_400
    assert store.get("forever") == make_entry(2)


def test_expired_entries_are_not_listed(store: CacheStore, clock: Clock) -> None:
    store.set("short", make_entry(1), expire=10)
    store.set("long", make_entry(2), expire=1000)
    clock.now += 100
    assert [key for key, _ in store.iter_entries()] == ["long"]


def test_a_non_positive_ttl_stores_nothing(store: CacheStore, folder: Path) -> None:
    store.set("zero", make_entry(), expire=0)
    assert store.get("zero") is None
    assert not (folder / "responses").exists()


# -- LRU limits ----------------------------------------------------------------------------


def test_max_entries_evicts_the_least_recently_used(folder: Path) -> None:
    with CacheStore(folder, max_entries=3, max_bytes=2**30) as store:
        for name in "abc":
            store.set(name, make_entry(ord(name)), expire=None)
        assert store.get("a") is not None  # a is now more recent than b
        store.set("d", make_entry(4), expire=None)
        assert len(store) == 3
        assert store.get("b") is None
        assert all(store.get(k) is not None for k in "acd")


def test_a_rewrite_counts_as_a_use(folder: Path) -> None:
    with CacheStore(folder, max_entries=3, max_bytes=2**30) as store:
        for name in "abc":
            store.set(name, make_entry(ord(name)), expire=None)
        store.set("a", make_entry(1), expire=None)  # a is now the most recent
        store.set("d", make_entry(4), expire=None)
        assert store.get("b") is None
        assert store.get("a") == make_entry(1) and len(store) == 3


def test_listing_does_not_refresh_lru_order(folder: Path) -> None:
    with CacheStore(folder, max_entries=3, max_bytes=2**30) as store:
        for name in "abc":
            store.set(name, make_entry(ord(name)), expire=None)
        assert [key for key, _ in store.iter_entries()] == ["c", "b", "a"]
        store.set("d", make_entry(4), expire=None)
        assert store.get("a") is None  # still the least recently used, despite the listing


def test_max_bytes_culls_oldest_and_keeps_newest(folder: Path) -> None:
    with CacheStore(folder, max_entries=10_000, max_bytes=600_000) as store:
        for i in range(60):
            store.set(f"k{i:02d}", make_entry(i, text=f"{i}:" + "y" * 30_000), expire=None)
        kept = [key for key, _ in store.iter_entries()]
        assert 0 < len(kept) < 30
        assert kept[0] == "k59" and store.get("k59") is not None
        assert store.get("k00") is None


# -- bad values ----------------------------------------------------------------------------


def tamper(folder: Path, key: str, value: object, mode: int = 1) -> None:
    with responses_db(folder) as con:
        con.execute("UPDATE Cache SET value = ?, mode = ? WHERE key = ?", (value, mode, key))


def good_envelope(entry: Entry) -> dict[str, object]:
    return {"x": None, "e": entry.to_json()}


@pytest.mark.parametrize("bad", [
    "{not json",
    "[1, 2, 3]",
    json.dumps({"x": None, "e": {"text": "no other fields"}}),
    json.dumps({"x": "soon", "e": make_entry().to_json()}),
    json.dumps({"x": None, "e": {**make_entry().to_json(), "chunks": [1, 2]}}),
    json.dumps({"x": None, "e": {**make_entry().to_json(), "v": 99}}),
    b"\x00\x01 raw bytes",
    12345,
])
def test_a_malformed_value_is_a_miss_and_is_deleted(store: CacheStore, folder: Path,
                                                    bad: object) -> None:
    store.set("k", make_entry(), expire=None)
    store.set("other", make_entry(1), expire=None)
    tamper(folder, "k", bad)
    assert store.get("k") is None
    assert [row[0] for row in stored_rows(folder)] == ["other"]
    assert [key for key, _ in store.iter_entries()] == ["other"]


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(Path(os.environ["LLMX_HOME"]) / "unpickled"),))


def test_a_pickled_value_is_never_unpickled(store: CacheStore, folder: Path) -> None:
    store.set("k", make_entry(), expire=None)
    tamper(folder, "k", pickle.dumps(_Boom()), mode=4)
    assert store.get("k") is None
    assert not (Path(os.environ["LLMX_HOME"]) / "unpickled").exists()


def test_clear_starts_afresh_from_a_damaged_database(folder: Path) -> None:
    (folder / "responses").mkdir(parents=True)
    (folder / "responses" / "cache.db").write_bytes(b"garbage" * 1000)
    with CacheStore(folder, max_entries=10, max_bytes=2**30) as store:
        assert store.clear() == 0
        store.set("k", make_entry(), expire=None)
        assert store.get("k") == make_entry()


def test_text_with_lone_surrogates_is_stored_escaped(store: CacheStore) -> None:
    odd = make_entry(text="bad \ud800 half pair and ✓")
    store.set("k", odd, expire=None)
    assert store.get("k") == odd


# -- modes ---------------------------------------------------------------------------------


def all_modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


def test_directories_are_0700_and_every_file_0600(folder: Path) -> None:
    old = os.umask(0)  # nothing may rely on a friendly umask
    try:
        with CacheStore(folder, max_entries=10, max_bytes=2**30) as store:
            store.set("k", make_entry(), expire=None)
            store.append_vector("k", "scope-a", "lexical-v1-4", b"\0" * 16)
            store.set_aux("emb", "text", [0.5, 0.25])
            store.get("k")
            modes = all_modes(folder)
    finally:
        os.umask(old)
    assert any(name.endswith("-wal") for name in modes), modes  # checked while SQLite has them
    assert any(name.endswith("-shm") for name in modes), modes
    for name, mode in modes.items():
        expected = 0o700 if (folder / name).is_dir() else 0o600
        assert mode == expected, f"{name}: {oct(mode)}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_loose_existing_database_is_tightened_on_write(folder: Path) -> None:
    (folder / "responses").mkdir(parents=True, mode=0o755)
    db = folder / "responses" / "cache.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    with CacheStore(folder, max_entries=10, max_bytes=2**30) as store:
        store.set("k", make_entry(), expire=None)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "responses").stat().st_mode) == 0o700


# -- listing, clear, prune, volume ---------------------------------------------------------


def test_iter_entries_is_newest_first_across_pages(folder: Path) -> None:
    with CacheStore(folder, max_entries=5000, max_bytes=2**30) as store:
        for i in range(1203):
            store.set(f"k{i:04d}", make_entry(i), expire=None)
        keys = [key for key, _ in store.iter_entries()]
    assert keys == [f"k{i:04d}" for i in reversed(range(1203))]


def test_clear_removes_everything_but_keeps_sequences_monotonic(store: CacheStore) -> None:
    for i in range(3):
        store.set(f"k{i}", make_entry(i), expire=None)
    assert store.append_vector("k0", "s", "lex", b"v0") == 1
    store.set_aux("emb", "t", "cached")
    store.snapshot_dir.mkdir(mode=0o700)
    (store.snapshot_dir / "lex.npy").write_bytes(b"snapshot")
    assert store.clear() == 3
    assert len(store) == 0 and store.get("k0") is None
    assert list(store.vectors_since("lex", 0)) == [] and store.get_aux("emb", "t") is None
    assert list(store.snapshot_dir.iterdir()) == []
    assert store.vector_seq("lex") == 1
    assert store.append_vector("k9", "s", "lex", b"v9") == 2


def test_prune_drops_expired_bad_and_orphaned(store: CacheStore, clock: Clock,
                                              folder: Path) -> None:
    store.set("old", make_entry(1), expire=5)
    store.set("bad", make_entry(2), expire=None)
    store.set("good", make_entry(3), expire=None)
    store.append_vector("old", "s", "lex", b"1")
    store.append_vector("good", "s", "lex", b"2")
    tamper(folder, "bad", "{oops")
    clock.now += 60
    assert store.prune() == 2
    for name in ("responses", "vectors", "recency"):  # checkpointed into the database
        wal = folder / name / "cache.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0
    assert [key for key, _ in store.iter_entries()] == ["good"]
    assert [(seq, key) for seq, key, _, _ in store.vectors_since("lex", 0)] == [(2, "good")]
    assert store.prune() == 0


def test_volume_counts_bytes_on_disk(store: CacheStore, folder: Path) -> None:
    store.set("k", make_entry(text="z" * 50_000), expire=None)
    on_disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert store.volume() == on_disk > 50_000


# -- vector log and aux ----------------------------------------------------------------------


def test_vector_log_sequences_and_tails(store: CacheStore) -> None:
    vectors = [bytes([i]) * 8 for i in range(5)]
    seqs = [store.append_vector(f"k{i}", f"s{i % 2}", "lex", v) for i, v in enumerate(vectors)]
    assert seqs == [1, 2, 3, 4, 5]
    assert store.vector_seq("lex") == 5
    assert list(store.vectors_since("lex", 3)) == [(4, "k3", "s1", vectors[3]),
                                                   (5, "k4", "s0", vectors[4])]
    assert [row[0] for row in store.vectors_since("lex", 0)] == seqs
    assert list(store.vectors_since("lex", 5)) == []


def test_vector_logs_of_embedders_are_separate_even_with_colons(store: CacheStore) -> None:
    assert store.append_vector("k1", "s", "a", b"1") == 1
    assert store.append_vector("k2", "s", "a:b", b"2") == 1
    assert store.append_vector("k3", "s", "provider:openai:x", b"3") == 1
    assert store.append_vector("k4", "s", "a", b"4") == 2
    assert [row[1] for row in store.vectors_since("a", 0)] == ["k1", "k4"]
    assert [row[1] for row in store.vectors_since("a:b", 0)] == ["k2"]


def test_vector_tails_page_through_many_rows(store: CacheStore) -> None:
    for i in range(1234):
        store.append_vector(f"k{i}", "s", "lex", i.to_bytes(4, "little"))
    rows = list(store.vectors_since("lex", 100))
    assert [seq for seq, *_ in rows] == list(range(101, 1235))
    assert rows[-1][3] == (1233).to_bytes(4, "little")


def test_aux_values_round_trip_by_namespace(store: CacheStore) -> None:
    store.set_aux("a:b", "c", {"vector": [0.1, 0.2]})
    store.set_aux("a", "b:c", b"\x00raw")
    assert store.get_aux("a:b", "c") == {"vector": [0.1, 0.2]}
    assert store.get_aux("a", "b:c") == b"\x00raw"
    assert store.get_aux("a", "c") is None
    with pytest.raises(TypeError):
        store.set_aux("a", "d", object())


# -- diskcache's public API only ---------------------------------------------------------------


def test_the_cache_package_uses_no_diskcache_internals_and_no_sql() -> None:
    """No private attribute of diskcache, no SQL on its tables, no raw sqlite connection."""
    package = Path(__file__).resolve().parents[2] / "llmx" / "cache"
    banned = ("._sql", "._con", "._disk", "diskcache.core", "sqlite3.connect", "SELECT ",
              "UPDATE ", "INSERT ", "DELETE FROM", "PRAGMA ")
    for name in ("databases", "store", "recency", "queue", "rows", "recovery", "tiers",
                 "vectors", "snapshot"):
        source = package / f"{name}.py"
        text = source.read_text()
        found = [word for word in banned if word in text]
        assert not found, f"{source.name}: {found}"


# -- `llmx cache path|ls|show|clear|prune` (called directly, on the test's $LLMX_HOME) ---------


def cli_io() -> Io:
    return Io(stdin=io.BytesIO(b""), stdout=io.StringIO(), stderr=io.StringIO(),
              env={"LLMX_HOME": os.environ["LLMX_HOME"]}, stdin_is_tty=False,
              stdout_is_tty=False)


def out(streams: Io) -> str:
    value = streams.stdout.getvalue()  # type: ignore[attr-defined]
    assert isinstance(value, str)
    return value


def home_cache() -> Path:
    return Path(os.environ["LLMX_HOME"]) / "cache"


def fill_home(count: int) -> list[str]:
    keys = [f"{i:x}".rjust(4, "a") + "f" * 60 for i in range(count)]
    with CacheStore(home_cache(), max_entries=100, max_bytes=2**30) as store:
        for i, key in enumerate(keys):
            store.set(key, make_entry(i, prompt=f"question {i}\nwith a second line " + "w" * 80),
                      expire=None)
    return keys


def test_cache_path_prints_the_directory_without_creating_it() -> None:
    streams = cli_io()
    assert run_cache_path(streams) == 0
    assert out(streams) == f"{home_cache()}\n"
    assert not home_cache().exists()


def test_cache_ls_lists_newest_first_with_one_line_previews() -> None:
    keys = fill_home(3)
    streams = cli_io()
    assert run_cache_ls(streams, limit=2, as_json=False) == 0
    lines = out(streams).splitlines()
    assert [line.split()[0] for line in lines] == [keys[2][:12], keys[1][:12]]
    assert "chat" in lines[0] and "sim-1" in lines[0] and "12+22" in lines[0]
    preview = lines[0].split("12+22", 1)[1].strip()
    assert preview.startswith("question 2 with a second line") and len(preview) == 60


def test_cache_ls_json_and_an_empty_cache() -> None:
    empty = cli_io()
    assert run_cache_ls(empty, limit=0, as_json=False) == 0
    assert out(empty) == "" and not home_cache().exists()
    keys = fill_home(2)
    streams = cli_io()
    assert run_cache_ls(streams, limit=0, as_json=True) == 0
    items = [json.loads(line) for line in out(streams).splitlines()]
    assert [item["key"] for item in items] == [keys[1], keys[0]]
    assert items[0]["output_tokens"] == 21 and items[0]["prompt"].startswith("question 1\n")


def test_cache_show_by_unique_prefix() -> None:
    keys = fill_home(3)
    streams = cli_io()
    assert run_cache_show(streams, keys[1][:4].upper(), as_json=False) == 0
    text = out(streams)
    assert f"key      {keys[1]}\n" in text and "11 in, 21 out" in text
    assert text.endswith("\n" + make_entry(1).text + "\n")
    as_json = cli_io()
    assert run_cache_show(as_json, keys[1], as_json=True) == 0
    data = json.loads(out(as_json))
    assert data["key"] == keys[1] and data["text"] == make_entry(1).text


@pytest.mark.parametrize(("prefix", "message"), [("aaa", "3 cache entries"),
                                                 ("0123", "no cache entry"), ("  ", "give")])
def test_cache_show_rejects_ambiguous_missing_and_empty_prefixes(prefix: str,
                                                                 message: str) -> None:
    fill_home(3)
    with pytest.raises(UsageError, match=message):
        run_cache_show(cli_io(), prefix, as_json=False)


def test_cache_clear_needs_yes() -> None:
    fill_home(2)
    with pytest.raises(UsageError) as info:
        run_cache_clear(cli_io(), yes=False)
    assert info.value.hint is not None and "--yes" in info.value.hint
    streams = cli_io()
    assert run_cache_clear(streams, yes=True) == 0
    assert out(streams).startswith("removed 2 entries")
    with CacheStore(home_cache(), max_entries=10, max_bytes=2**30) as store:
        assert len(store) == 0


def test_cache_prune_reports_what_it_removed() -> None:
    fill_home(4)
    streams = cli_io()
    assert run_cache_prune(streams, max_entries=3) == 0
    assert out(streams).startswith("pruned 1 entry; 3 left, ")


def test_cache_size_counts_entries_and_bytes_without_creating_anything() -> None:
    env = {"LLMX_HOME": os.environ["LLMX_HOME"]}
    assert cache_size(env) == (0, 0) and not home_cache().exists()
    fill_home(3)
    entries, size = cache_size(env)
    assert entries == 3 and size == sum(p.stat().st_size for p in home_cache().rglob("*")
                                         if p.is_file())


# -- the store's own statements on diskcache's schema (rows.UPSERT, BUMP, ...) -----------------


def test_the_fast_entry_json_matches_entry_to_json() -> None:
    from llmx.cache import rows

    for entry in (make_entry(3), make_entry(text="", prompt=""),
                  Entry(text="x", chunks=(), model="m", provider="p", input_tokens=0,
                        output_tokens=0, finish_reason=None, prompt="", scope="", kind="code",
                        created=0)):
        fast = rows.entry_json(entry)
        assert fast == entry.to_json()
        assert list(fast) == list(entry.to_json())  # same key order: same stored text


def test_diskcache_keeps_its_count_and_size_settings_through_our_writes(folder: Path) -> None:
    with CacheStore(folder, max_entries=1000, max_bytes=2**30) as store:
        for i in range(5):
            store.set(f"k{i}", make_entry(i), expire=None)
        store.set("k0", make_entry(9), expire=60)  # an overwrite: still five rows
        assert store.get("k3") == make_entry(3)
        assert store.delete("k4")
        assert len(store) == 4
        cache = store._dbs._open["responses"]  # diskcache's own view of the same database
        assert len(cache) == 4 and cache.reset("size") == 0
        assert store.get("k0") == make_entry(9)


def test_a_get_hit_moves_the_entry_to_the_back_of_the_lru_order(folder: Path) -> None:
    with CacheStore(folder, max_entries=3, max_bytes=2**30) as store:
        for i in range(3):
            store.set(f"k{i}", make_entry(i), expire=None)
        assert store.get("k0") is not None  # k1 is now the least recently used
        store.set("k3", make_entry(3), expire=None)
        assert store.get("k1") is None
        assert all(store.get(f"k{i}") is not None for i in (0, 2, 3))


def test_the_vector_head_follows_appends_from_another_store(folder: Path) -> None:
    with CacheStore(folder, max_entries=10, max_bytes=2**30) as mine, \
            CacheStore(folder, max_entries=10, max_bytes=2**30) as other:
        assert mine.append_vector("a", "s", "lex", b"1") == 1
        assert mine.vector_seq("lex") == 1
        assert mine.append_vector("b", "s", "lex", b"2") == 2
        assert mine.vector_seq("lex") == 2  # its own append, known without a re-read
        assert other.append_vector("c", "s", "lex", b"3") == 3
        assert mine.vector_seq("lex") == 3
        assert mine.append_vector("d", "s", "lex", b"4") == 4
        assert other.vector_seq("lex") == 4
        assert [row[1] for row in mine.vectors_since("lex", 0)] == ["a", "b", "c", "d"]


def test_a_damaged_vector_counter_fails_the_append_and_writes_nothing(folder: Path) -> None:
    with CacheStore(folder, max_entries=10, max_bytes=2**30) as store:
        store.append_vector("a", "s", "lex", b"1")
        store.close()
        with sqlite3.connect(folder / "vectors" / "cache.db", isolation_level=None) as con:
            con.execute("UPDATE Cache SET value = '\"x\"' WHERE key = 'seq:lex'")
        with pytest.raises(CacheUnavailable):
            store.append_vector("b", "s", "lex", b"2")
        assert [row[1] for row in store.vectors_since("lex", 0)] == ["a"]
