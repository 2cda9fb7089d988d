"""The incremental SSE parser and NDJSON splitter, on hand-written streams."""

from __future__ import annotations

import json

import pytest

from llmx.errors import StreamError
from llmx.providers.ndjson import NdjsonSplitter
from llmx.providers.sse import SseEvent, SseParser
from tests.providers.capture_kit import bytewise, two_piece_splits


def parse(pieces: list[bytes]) -> list[SseEvent]:
    parser = SseParser()
    events = [e for piece in pieces for e in parser.feed(piece)]
    return events + parser.close()


def parse_every_way(body: bytes) -> list[SseEvent]:
    """Parse whole, byte by byte and split at every offset; all must agree."""
    whole = parse([body])
    assert parse(bytewise(body)) == whole
    for offset, pieces in two_piece_splits(body):
        assert parse(pieces) == whole, f"split at byte {offset}"
    return whole


def test_events_names_and_default_type() -> None:
    body = b"event: ping\ndata: {}\n\ndata: plain\n\n"
    assert parse_every_way(body) == [SseEvent("{}", "ping"), SseEvent("plain", "message")]


def test_comments_are_ignored() -> None:
    body = b": keep-alive\n\n:OPENROUTER PROCESSING\ndata: x\n: inside\n\n"
    assert parse_every_way(body) == [SseEvent("x")]


def test_multi_line_data_joined_with_newline() -> None:
    body = b"data: one\ndata:two\ndata:  three\ndata\n\n"
    assert parse_every_way(body) == [SseEvent("one\ntwo\n three\n")]


def test_only_one_space_after_colon_is_removed() -> None:
    assert parse_every_way(b"data:   x\n\n") == [SseEvent("  x")]


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_line_ends(end: bytes) -> None:
    body = end.join([b"event: a", b"data: 1", b"", b"data: 2", b"data: 3", b"", b""])
    assert parse_every_way(body) == [SseEvent("1", "a"), SseEvent("2\n3")]


def test_mixed_line_ends_and_cr_at_piece_end() -> None:
    body = b"data: a\r\n\r\ndata: b\r\rdata: c\n\r\n"
    assert parse_every_way(body) == [SseEvent("a"), SseEvent("b"), SseEvent("c")]
    # A CR ending one piece and an LF starting the next are one line end, not two.
    assert parse([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]) == [SseEvent("a\nb")]


def test_multibyte_utf8_split_anywhere() -> None:
    text = "héllo wörld — 日本語 🎉"
    body = f"event: ünï\ndata: {text}\n\n".encode()
    assert parse_every_way(body) == [SseEvent(text, "ünï")]


def test_leading_bom_is_dropped_and_invalid_utf8_replaced() -> None:
    assert parse_every_way(b"\xef\xbb\xbfdata: a\n\n") == [SseEvent("a")]
    assert parse([b"data: \xff\n\n"]) == [SseEvent("\ufffd")]


def test_other_fields_ignored_and_blank_events_not_dispatched() -> None:
    body = b"id: 7\nretry: 10\nfoo: bar\n\n\n\ndata: x\n\n"
    assert parse_every_way(body) == [SseEvent("x")]


def test_event_without_data_is_still_dispatched() -> None:
    assert parse_every_way(b"event: error\n\n") == [SseEvent("", "error")]


def test_close_dispatches_an_unterminated_last_event() -> None:
    assert parse([b"data: [DONE]"]) == [SseEvent("[DONE]")]
    assert parse([b"data: a\n"]) == [SseEvent("a")]
    assert parse([b""]) == []


def test_events_are_returned_as_soon_as_complete() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\n") == []
    assert parser.feed(b"\ndata: b") == [SseEvent("a")]
    assert parser.feed(b"\n\n") == [SseEvent("b")]


def test_long_line_fed_in_tiny_pieces() -> None:
    payload = "x" * 50_000 + "é"
    body = f"data: {payload}\n\n".encode()
    pieces = [body[i : i + 3] for i in range(0, len(body), 3)]
    assert parse(pieces) == [SseEvent(payload)]


# --- NDJSON -------------------------------------------------------------------------


def split_lines(pieces: list[bytes]) -> list[object]:
    splitter = NdjsonSplitter()
    values = [v for piece in pieces for v in splitter.feed(piece)]
    return values + splitter.close()


def test_ndjson_any_split_including_inside_utf8() -> None:
    objects = [{"t": "héllo 日本 🎉"}, {"n": 1}, [1, 2], {"done": True}]
    body = b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objects)
    assert split_lines([body]) == objects
    assert split_lines(bytewise(body)) == objects
    for offset, pieces in two_piece_splits(body):
        assert split_lines(pieces) == objects, f"split at byte {offset}"


def test_ndjson_crlf_blank_lines_and_missing_final_newline() -> None:
    assert split_lines([b'{"a":1}\r\n\r\n\n{"b":2}']) == [{"a": 1}, {"b": 2}]


def test_ndjson_invalid_line_raises_stream_error() -> None:
    splitter = NdjsonSplitter()
    with pytest.raises(StreamError, match="not valid JSON"):
        splitter.feed(b'{"a":1}\n<html>\n')
