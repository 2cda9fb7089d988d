"""The few ASGI moves the proxy makes: read a body, answer with JSON or text, stream events.

``Exchange`` wraps one HTTP request's ``scope`` / ``receive`` / ``send`` and remembers the
status it sent (for the access log and the metrics). Nothing here knows llmx.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 32 * 1024 * 1024  # a request body above this is refused (413)


class BodyTooLarge(Exception):
    pass


class Disconnected(Exception):
    """The client went away before its request body arrived."""


class Exchange:
    __slots__ = ("_receive", "_send", "headers", "method", "path", "status")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                        for name, value in scope.get("headers", ())}
        self._receive, self._send = receive, send
        self.status = 0

    async def body(self) -> bytes:
        chunks, size = [], 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def start(self, status: int, content_type: str,
                    extra: tuple[tuple[str, str], ...] = ()) -> None:
        self.status = status
        headers = [(b"content-type", content_type.encode())]
        headers += [(name.encode(), value.encode()) for name, value in extra]
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def write(self, data: bytes, *, more: bool = True) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": more})

    async def json(self, status: int, data: Any,
                   extra: tuple[tuple[str, str], ...] = ()) -> None:
        await self.start(status, "application/json", extra)
        await self.write(json.dumps(data, separators=(",", ":")).encode(), more=False)

    async def text(self, status: int, text: str, content_type: str = "text/plain") -> None:
        await self.start(status, f"{content_type}; charset=utf-8")
        await self.write(text.encode(), more=False)
