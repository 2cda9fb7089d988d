"""Repeats inside one run are sent once, whatever the cache: the run's own memory.

The fake ``send`` stands for ``Client.generate``: ``cache_size`` gives it an exact cache of
that many entries (oldest evicted first, like a cache smaller than the batch), 0 none at
all (``cache.mode = "off"``). ``key`` stands for ``Client.plan(...).key``.
"""

from __future__ import annotations

import asyncio
import io
import os
import stat
import subprocess
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmx.batch.jobs import Job, OrderedWriter
from llmx.batch.repeats import FLUSH_BYTES, RepeatMemory
from llmx.batch.runner import Summary, run_batch
from llmx.errors import ProviderError
from llmx.types import Completion, Usage

from .fakes import answer, jobs_from, lines_of, wiring


class Provider:
    """Counts what reaches the provider; an optional small exact cache in front of it."""

    def __init__(self, cache_size: int = 0) -> None:
        self.cache_size = cache_size
        self.cache: OrderedDict[str, Completion] = OrderedDict()
        self.calls: list[str] = []  # ids sent to the provider (cache misses)

    async def send(self, job: Job) -> Completion:
        prompt = job.prompt or ""
        hit = self.cache.get(prompt)
        if hit is not None:
            return Completion(hit.text, hit.model, hit.provider, hit.usage, cached="exact")
        self.calls.append(job.id)
        for _ in range(2):
            await asyncio.sleep(0)
        done = answer(job)
        if self.cache_size:
            self.cache[prompt] = done
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        return done


def run(rows: list[dict[str, Any]], send: Any,
        key: Callable[[Job], str | None] = lambda job: job.prompt, **options: Any
        ) -> tuple[Summary, list[dict[str, Any]]]:
    out = io.BytesIO()

    async def go() -> Summary:
        return await run_batch(jobs_from(rows), writer=OrderedWriter(out),
                               **{"concurrency": 16, **wiring(send, key), **options})

    summary = asyncio.run(go())
    return summary, lines_of(out.getvalue())


def distinct_then_repeats(distinct: int = 1200, repeats: int = 300) -> list[dict[str, Any]]:
    """``distinct`` prompts, then ``repeats`` lines repeating the earliest ones (long done)."""
    rows = [{"id": f"q{i}", "prompt": f"question {i}"} for i in range(distinct)]
    rows += [{"id": f"r{i}", "prompt": f"question {i % distinct}"} for i in range(repeats)]
    return rows


@pytest.mark.parametrize("cache_size", [0, 1, 100, 1000, 5000])
def test_1200_distinct_and_300_repeats_cost_1200_requests_whatever_the_cache(
        cache_size: int) -> None:
    provider = Provider(cache_size)
    rows = distinct_then_repeats()
    summary, lines = run(rows, provider.send)
    assert len(provider.calls) == 1200
    assert sorted(provider.calls) == sorted(f"q{i}" for i in range(1200))
    assert [line["id"] for line in lines] == [row["id"] for row in rows]
    by_id = {line["id"]: line for line in lines}
    assert all(by_id[f"r{i}"]["text"] == by_id[f"q{i}"]["text"] for i in range(300))
    assert (summary.ok, summary.errors, summary.coalesced) == (1500, 0, 300)


def test_a_repeat_line_says_it_was_not_sent_and_not_cached() -> None:
    provider = Provider(0)
    rows = [{"id": "a", "prompt": "same"}, {"id": "b", "prompt": "other"},
            {"id": "c", "prompt": "same"}]
    _, lines = run(rows, provider.send, concurrency=1)
    assert provider.calls == ["a", "b"]
    first, repeat = lines[0], lines[2]
    assert repeat["text"] == first["text"] and repeat["usage"] == first["usage"]
    assert (repeat["cached"], repeat["attempts"], repeat["latency_ms"]) == (False, 0, 0.0)
    assert (first["cached"], first["attempts"]) == (False, 1)


