"""The client half of HTTP/1.1 on bytes, for ``Connection``: a request head out, a response in.

h11 (which the simulator's server keeps) spent ~140 us of CPU per request here, as much as
the rest of a batch line's client work; this reader does the same job in a few
microseconds for the responses llmx meets: a status line and headers, then a body framed by
``Content-Length``, by ``Transfer-Encoding: chunked`` (trailers read and dropped) or by
the end of the connection. 1xx responses are skipped; 204, 304 and answers to ``HEAD``
have no body.

Header sets are checked here too (``check_headers``), so a client process never imports
h11 (~90 ms of CPU at import on this machine, its grammar compiled into regexes).

``ResponseReader`` is fed bytes (``b""`` for the end of the connection) and gives, in
order, one ``Head``, then the body as ``bytes`` parts, then ``END``; ``NEED_DATA`` means
"feed me more". Anything it cannot read raises ``BadResponse`` (``closed`` tells a
response cut by the end of the connection from garbage). ``keep_alive`` says whether the
connection may carry the next request once ``END`` was given.
"""

from __future__ import annotations

import re

NEED_DATA = object()  # the reader needs more bytes
END = object()  # the response is complete

_MAX_HEAD = 64 * 1024  # bytes of a response head (status line + headers) at most
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110 token)
_FIELD_VALUE = re.compile(rb"(?:[\x21-\x7e\x80-\xff](?:[ \t]+[\x21-\x7e\x80-\xff])*)*")
_STATUS = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: (.*))?")
_HEAD_END = b"\r\n\r\n"
_NO_BODY = (204, 304)

# reader phases
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


class BadResponse(Exception):
    """The server broke HTTP/1.1 (``closed`` False) or closed mid-response (True)."""

    def __init__(self, message: str, *, closed: bool = False) -> None:
        super().__init__(message)
        self.closed = closed


class BadHeader(ValueError):
    """A request header that HTTP/1.1 cannot carry (a line break in a value, a space in a
    name): refused before anything is sent."""


def check_headers(headers: list[tuple[bytes, bytes]]) -> None:
    """``BadHeader`` unless every name is a token and every value a field value (visible
    characters, single spaces or tabs between them: no CR, LF or NUL, no edge blanks)."""
    for name, value in headers:
        if _TOKEN.fullmatch(name) is None:
            raise BadHeader(f"illegal header name {name[:40]!r}")
        if _FIELD_VALUE.fullmatch(value) is None:
            raise BadHeader(f"illegal value for header {name[:40]!r}")


class Head:
    """A response's status line and headers (names as sent, in order)."""

    __slots__ = ("headers", "reason", "status_code")

    def __init__(self, status_code: int, reason: bytes, headers: list[tuple[bytes, bytes]]
                 ) -> None:
        self.status_code, self.reason, self.headers = status_code, reason, headers


