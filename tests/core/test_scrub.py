"""``llmx.scrub``: a secret in an answer is masked whole, wherever the stream splits it, and
text that cannot start a secret is never held back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from llmx.errors import mask
from llmx.scrub import Scrubber, scrub, scrub_whole
from llmx.types import Chunk, ToolCall

SECRET = "team-key-0123456789abcdef"
TEXT = f"your key is {SECRET}, and again {SECRET}; keep it safe"


async def _stream(pieces: list[str], finish: bool) -> AsyncIterator[Chunk]:
    for i, piece in enumerate(pieces):
        yield Chunk(text=piece, finish_reason="stop" if finish and i == len(pieces) - 1
                    else None)


def _collect(pieces: list[str], *, finish: bool = True) -> list[Chunk]:
    async def run() -> list[Chunk]:
        return [c async for c in scrub(_stream(pieces, finish), {SECRET})]
    return asyncio.run(run())


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, 24, 25, 26, 80])
@pytest.mark.parametrize("finish", [True, False])
def test_a_secret_split_anywhere_is_masked(size: int, finish: bool) -> None:
    pieces = [TEXT[i:i + size] for i in range(0, len(TEXT), size)]
    out = "".join(c.text for c in _collect(pieces, finish=finish))
    assert out == TEXT.replace(SECRET, mask(SECRET))
    assert SECRET not in out and SECRET[:12] not in out


def test_text_that_cannot_start_a_secret_passes_at_once() -> None:
    scrubber = Scrubber({SECRET})
    assert scrubber.feed("hello world") == "hello world"
    assert scrubber.feed("the te") == "the "  # "te" may begin "team-key-..."
    assert scrubber.feed("a is warm") == "tea is warm"
    assert scrubber.flush() == ""


def test_the_last_chunk_carries_what_was_held() -> None:
    chunks = _collect(["ends with te", "am"])  # "team" may still begin the secret
    assert [c.text for c in chunks] == ["ends with ", "team"]
    assert chunks[-1].finish_reason == "stop"


def test_without_a_secret_the_stream_is_untouched() -> None:
    stream = _stream(["a"], True)
    assert scrub(stream, set()) is stream
    whole = Chunk(text=SECRET)
    assert scrub_whole(whole, set()) is whole


def test_a_whole_reply_masks_text_reasoning_refusal_and_tool_arguments() -> None:
    reply = Chunk(text=TEXT, reasoning=f"I saw {SECRET}", refusal=f"no {SECRET}",
                  tool_calls=(ToolCall("c1", "f", f'{{"k": "{SECRET}"}}'),),
                  finish_reason="stop")
    clean = scrub_whole(reply, {SECRET})
    assert SECRET not in repr(clean)
    assert clean.tool_calls[0].arguments == f'{{"k": "{mask(SECRET)}"}}'


def test_a_secret_split_across_refusal_pieces_is_masked() -> None:
    async def refusing() -> AsyncIterator[Chunk]:
        for i in range(0, len(TEXT), 5):
            yield Chunk(refusal=TEXT[i:i + 5])

    async def run() -> list[Chunk]:
        return [c async for c in scrub(refusing(), {SECRET})]

    out = "".join(c.refusal for c in asyncio.run(run()))
    assert out == TEXT.replace(SECRET, mask(SECRET))


def test_a_stream_cut_off_hands_over_what_was_held_before_its_error() -> None:
    async def cut() -> AsyncIterator[Chunk]:
        yield Chunk(text="the answer so far ends in te")  # "te" may begin the secret
        raise ConnectionResetError("gone")

    async def run() -> tuple[list[str], BaseException | None]:
        got: list[str] = []
        try:
            async for chunk in scrub(cut(), {SECRET}):
                got.append(chunk.text)
        except ConnectionResetError as exc:
            return got, exc
        return got, None

    got, error = asyncio.run(run())
    assert "".join(got) == "the answer so far ends in te" and error is not None
