"""A loopback OpenAI chat-completions server whose answers a test decides.

``canned(answer)`` serves on 127.0.0.1 and yields its base URL (without ``/v1``); each
POST is answered with ``answer(headers, request)``'s text, streamed in small SSE pieces
when the request asks for a stream, else as one JSON completion.

``serving(server)`` runs any ``socketserver`` server in a thread for a ``with`` block.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseServer
from typing import Any

Answer = Callable[[Mapping[str, str], dict[str, Any]], str]


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    obj = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _reply(text: str, stream: bool) -> tuple[str, bytes]:
    if stream:
        pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
        return "text/event-stream", (_chunk({"role": "assistant", "content": ""})
                                     + b"".join(_chunk({"content": p}) for p in pieces)
                                     + _chunk({}, "stop") + b"data: [DONE]\n\n")
    return "application/json", json.dumps({
        "id": "c1", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 9}}).encode()


@contextmanager
def canned(answer: Answer) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["content-length"])))
            headers = {k.lower(): v for k, v in self.headers.items()}
            kind, body = _reply(answer(headers, request), bool(request.get("stream")))
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


# How often the serving thread looks for a shutdown request between connections: the
# default (0.5 s) made every test that stops a server wait half a second at its end.
POLL_INTERVAL = 0.01


@contextmanager
def serving(server: BaseServer) -> Iterator[BaseServer]:
    """``server`` answering in a daemon thread inside the block; stopped and closed after."""
    thread = threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