def request_head(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The bytes of a request head; the headers must already be valid (see ``lean``)."""
    lines = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def chunk(data: bytes) -> bytes:
    """One part of a chunked request body (empty parts are skipped: b"" ends a body)."""
    return b"%x\r\n%b\r\n" % (len(data), data) if data else b""


LAST_CHUNK = b"0\r\n\r\n"


class ResponseReader:
    """One connection's responses, one after another (see the module docstring)."""

    __slots__ = ("_buf", "_close", "_eof", "_head_only", "_left", "_phase")

    def __init__(self) -> None:
        self._buf = b""
        self._eof = False
        self._phase = _DONE  # no request sent yet
        self._left = 0  # body bytes (or chunk bytes) still to come
        self._close = False  # the connection ends after this response
        self._head_only = False

    def expect(self, *, head_only: bool = False, close: bool = False) -> None:
        """A request was sent: read its response next (``head_only``: it was a HEAD)."""
        self._phase = _HEAD
        self._head_only, self._close = head_only, close

    @property
    def started(self) -> bool:
        """Whether a response head has been read for the request in progress."""
        return self._phase != _HEAD

    @property
    def done(self) -> bool:
        return self._phase == _DONE

    @property
    def quiet(self) -> bool:
        """No unread bytes and no end of connection seen."""
        return not self._buf and not self._eof

    def keep_alive(self) -> bool:
        """After ``END``: may the connection carry another request?"""
        return self._phase == _DONE and not self._close and not self._eof

    def feed(self, data: bytes) -> None:
        """More bytes from the server; ``b""`` when it closed the connection."""
        if data:
            self._buf = self._buf + data if self._buf else data
        else:
            self._eof = True

    def next_event(self) -> object:
        """A ``Head``, a body part (``bytes``), ``END`` or ``NEED_DATA``."""
        phase = self._phase
        if phase == _HEAD:
            return self._head()
        if phase == _LENGTH:
            return self._length()
        if phase == _UNTIL_CLOSE:
            return self._until_close()
        if phase == _DONE:
            return END
        return self._chunked()

    # -- head -------------------------------------------------------------------------------

    def _head(self) -> object:
        block = self._until(_HEAD_END, "the response head")
        if block is None:
            return NEED_DATA
        lines = block.split(b"\r\n")
        found = _STATUS.fullmatch(lines[0])
        if found is None:
            raise BadResponse(f"bad status line {lines[0][:80]!r}")
        minor, code, reason = found.groups()
        status = int(code)
        headers = _headers(lines)
        if status < 200:
            return Head(status, reason or b"", headers)  # informational: the head comes next
        self._frame(status, headers, minor == b"1")
        return Head(status, reason or b"", headers)

    def _frame(self, status: int, headers: list[tuple[bytes, bytes]], http11: bool) -> None:
        """How the body of this response ends, and whether the connection is kept."""
        length: bytes | None = None
        chunked = False
        for name, value in headers:
            lower = name.lower()
            if lower == b"content-length":
                if length is not None and value.strip() != length:
                    raise BadResponse("conflicting Content-Length headers")
                length = value.strip()
            elif lower == b"transfer-encoding":
                chunked = value.strip().lower() == b"chunked"
                if not chunked:
                    raise BadResponse(f"unsupported transfer-encoding {value[:40]!r}")
            elif lower == b"connection" and b"close" in value.lower():
                self._close = True
        if not http11:
            self._close = True
        if self._head_only or status in _NO_BODY:
            self._phase = _DONE
        elif chunked:
            self._phase = _CHUNK_SIZE
        elif length is not None:
            if not length.isdigit():
                raise BadResponse(f"bad Content-Length {length[:40]!r}")
            self._left = int(length)
            self._phase = _LENGTH if self._left else _DONE
        else:
            self._close = True
            self._phase = _UNTIL_CLOSE

    # -- bodies -----------------------------------------------------------------------------

    def _length(self) -> object:
        part = self._part()
        if part is not None and not self._left:
            self._phase = _DONE
        return NEED_DATA if part is None else part

    def _until_close(self) -> object:
        if self._buf:
            part, self._buf = self._buf, b""
            return part
        if self._eof:
            self._phase = _DONE
            return END
        return NEED_DATA

    def _chunked(self) -> object:
        while True:
            phase = self._phase
            if phase == _CHUNK_DATA:
                return self._chunk_data()
            line = self._line()
            if line is None:
                return NEED_DATA
            if phase == _CHUNK_SIZE:
                size = line.split(b";", 1)[0].strip()
                try:
                    self._left = int(size, 16)
                except ValueError:
                    raise BadResponse(f"bad chunk size {size[:20]!r}") from None
                self._phase = _CHUNK_DATA if self._left else _TRAILERS
            elif phase == _CHUNK_END:
                if line:
                    raise BadResponse("a chunk is longer than its size")
                self._phase = _CHUNK_SIZE
            elif not line:  # _TRAILERS: an empty line ends them
                self._phase = _DONE
                return END

    def _chunk_data(self) -> object:
        part = self._part()
        if part is not None and not self._left:
            self._phase = _CHUNK_END
        return NEED_DATA if part is None else part

    def _part(self) -> bytes | None:
        """Up to ``_left`` body bytes from the buffer; None when it is empty."""
        buf = self._buf
        if not buf:
            if self._eof:
                raise BadResponse("the server closed the connection mid-body", closed=True)
            return None
        left = self._left
        if len(buf) <= left:
            part, self._buf = buf, b""
        else:
            part, self._buf = buf[:left], buf[left:]
        self._left = left - len(part)
        return part

    def _line(self) -> bytes | None:
        return self._until(b"\r\n", "a chunk line")

    def _until(self, end: bytes, what: str) -> bytes | None:
        """The buffer up to ``end`` (taken, with ``end``); None until it has arrived."""
        buf = self._buf
        at = buf.find(end)
        if at < 0:
            if len(buf) > _MAX_HEAD:
                raise BadResponse(f"{what} is too long")
            if self._eof:
                raise BadResponse(f"the server closed the connection in {what}", closed=True)
            return None
        self._buf = buf[at + len(end):]
        return buf[:at]


def _headers(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):  # an obsolete folded line continues the last header
            if not headers:
                raise BadResponse("a folded header line comes first")
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise BadResponse(f"bad header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return headers
