"""The gate indexes this process's rows after the store's flush, from memory, and still
finds the rows another process wrote at the next look-up."""

from __future__ import annotations

from pathlib import Path

from llmx.cache.embed import LexicalEmbedder
from llmx.cache.tiers import LEXICAL_NAME, Keys, TieredCache
from llmx.config.settings import CacheSettings
from llmx.types import Completion, Message, Request
from tests.cache.test_cache_gate import run_miss


def open_cache(directory: Path) -> TieredCache:
    return TieredCache(CacheSettings(semantic=True, embedder="lexical"), directory,
                       provider="openai", endpoint="e", embedder=LexicalEmbedder)


def keys_of(prompt: str) -> Keys:
    return Keys(exact=prompt.encode().hex(), scope="s", prompt=prompt)


def save(cache: TieredCache, prompt: str) -> None:
    request = Request(model="m", messages=(Message("user", prompt),))
    cache.save(keys_of(prompt), request, Completion(text="an answer", model="m",
                                                    provider="openai"), ())


def found(cache: TieredCache, prompt: str) -> str | None:
    keys = keys_of(prompt)
    hit = cache.semantic(keys, cache.query_vector(keys))
    return None if hit is None else hit.entry.prompt


def test_own_rows_are_indexed_after_the_flush_without_reading_the_log(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    save(cache, "How do I reset my router password?")  # the first write: flushed at once
    assert found(cache, "how do i reset my router password") is not None
    save(cache, "How do I install docker on ubuntu?")  # queued: searched from memory
    assert found(cache, "how do i install docker on ubuntu") is not None
    cache.flush()  # the gate indexes it now, from memory
    gate = cache._gate()
    assert gate._pending == {}
    assert gate._seq == cache.store.vector_seq(LEXICAL_NAME) == 2
    reads: list[int] = []
    since = cache.store.vectors_since
    cache.store.vectors_since = (  # type: ignore[method-assign]
        lambda embedder, seq: reads.append(seq) or since(embedder, seq))
    assert found(cache, "how do i install docker on ubuntu") == (
        "How do I install docker on ubuntu?")
    assert reads == []  # the look-up caught up with nothing
    cache.close()


def test_another_processs_write_is_found_by_the_next_look_up(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    save(cache, "How do I reset my router password?")
    assert found(cache, "penguins of antarctica") is None  # the gate is open, at the head
    assert run_miss(tmp_path, "save", "What do penguins of antarctica eat?") == "False"
    assert found(cache, "what do penguins of antarctica eat") == (
        "What do penguins of antarctica eat?")
    save(cache, "How do I install docker on ubuntu?")  # ours after theirs
    cache.flush()
    assert found(cache, "how do i install docker on ubuntu") is not None
    cache.close()
    reopened = open_cache(tmp_path)  # a new process: the file holds all three
    assert found(reopened, "how do i reset my router password") is not None
    assert reopened._gate()._seq == 3
    reopened.close()


def test_a_flush_that_cannot_index_leaves_the_rows_to_the_next_look_up(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    save(cache, "How do I reset my router password?")
    assert found(cache, "penguins of antarctica") is None
    gate = cache._gate()
    catch_up = gate._catch_up

    def broken(db: object) -> object:
        raise OSError("disk full")

    gate._catch_up = broken  # type: ignore[method-assign,assignment]
    save(cache, "How do I install docker on ubuntu?")
    cache.flush()  # the hook's failure is not the flush's
    gate._catch_up = catch_up  # type: ignore[method-assign]
    gate._pending.clear()  # as a new process would be: only the log holds the row
    assert found(cache, "how do i install docker on ubuntu") == (
        "How do I install docker on ubuntu?")
    cache.close()