def test_a_repeat_of_a_cache_answer_says_cached() -> None:
    provider = Provider(10)
    provider.cache["same"] = Completion("from the cache", "m", "fake", Usage(1, 2))
    rows = [{"id": "a", "prompt": "same"}, {"id": "b", "prompt": "same"}]
    summary, lines = run(rows, provider.send, concurrency=1, window=1)  # b read after a
    assert provider.calls == []
    assert [(line["cached"], line["attempts"]) for line in lines] == [("exact", 1), ("exact", 0)]
    assert summary.sends == 1 and summary.cached == {"exact": 2, "semantic": 0}


def test_a_failed_answer_is_not_remembered_a_later_repeat_is_sent() -> None:
    calls: list[str] = []

    async def send(job: Job) -> Completion:
        calls.append(job.id)
        await asyncio.sleep(0)
        if job.id == "a":
            raise ProviderError("refused this time", status=400)
        return answer(job)

    rows = [{"id": "a", "prompt": "same"}, {"id": "b", "prompt": "other"},
            {"id": "c", "prompt": "same"}]
    summary, lines = run(rows, send, concurrency=1)
    assert calls == ["a", "b", "c"]
    assert lines[0]["error"]["type"] == "ProviderError"
    assert lines[2]["text"] == "answer to same" and lines[2]["attempts"] == 1
    assert (summary.ok, summary.errors, summary.coalesced) == (2, 1, 0)


def test_a_failed_leader_does_not_poison_its_followers_or_later_repeats() -> None:
    calls: list[str] = []
    release = asyncio.Event()

    async def send(job: Job) -> Completion:
        calls.append(job.id)
        if len(calls) == 1:  # the first send of "same" fails (permanently) while followed
            await release.wait()
            raise ProviderError("bad gateway", status=400)
        await asyncio.sleep(0)
        return answer(job)

    async def go() -> tuple[Summary, bytes]:
        out = io.BytesIO()
        rows = [{"id": f"s{i}", "prompt": "same"} for i in range(4)]

        async def source() -> AsyncIterator[Any]:
            for entry in jobs_from(rows):
                yield entry
            while len(calls) < 1:
                await asyncio.sleep(0)
            release.set()
            for _ in range(20):  # the failure settles before the late repeat is read
                await asyncio.sleep(0)
            for entry in jobs_from([{"id": "late", "prompt": "same"}]):
                yield entry

        summary = await run_batch(source(), **wiring(send, lambda job: job.prompt),
                                  writer=OrderedWriter(out), concurrency=4)
        return summary, out.getvalue()

    summary, data = asyncio.run(go())
    lines = lines_of(data)
    assert (summary.sends, summary.coalesced) == (2, 0)  # coalesced counts answers only
    assert [("error" in line) for line in lines] == [True, True, True, True, False]
    assert calls == ["s0", "late"]  # followers shared the failure; the late repeat was sent
    assert lines[4]["text"] == "answer to same"


def test_no_key_no_memory() -> None:
    provider = Provider(0)
    rows = [{"id": f"x{i}", "prompt": "same"} for i in range(3)]
    summary, _ = run(rows, provider.send, concurrency=1, key=lambda job: None)
    assert provider.calls == ["x0", "x1", "x2"] and summary.coalesced == 0


# --- RepeatMemory itself ---


def done(text: str, **extra: Any) -> Completion:
    return Completion(text=text, model="m-1", provider="fake", usage=Usage(5, 7), **extra)


def test_memory_round_trips_an_answer_exactly(tmp_path: Path) -> None:
    odd = "naïve 😀 \ud800 lone surrogate\nand lines"
    with RepeatMemory(dir=str(tmp_path)) as memory:
        memory.remember("k1", done(odd, finish_reason="stop", cached="semantic"))
        memory.remember("k2", done("", finish_reason=None))
        got = memory.recall("k1")
        assert got == Completion(text=odd, model="m-1", provider="fake", usage=Usage(5, 7),
                                 finish_reason="stop", cached="semantic", latency_ms=0.0)
        empty = memory.recall("k2")
        assert empty is not None and empty.text == "" and empty.finish_reason is None
        assert memory.recall("k3") is None
        memory.remember("k1", done("a second answer"))  # the first one stays
        again = memory.recall("k1")
        assert again is not None and again.text == odd


