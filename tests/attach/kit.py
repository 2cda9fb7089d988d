"""Images for the attachment tests, and a loopback server that records what llmx sends.

``png(w, h)`` is a real PNG (the others are the smallest byte strings each format's
signature makes: enough for sniffing, which is all llmx does with them). ``Recorder`` is a
``ThreadingHTTPServer`` on 127.0.0.1: a GET of a path in ``files`` answers those bytes;
a POST is kept in ``bodies`` (parsed JSON) and forwarded to ``upstream`` (a real
``llmx sim``), whose answer goes back unchanged, so a test reads the exact request body
and gets the simulator's reply to it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.cli.canned import serving


def png(width: int = 2, height: int = 2) -> bytes:
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 32 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"
        b"/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")


class Recorder:
    """What the server saw and serves (see the module docstring)."""

    def __init__(self, upstream: str | None) -> None:
        self.upstream = upstream
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.files: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.url = ""

    def serve(self, path: str, data: bytes, status: int = 200,
              headers: dict[str, str] | None = None) -> str:
        self.files[path] = (status, data, headers or {})
        return self.url + path

    def forward(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
        assert self.upstream is not None, "no upstream simulator"
        where = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=30)
        try:
            conn.request("POST", path, body, headers)
            reply = conn.getresponse()
            return reply.status, reply.getheader("content-type", ""), reply.read()
        finally:
            conn.close()


def _handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            recorder.paths.append(self.path)
            status, data, extra = recorder.files.get(self.path, (404, b"not found", {}))
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            if not {"Content-Length", "Connection"} & extra.keys():  # "close": no length
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            # the client may stop reading (an oversized image): that is what is tested
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            recorder.bodies.append(json.loads(body))
            keep = {k: v for k, v in self.headers.items()
                    if k.lower() in ("content-type", "authorization", "x-api-key",
                                     "anthropic-version")}
            status, kind, reply = recorder.forward(self.path, body, keep)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def recording(upstream: str | None = None) -> Iterator[Recorder]:
    recorder = Recorder(upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder))
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield recorder
