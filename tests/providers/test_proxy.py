"""Proxies from the environment: loopback and the simulator bypass them, a request to any
other host goes through them, and a failing proxy is named (without its credentials)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from llmx.errors import TransportError
from llmx.providers.http import Endpoint, HttpEngine
from llmx.providers.openai import OpenAICodec
from llmx.providers.proxy import bypassed, is_loopback, proxy_for, shown
from llmx.sim import SimServer
from llmx.types import Message, Request

REQUEST = Request("m", (Message("user", "hi"),), stream=False)
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
REPLY = json.dumps({"id": "x", "object": "chat.completion", "model": "m", "choices": [
    {"index": 0, "finish_reason": "stop",
     "message": {"role": "assistant", "content": "via proxy"}}]}).encode()


@pytest.fixture(autouse=True)
def _clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.mark.parametrize(("url", "env", "expected"), [
    ("https://api.openai.com/v1", {"HTTPS_PROXY": "http://p:3128"}, "http://p:3128"),
    ("https://api.openai.com/v1", {"https_proxy": "p:3128"}, "http://p:3128"),
    ("https://api.openai.com/v1", {"HTTP_PROXY": "http://p:3128"}, None),
    ("http://gpu.lan:8000/v1", {"HTTP_PROXY": "http://p:1"}, "http://p:1"),
    ("http://gpu.lan:8000/v1", {"ALL_PROXY": "http://p:2"}, "http://p:2"),
    ("http://127.0.0.1:8080/v1", {"HTTP_PROXY": "http://p:1"}, None),
    ("http://127.9.9.9:8080/v1", {"ALL_PROXY": "http://p:1"}, None),
    ("http://localhost:11434", {"HTTP_PROXY": "http://p:1"}, None),
    ("http://[::1]:8080/v1", {"HTTP_PROXY": "http://p:1"}, None),
    ("https://api.openai.com/v1", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "openai.com"},
     None),
    ("https://api.openai.com/v1", {"HTTPS_PROXY": "http://p:1", "no_proxy": "x.org, *"}, None),
    ("https://api.openai.com/v1", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "other.com"},
     "http://p:1"),
])
def test_proxy_for(url: str, env: dict[str, str], expected: str | None) -> None:
    assert proxy_for(url, env) == expected


def test_no_proxy_entries_and_loopback_names() -> None:
    assert bypassed("10.2.3.4", 443, "10.0.0.0/8") and not bypassed("11.0.0.1", 443, "10.0.0.0/8")
    assert bypassed("a.example.com", 8443, "example.com:8443")
    assert not bypassed("a.example.com", 443, "example.com:8443")
    assert not bypassed("notexample.com", 443, "example.com")
    assert is_loopback("LOCALHOST") and is_loopback("::1") and not is_loopback("10.0.0.1")


def test_shown_drops_credentials() -> None:
    assert shown("http://user:s3cret@proxy.corp:3128/path") == "http://proxy.corp:3128"
    assert shown("proxy.corp:8080") == "http://proxy.corp:8080"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def fake_proxy(seen: list[str]) -> AsyncIterator[int]:
    """A proxy on loopback: refuses every CONNECT tunnel (403), answers a plain-http
    request (absolute-form target) itself with a chat completion."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        seen.append(head.split("\r\n", 1)[0])
        if head.startswith("CONNECT"):
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        else:
            length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(REPLY), REPLY))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


def run(go: Callable[[HttpEngine], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        engine = HttpEngine()
        try:
            return await go(engine)
        finally:
            await engine.aclose()

    return asyncio.run(main())


def send(engine: HttpEngine, base_url: str) -> Awaitable[Any]:
    ep = Endpoint(base_url=base_url, retries=0, timeout=5.0)
    codec = OpenAICodec()
    return engine.request(ep, codec.build(REQUEST, None), codec)


def test_a_refused_proxy_is_named_without_its_credentials(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    port = free_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://alice:s3cret@127.0.0.1:{port}")
    with pytest.raises(TransportError) as info:
        run(lambda engine: send(engine, "https://api.example.test/v1"))
    message = str(info.value)
    assert f"via proxy http://127.0.0.1:{port}" in message and "api.example.test" in message
    assert "s3cret" not in message and "alice" not in message


def test_a_tunnel_the_proxy_refuses_is_a_proxy_error(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    ports: list[int] = []

    async def go(engine: HttpEngine) -> None:
        async with fake_proxy(seen) as port:
            ports.append(port)
            monkeypatch.setenv("HTTPS_PROXY", f"http://u:pw@127.0.0.1:{port}")
            await send(engine, "https://api.example.test/v1")

    with pytest.raises(TransportError, match="the proxy failed") as info:
        run(go)
    assert seen == ["CONNECT api.example.test:443 HTTP/1.1"]
    message = str(info.value)
    assert f"via proxy http://127.0.0.1:{ports[0]}" in message and "pw" not in message


def test_plain_http_to_another_host_goes_through_the_proxy(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    seen: list[str] = []

    async def go(engine: HttpEngine) -> Any:
        async with fake_proxy(seen) as port:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
            return await send(engine, "http://gpu.example.test:8000/v1")

    chunk = run(go)
    assert chunk.text == "via proxy"
    assert seen == ["POST http://gpu.example.test:8000/v1/chat/completions HTTP/1.1"]


def test_loopback_and_the_simulator_bypass_a_dead_proxy(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)

    async def go(engine: HttpEngine) -> Any:
        async with SimServer() as sim:
            plain = await send(engine, sim.base_url + "/v1")
            ep = Endpoint(base_url=sim.base_url.replace("127.0.0.1", "localhost") + "/v1",
                          retries=0, http2=True)  # httpx's own transport, not the lean one
            codec = OpenAICodec()
            other = await engine.request(ep, codec.build(REQUEST, None), codec)
            return plain, other

    plain, other = run(go)
    assert plain.text and plain.text == other.text