def test_memory_spills_to_a_private_file_that_leaves_nothing_behind(tmp_path: Path) -> None:
    memory = RepeatMemory(dir=str(tmp_path))
    assert memory.spilled_bytes == 0 and list(tmp_path.iterdir()) == []  # nothing until used
    text = "x" * 10_000
    for i in range(50):
        memory.remember(f"key {i}", done(text))
    assert memory.spilled_bytes > 50 * 10_000  # the texts are on disk ...
    assert list(tmp_path.iterdir()) == []  # ... in a file no other process can open by name
    fd = memory._fd
    assert fd is not None and stat.S_IMODE(os.fstat(fd).st_mode) == 0o600
    memory.close()
    with pytest.raises(OSError):
        os.fstat(fd)
    assert list(tmp_path.iterdir()) == []


def test_a_hash_collision_is_a_miss_never_another_answer(tmp_path: Path) -> None:
    with RepeatMemory(dir=str(tmp_path), hasher=lambda key: 0) as memory:
        memory.remember("one", done("answer one"))
        memory.remember("two", done("answer two"))
        assert memory.recall("two") is None
        first = memory.recall("one")
        assert first is not None and first.text == "answer one"


def test_a_memory_past_its_size_stops_remembering(tmp_path: Path) -> None:
    with RepeatMemory(dir=str(tmp_path), max_bytes=300) as memory:
        memory.remember("a", done("x" * 100))
        memory.remember("b", done("y" * 300))
        assert memory.recall("a") is not None and memory.recall("b") is None
        assert memory.off


def test_a_memory_that_cannot_spill_turns_off_and_the_run_still_answers(
        tmp_path: Path) -> None:
    missing = tmp_path / "not-there"
    big = "x" * (FLUSH_BYTES // 4)
    with RepeatMemory(dir=str(missing)) as memory:
        for key in "abcd":  # enough for the first write (FLUSH_BYTES), which fails
            assert not memory.off
            memory.remember(key, done(big + key))
        assert memory.off
        memory.remember("e", done("too late"))
        assert memory.recall("e") is None
        assert [getattr(memory.recall(key), "text", None) for key in "abcd"] == [
            big + key for key in "abcd"]  # what was remembered before stays answerable


@pytest.fixture
def full_dir(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "small"
    target.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(target)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=False)


def test_a_full_disk_for_the_spill_file_means_repeats_are_sent_again(full_dir: Path) -> None:
    provider = Provider(0)
    rows = [{"id": f"q{i}", "prompt": f"question {i % 40} " + "z" * 4000} for i in range(80)]
    memory = RepeatMemory(dir=str(full_dir))
    summary, lines = run(rows, provider.send, concurrency=1, repeats=memory)
    memory.close()
    assert memory.off
    assert summary.ok == 80 and all("text" in line for line in lines)
    assert 40 < len(provider.calls) < 80  # the memory helped until the disk was full


class FailingOut(io.BytesIO):
    """An output that fails (disk full) from its ``after``-th write on."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after, self.writes = after, 0

    def write(self, data: Any) -> int:
        self.writes += 1
        if self.writes > self.after:
            raise OSError(28, "No space left on device")
        return super().write(data)


@pytest.mark.parametrize("window", [1, 64])  # answered when read / at the top of the queue
def test_a_write_failure_while_answering_a_repeat_ends_the_run_with_that_error(
        window: int) -> None:
    provider = Provider(0)
    rows = [{"id": "a", "prompt": "same"}, {"id": "b", "prompt": "other"}]
    rows += [{"id": f"r{i}", "prompt": "same"} for i in range(5)]
    out = FailingOut(after=2)

    async def go() -> Summary:
        return await run_batch(jobs_from(rows), **wiring(provider.send, lambda job: job.prompt),
                               concurrency=1, writer=OrderedWriter(out, ordered=False),
                               window=window)

    with pytest.raises(OSError, match="No space"):  # not a hang, not a lost error
        asyncio.run(asyncio.wait_for(go(), timeout=10))
    assert provider.calls == ["a", "b"][:len(provider.calls)]
    written = [line["id"] for line in lines_of(out.getvalue())]
    assert len(written) == 2 and written[0] == "a"
