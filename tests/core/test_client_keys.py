"""What the Client's cache keys see: the whole endpoint, and a key even with the cache off;
a plan is prepared once and sent as it is."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmx.config.profile import load_config, resolve_profile
from llmx.engine import Client
from llmx.prepare import Call
from llmx.types import Completion


def config(**profiles: dict[str, Any]) -> Any:
    tables = {name: {"provider": "openai", "model": "m", "retries": 0, **table}
              for name, table in profiles.items()}
    return load_config({"profiles": tables})


def gateway(sent: list[str]) -> Any:
    """One host whose answer names the path it was asked on (gateways route by path)."""
    from llmx.providers.http import HttpEngine

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json={
            "id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"from {request.url.path}"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2}})

    transport = httpx.MockTransport(handler)
    return HttpEngine(transport_factory=lambda ep: transport)


def test_two_base_urls_that_differ_only_in_path_never_share_an_answer(tmp_path: Path) -> None:
    cfg = config(a={"base_url": "http://gateway.test/a/v1"},
                 b={"base_url": "http://gateway.test/b/v1"})
    sent: list[str] = []

    async def go() -> list[Completion]:
        engine = gateway(sent)
        out = []
        for name in ("a", "b", "a", "b"):
            async with Client(resolve_profile(cfg, name), engine=engine,
                              env={"LLMX_HOME": str(tmp_path)}) as client:
                out.append(await client.generate("the same question"))
        await engine.aclose()
        return out

    a1, b1, a2, b2 = asyncio.run(go())
    assert a1.text == "from /a/v1/chat/completions" and b1.text == "from /b/v1/chat/completions"
    assert b1.cached is False  # not a's answer
    assert (a2.cached, a2.text) == ("exact", a1.text) and (b2.cached, b2.text) == ("exact", b1.text)
    assert sent == ["/a/v1/chat/completions", "/b/v1/chat/completions"]


@pytest.mark.parametrize("off", ["mode off", "state=False"])
def test_a_plans_key_is_the_exact_key_even_with_the_cache_off(off: str, tmp_path: Path) -> None:
    on_cfg = config(p={"base_url": "http://model.test/v1"})
    off_cfg = config(p={"base_url": "http://model.test/v1", "cache": {"mode": "off"}})
    env = {"LLMX_HOME": str(tmp_path)}
    on = Client(resolve_profile(on_cfg, "p"), env=env)
    if off == "mode off":
        other = Client(resolve_profile(off_cfg, "p"), env=env)
    else:
        other = Client(resolve_profile(on_cfg, "p"), env=env, state=False)
    try:
        for call in (Call(), Call(temperature=0.5), Call(system="be brief"), Call(model="n")):
            plan = on.plan("a prompt", call)
            key = plan.key
            assert isinstance(key, str) and len(key) == 64
            assert plan.keys is not None and plan.keys.exact == key
            off_plan = other.plan("a prompt", call)
            assert off_plan.key == key and off_plan.keys is None
        assert other.plan("a prompt").key != other.plan("another prompt").key
        assert other.plan("a prompt").key != other.plan("a prompt", Call(max_tokens=7)).key
    finally:
        on.close()
        other.close()
    assert list(tmp_path.iterdir()) == []  # computing keys touches no state


def test_with_the_cache_off_a_key_still_sees_the_endpoint(tmp_path: Path) -> None:
    cfg = config(a={"base_url": "http://gateway.test/a/v1", "cache": {"mode": "off"}},
                 b={"base_url": "http://gateway.test/b/v1", "cache": {"mode": "off"}})
    env = {"LLMX_HOME": str(tmp_path)}
    a, b = (Client(resolve_profile(cfg, name), env=env) for name in ("a", "b"))
    assert a.plan("q").key != b.plan("q").key


def test_a_plan_is_prepared_once_and_sent_as_it_is(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import llmx.steps

    cfg = config(p={"base_url": "http://gateway.test/v1", "compression": {"mode": "aggressive"}})
    sent: list[str] = []
    prepared: list[str] = []
    real_prepare = llmx.steps.prepare

    def counting_prepare(*args: Any, **kwargs: Any) -> Any:
        prepared.append(args[1])
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(llmx.steps, "prepare", counting_prepare)

    async def go() -> tuple[str, Completion | None, Completion, Completion]:
        engine = gateway(sent)
        async with Client(resolve_profile(cfg, "p"), engine=engine,
                          env={"LLMX_HOME": str(tmp_path)}) as client:
            plan = client.plan("q  q")
            before = client.lookup(plan)
            done = await client.generate(plan)
            again = await client.generate(plan)  # now a hit, still the same plan
        await engine.aclose()
        return plan.key, before, done, again

    key, before, done, again = asyncio.run(go())
    assert prepared == ["q  q"]  # compressed and counted once, for the lookup and both sends
    assert key and before is None
    assert done.text == "from /v1/chat/completions" and done.cached is False
    assert again.cached == "exact" and again.text == done.text
    assert json.dumps(sent) == '["/v1/chat/completions"]'
