"""Calls over ``H11Transport`` without httpx's Request and Response objects.

``LeanRoute.send`` turns an ``HttpCall`` into a request head (headers validated once per
distinct set, ``h1.BadHeader`` before anything is sent; targets resolved once per path)
and hands back a ``LeanReply``: the status, the headers as a case-insensitive mapping,
and the body as it arrives, decoded from ``gzip`` / ``deflate`` when the server
compressed it. On the wire a call is what httpx
would send: the same headers, the same target, ``Content-Length`` for a body.

Failures are the transport's httpx exceptions (``HttpEngine`` maps them once), plus
``httpx.DecodingError`` for a body that does not decompress.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping

import httpx

from llmx.providers.h1 import check_headers, request_head
from llmx.providers.transport import H11Transport, ResponseStream

_CACHED = 64  # distinct header sets / targets remembered per route (codecs use a handful)


class ReplyHeaders(Mapping[str, str]):
    """Response headers by lower-case name; repeated headers joined with ``", "``. Decoded
    on the first look-up by name (a plain 200 is only asked whether it is compressed)."""

    __slots__ = ("_items", "_raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw
        self._items: dict[str, str] | None = None

    def _decoded(self) -> dict[str, str]:
        items = self._items
        if items is None:
            items = self._items = {}
            for name, value in self._raw:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                items[key] = f"{items[key]}, {text}" if key in items else text
        return items

    def __getitem__(self, name: str) -> str:
        return self._decoded()[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if self._items is not None:
            return name.lower() in self._items
        wanted = name.lower().encode("latin-1", "replace")
        return any(raw.lower() == wanted for raw, _ in self._raw)


class LeanReply:
    """One response: ``status_code``, ``headers``; the body via ``aread`` / ``aiter_bytes``.

    Read the body to its end or ``aclose`` it; ``content`` is the body after ``aread``.
    """

    __slots__ = ("_content", "_stream", "headers", "status_code")

    def __init__(self, status_code: int, headers: ReplyHeaders, stream: ResponseStream) -> None:
        self.status_code = status_code
        self.headers = headers
        self._stream = stream
        self._content: bytes | None = None

    @property
    def content(self) -> bytes:
        if self._content is None:
            raise RuntimeError("the body has not been read (await aread() first)")
        return self._content

    async def aread(self) -> bytes:
        if self._content is None:
            if "content-encoding" not in self.headers:  # no generators on the common path
                self._content = await self._stream.read()
            else:
                self._content = b"".join([part async for part in self.aiter_bytes()])
        return self._content

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive, decompressed; a body the server did not
        compress is the stream itself (no generator between it and each chunk's decoder)."""
        decoder = _decoder(self.headers.get("content-encoding", ""))
        return aiter(self._stream) if decoder is None else self._inflated(decoder)

    async def _inflated(self, decoder: _Inflate) -> AsyncIterator[bytes]:
        async for part in self._stream:
            data = decoder.feed(part)
            if data:
                yield data
        tail = decoder.close()
        if tail:
            yield tail

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Inflate:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        self._started = False

    def feed(self, data: bytes) -> bytes:
        try:
            if not self._started and not self._gzip:
                self._started = True
                try:
                    return self._zlib.decompress(data)
                except zlib.error:
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._zlib.decompress(data)
        except zlib.error as exc:
            raise httpx.DecodingError(f"bad compressed body: {exc}") from exc

    def close(self) -> bytes:
        try:
            return self._zlib.flush()
        except zlib.error as exc:
            raise httpx.DecodingError(f"bad compressed body: {exc}") from exc


def _decoder(encoding: str) -> _Inflate | None:
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return None
    if name in ("gzip", "x-gzip", "deflate"):
        return _Inflate(gzip=name != "deflate")
    raise httpx.DecodingError(f"unsupported content-encoding {encoding!r}")


class LeanRoute:
    """Sends calls to one base URL over an ``H11Transport``.

    ``base`` is an absolute ``http://`` URL ending in ``/``; a call's relative path is
    joined to it as httpx joins a client's ``base_url``; an absolute path is used as is.
    """

    def __init__(self, transport: H11Transport, base: str,
                 timeouts: Mapping[str, float | None],
                 defaults: Mapping[str, str]) -> None:
        self.transport = transport
        self._base = base
        self._timeouts = dict(timeouts)
        self._defaults = [(k.encode("ascii"), v.encode("ascii")) for k, v in defaults.items()]
        self._targets: dict[str, tuple[str, int, bytes, bytes]] = {}
        self._heads: dict[tuple[tuple[str, str], ...], list[tuple[bytes, bytes]]] = {}

    async def send(self, method: str, path: str, headers: Mapping[str, str], body: bytes,
                   *, stream: bool) -> LeanReply:
        """Send one call; with ``stream`` False the body has been read (``content``)."""
        host, port, netloc, target = self._target(path)
        fields = [(b"Host", netloc), *self._checked(headers)]
        if body or method in ("POST", "PUT", "PATCH"):
            fields.append((b"Content-Length", b"%d" % len(body)))
        head = request_head(method.encode(), target, fields)
        reply, chunks = await self.transport.exchange(host, port, head, body, self._timeouts,
                                                      head_only=method == "HEAD")
        answer = LeanReply(reply.status_code, ReplyHeaders(reply.headers), chunks)
        if not stream:
            try:
                await answer.aread()
            finally:
                await answer.aclose()
        return answer

    def warm(self, n: int) -> Awaitable[int]:
        """Open connections to the base URL's origin until ``n`` are open (see
        ``H11Transport.warm``); await it for how many were opened."""
        host, port, _, _ = self._target("")
        return self.transport.warm(host, port, n, self._timeouts)

    def _target(self, path: str) -> tuple[str, int, bytes, bytes]:
        """``(host, port, Host header, request target)`` for a call's path, as httpx has it."""
        found = self._targets.get(path)
        if found is None:
            absolute = path.startswith(("http://", "https://"))  # e.g. a results_url
            url = httpx.URL(path) if absolute else httpx.URL(self._base).join(path)
            if url.scheme != "http":
                raise httpx.UnsupportedProtocol(
                    f"the lean transport speaks plain http only, not {url.scheme!r}")
            found = (url.host, url.port or 80, url.netloc, url.raw_path)
            if len(self._targets) < _CACHED:
                self._targets[path] = found
        return found

    def _checked(self, headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
        """The default headers (unless the call sets them) then the call's, as bytes
        ``check_headers`` has validated (once per distinct set)."""
        key = tuple(headers.items())
        found = self._heads.get(key)
        if found is None:
            own = {name.lower() for name, _ in key}
            found = [(k, v) for k, v in self._defaults if k.decode().lower() not in own]
            found += [(k.encode("ascii"), v.encode("ascii")) for k, v in key]
            check_headers(found)
            if len(self._heads) < _CACHED:
                self._heads[key] = found
        return found
