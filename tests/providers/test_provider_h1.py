"""The HTTP/1.1 response reader of the lean transport, on bytes (no sockets)."""

from __future__ import annotations

import pytest

from llmx.providers.h1 import (
    END,
    LAST_CHUNK,
    NEED_DATA,
    BadHeader,
    BadResponse,
    Head,
    ResponseReader,
    check_headers,
    chunk,
    request_head,
)


def read_all(wire: bytes, *, pieces: int = 1, head_only: bool = False,
             eof: bool = False) -> tuple[list[Head], bytes, ResponseReader]:
    """Feed ``wire`` in ``pieces`` parts (then the end of the connection when ``eof``);
    the heads seen, the body, the reader."""
    reader = ResponseReader()
    reader.expect(head_only=head_only)
    size = max(1, -(-len(wire) // pieces))
    parts = [wire[i:i + size] for i in range(0, len(wire), size)]
    heads: list[Head] = []
    body = b""
    while True:
        event = reader.next_event()
        if event is NEED_DATA:
            if parts:
                reader.feed(parts.pop(0))
                continue
            if eof:
                reader.feed(b"")
                eof = False
                continue
            raise AssertionError("the reader wants more than the response holds")
        if event is END:
            return heads, body, reader
        if isinstance(event, Head):
            heads.append(event)
        else:
            assert isinstance(event, bytes)
            body += event


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"


@pytest.mark.parametrize("pieces", [1, 3, len(OK)])
def test_a_length_framed_response_in_any_number_of_pieces(pieces: int) -> None:
    heads, body, reader = read_all(OK, pieces=pieces)
    (head,) = heads
    assert (head.status_code, head.reason) == (200, b"OK")
    assert head.headers == [(b"Content-Type", b"application/json"), (b"Content-Length", b"7")]
    assert body == b'{"a":1}'
    assert reader.keep_alive() and reader.quiet


@pytest.mark.parametrize("pieces", [1, 4, 60])
def test_a_chunked_response_with_extensions_and_trailers(pieces: int) -> None:
    wire = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;name=x\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: t\r\n\r\n")
    _, body, reader = read_all(wire, pieces=pieces)
    assert body == b"hello world"
    assert reader.keep_alive()


def test_the_chunks_a_client_sends_are_what_the_reader_takes() -> None:
    wire = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunk(b"ab") + chunk(
        b"") + chunk(b"cde") + LAST_CHUNK
    assert read_all(wire)[1] == b"abcde"


def test_without_a_length_the_body_runs_to_the_end_of_the_connection() -> None:
    _, body, reader = read_all(b"HTTP/1.1 200 OK\r\n\r\nall of it", eof=True)
    assert body == b"all of it"
    assert not reader.keep_alive()


@pytest.mark.parametrize("wire", [
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
], ids=["http/1.0", "connection-close"])
def test_a_connection_the_server_will_close_is_not_kept(wire: bytes) -> None:
    _, body, reader = read_all(wire)
    assert body == b"ok"
    assert not reader.keep_alive()


def test_informational_heads_come_before_the_final_one() -> None:
    wire = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK
    heads, body, _ = read_all(wire)
    assert [h.status_code for h in heads] == [103, 200]
    assert body == b'{"a":1}'


@pytest.mark.parametrize(("wire", "head_only"), [
    (b"HTTP/1.1 204 No Content\r\n\r\n", False),
    (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", False),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", True),
], ids=["204", "304", "head"])
def test_responses_without_a_body(wire: bytes, head_only: bool) -> None:
    _, body, reader = read_all(wire, head_only=head_only)
    assert body == b""
    assert reader.keep_alive()


def test_a_folded_header_line_continues_the_last_header() -> None:
    heads, _, _ = read_all(b"HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\nContent-Length: 0\r\n\r\n")
    assert heads[0].headers[0] == (b"X-Long", b"one two")


@pytest.mark.parametrize("wire", [
    b"HTTP/2 200 OK\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
], ids=["version", "status", "header", "two-lengths", "negative-length", "te", "chunk-size",
        "chunk-too-long"])
def test_garbage_is_a_bad_response(wire: bytes) -> None:
    with pytest.raises(BadResponse) as caught:
        read_all(wire)
    assert not caught.value.closed


@pytest.mark.parametrize("wire", [
    b"",
    b"HTTP/1.1 200 OK\r\nContent-Le",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
], ids=["nothing", "mid-head", "mid-body", "mid-chunk"])
def test_a_connection_closed_mid_response_says_so(wire: bytes) -> None:
    with pytest.raises(BadResponse) as caught:
        read_all(wire, eof=True)
    assert caught.value.closed


def test_a_head_too_long_is_refused_before_it_ends() -> None:
    reader = ResponseReader()
    reader.expect()
    reader.feed(b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 70_000)
    with pytest.raises(BadResponse, match="too long"):
        reader.next_event()


def test_bytes_past_the_response_stay_unread_and_spoil_the_connection() -> None:
    reader = ResponseReader()
    reader.expect()
    reader.feed(OK + b"HTTP/1.1")
    assert isinstance(reader.next_event(), Head)
    assert reader.next_event() == b'{"a":1}'
    assert reader.next_event() is END
    assert not reader.quiet


def test_the_request_head_is_the_usual_wire_form() -> None:
    assert request_head(b"POST", b"/v1/x?y=1", [(b"Host", b"h:1"), (b"Content-Length", b"2")]) \
        == b"POST /v1/x?y=1 HTTP/1.1\r\nHost: h:1\r\nContent-Length: 2\r\n\r\n"


def test_a_shorter_wait_after_a_longer_one_still_times_out_on_time() -> None:
    """One timer per connection: a wait that ends sooner than the armed timer re-arms it;
    after a wait timed out, the next wait arms it again and its data still arrives."""
    import asyncio
    import time

    import httpx

    from llmx.providers.connection import Connection

    async def main() -> tuple[float, bytes]:
        conn = Connection()
        conn.reader.expect()
        first = asyncio.ensure_future(conn.next_event(30.0))  # arms the timer 30 s out
        await asyncio.sleep(0)
        conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
        assert isinstance(await first, Head)
        began = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await conn.next_event(0.05)  # sooner than the armed timer: re-armed
        took = time.monotonic() - began
        late = asyncio.ensure_future(conn.next_event(0.3))
        await asyncio.sleep(0.1)
        conn.data_received(b"ok")
        return took, await late

    took, body = asyncio.run(main())
    assert 0.04 <= took < 5.0
    assert body == b"ok"


@pytest.mark.parametrize("header", [
    (b"X-Evil\r\nHost", b"1"), (b"Bad Name", b"1"), (b"", b"1"), (b"X", b"a\r\nb: 2"),
    (b"X", b"nul\x00"), (b"X", b" leading"), (b"X", b"trailing "), (b"X", b"bell\x07"),
], ids=["crlf-name", "space-name", "empty-name", "crlf-value", "nul", "leading", "trailing",
        "control"])
def test_headers_http_cannot_carry_are_refused(header: tuple[bytes, bytes]) -> None:
    with pytest.raises(BadHeader):
        check_headers([(b"Host", b"h"), header])


def test_ordinary_headers_pass() -> None:
    check_headers([(b"Authorization", b"Bearer sk-x"), (b"X-Empty", b""),
                   (b"User-Agent", b"llmx/1 (a\tb) caf\xc3\xa9"), (b"x-api-key", b"k")])
