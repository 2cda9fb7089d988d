"""Answers before state, in the Client: a state dir that cannot be written costs one warning."""

from __future__ import annotations

import asyncio
from pathlib import Path

from llmx.config.profile import resolve_profile
from llmx.engine import Client
from llmx.types import Completion
from tests.core.test_client_keys import config, gateway


def test_state_that_cannot_be_written_costs_one_warning_not_the_answer(tmp_path: Path) -> None:
    """$LLMX_HOME is a file: neither the cache nor the records can be created (root or not)."""
    home = tmp_path / "home"
    home.write_text("a file where the state directory should be")
    cfg = config(p={"base_url": "http://gateway.test/v1"})
    sent: list[str] = []
    warnings: list[str] = []

    async def go() -> list[Completion]:
        engine = gateway(sent)
        async with Client(resolve_profile(cfg, "p"), engine=engine, env={"LLMX_HOME": str(home)},
                          warn=warnings.append) as client:
            out = [await client.generate(f"question {i % 2}") for i in range(4)]
            answer = client.stream("a streamed one")
            async for _chunk in answer:
                pass
            out.append(answer.completion())
        await engine.aclose()
        return out

    results = asyncio.run(go())
    assert [r.text for r in results] == ["from /v1/chat/completions"] * 5
    assert all(r.cached is False for r in results) and len(sent) == 5
    assert len(warnings) == 1 and warnings[0].startswith("could not save the answer to the cache")
    assert home.read_text() == "a file where the state directory should be"
