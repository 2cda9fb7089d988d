"""Refresh-ahead (``cache.refresh_ahead``): an exact hit in the last share of its entry's
life is asked again once, in the background of a long-running Client; never by a one-shot
``llmx ask`` (``tests/integration/test_cache_cli.py``). Requests are counted by a real
simulator over loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmx.cache.types import Entry, Hit
from llmx.config.profile import Profile, load_config, resolve_profile
from llmx.engine import Client
from llmx.refresh import due
from llmx.sim import SimOptions, SimServer

CHAT = "/v1/chat/completions"
TTL = 100.0


def _entry(created: float) -> Entry:
    return Entry(text="x", chunks=(1,), model="m", provider="openai", input_tokens=1,
                 output_tokens=1, finish_reason="stop", prompt="p", scope="s", kind="chat",
                 created=created)


def test_due_only_for_an_exact_hit_in_the_last_share_of_its_life() -> None:
    old, young = _entry(0.0), _entry(50.0)
    assert due(Hit(old, "exact", None), 0.1, TTL, now=90.0)
    assert not due(Hit(old, "exact", None), 0.1, TTL, now=89.9)
    assert not due(Hit(young, "exact", None), 0.1, TTL, now=99.0)
    assert not due(Hit(old, "semantic", 0.95), 0.1, TTL, now=99.0)  # another prompt's entry
    assert not due(Hit(old, "exact", None), 0.0, TTL, now=99.0)  # off


def _profile(base_url: str, share: float) -> Profile:
    config = load_config({"profiles": {"p": {
        "provider": "openai", "model": "sim-1", "base_url": base_url, "retries": 0,
        "cache": {"refresh_ahead": share, "ttl": {"default": TTL}}}}})
    return resolve_profile(config, "p")


def _run(home: Path, share: float, steps: list[tuple[float, int]], *,
         refresh_ahead: bool = True) -> list[int]:
    """Ask one prompt at each wall time of ``steps`` (``copies`` at once); the simulator's
    chat requests after each step, once the Client has finished its background work."""
    clock = [1000.0]

    async def main() -> list[int]:
        counts = []
        async with SimServer(SimOptions(ttft_ms=5)) as sim:
            profile = _profile(sim.base_url + "/v1", share)
            async with Client(profile, env={"LLMX_HOME": str(home)}, wall=lambda: clock[0],
                              refresh_ahead=refresh_ahead) as client:
                for at, copies in steps:
                    clock[0] = at
                    await asyncio.gather(*(client.generate("a hot question")
                                           for _ in range(copies)))
                    for _ in range(200):  # let a background refresh finish
                        await asyncio.sleep(0.01)
                        if not client._refresher:
                            break
                    counts.append(sim.stats()["by_endpoint"].get(CHAT, 0))
        return counts

    return asyncio.run(main())


def test_a_hot_entry_near_its_expiry_is_refreshed_once(tmp_path: Path) -> None:
    counts = _run(tmp_path, 0.1, [(1000.0, 1), (1050.0, 1), (1095.0, 3), (1096.0, 2)])
    # stored; a young hit; three hits near expiry -> one refresh; the renewed entry is young
    assert counts == [1, 1, 2, 2]


def test_the_renewed_entry_lives_a_whole_ttl_again(tmp_path: Path) -> None:
    counts = _run(tmp_path, 0.1, [(1000.0, 1), (1095.0, 1), (1180.0, 1), (1186.0, 1)])
    # refreshed at 1095; at 1180 (85 s old) it is young; at 1186 (91 s) due again
    assert counts == [1, 2, 2, 3]


@pytest.mark.parametrize("case", ["off in the profile", "one-shot client"])
def test_never_without_refresh_ahead(case: str, tmp_path: Path) -> None:
    share = 0.0 if case == "off in the profile" else 0.1
    counts = _run(tmp_path, share, [(1000.0, 1), (1099.0, 2)],
                  refresh_ahead=case != "one-shot client")
    assert counts == [1, 1]
