from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from llmx.batch.microbatch import MicroBatcher


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.groups: list[list[str]] = []
        self.fail = fail

    async def __call__(self, items: Sequence[str]) -> list[str]:
        self.groups.append(list(items))
        await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError("endpoint down")
        return [item.upper() for item in items]


def test_concurrent_callers_share_one_call_and_get_their_own_results() -> None:
    async def go() -> tuple[list[list[str]], Recorder]:
        rec = Recorder()
        batch: MicroBatcher[str, str] = MicroBatcher(rec, max_batch_size=16, max_wait_ms=5)
        results = await asyncio.gather(*(batch([f"t{i}"]) for i in range(10)))
        return results, rec

    results, rec = asyncio.run(go())
    assert results == [[f"T{i}"] for i in range(10)]
    assert rec.groups == [[f"t{i}" for i in range(10)]]


def test_a_full_group_goes_out_at_once_and_the_rest_after_the_wait() -> None:
    async def go() -> Recorder:
        rec = Recorder()
        batch: MicroBatcher[str, str] = MicroBatcher(rec, max_batch_size=4, max_wait_ms=5)
        await asyncio.gather(*(batch([f"t{i}"]) for i in range(10)))
        return rec

    assert [len(group) for group in asyncio.run(go()).groups] == [4, 4, 2]


def test_a_failure_reaches_every_caller_of_the_group() -> None:
    async def go() -> list[BaseException | list[str]]:
        batch: MicroBatcher[str, str] = MicroBatcher(Recorder(fail=True), max_wait_ms=1)
        return await asyncio.gather(batch(["a"]), batch(["b"]), return_exceptions=True)

    outcomes = asyncio.run(go())
    assert all(isinstance(o, RuntimeError) for o in outcomes)


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MicroBatcher(Recorder(), max_batch_size=0)
