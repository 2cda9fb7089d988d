from __future__ import annotations

import io
import os

import pytest

from llmx.cli._io import Io
from llmx.cli._stdin import context_ready
from llmx.cli.ask import AskArgs, gather_prompt
from llmx.errors import UsageError
from llmx.values import replaced
from tests.cli.harness import memory_io


def make_io(data: bytes, tty: bool = False) -> Io:
    return memory_io(stdin=data, stdin_is_tty=tty).io


def test_piped_stdin_is_appended_as_context() -> None:
    text = gather_prompt(AskArgs(prompt=("summarize",)), make_io(b"notes line\n"))
    assert text.startswith("summarize")
    assert "notes line" in text


def test_dash_makes_stdin_the_prompt() -> None:
    assert gather_prompt(AskArgs(prompt=("-",)), make_io(b"the question")) == "the question"


def test_no_argument_and_piped_stdin_is_the_prompt() -> None:
    assert gather_prompt(AskArgs(), make_io(b"from pipe")) == "from pipe"


def test_no_prompt_on_a_terminal_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no prompt"):
        gather_prompt(AskArgs(), make_io(b"", tty=True))


def test_invalid_utf8_names_the_offset() -> None:
    with pytest.raises(UsageError, match=r"not valid UTF-8 \(byte 0xff at offset 3\)"):
        gather_prompt(AskArgs(prompt=("-",)), make_io(b"abc\xffdef"))


def test_no_stdin_flag_never_reads() -> None:
    stream = io.BytesIO(b"context")
    assert gather_prompt(AskArgs(prompt=("q",), stdin=False), make_io(b"context")) == "q"
    assert not context_ready(stream, wait=False)


def test_a_pipe_that_never_closes_does_not_hang_and_says_so() -> None:
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(read_end, "rb", buffering=0) as stream:
            assert not context_ready(stream, wait=None, grace=0.05)
    finally:
        os.close(write_end)


def test_a_silent_pipe_is_ignored_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("llmx.cli.ask.context_ready", lambda stream, wait: False)
    streams = memory_io()
    assert gather_prompt(AskArgs(prompt=("q",)), streams.io) == "q"
    assert "ignoring it" in streams.err()


def test_a_pipe_with_data_is_ready_and_read_to_eof() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"first\n")
    os.write(write_end, b"second\n")
    os.close(write_end)
    with os.fdopen(read_end, "rb", buffering=0) as stream:
        assert context_ready(stream, wait=None, grace=1.0)
        streams = replaced(memory_io().io, stdin=stream)
        text = gather_prompt(AskArgs(prompt=("q",), stdin=True), streams)
    assert text == "q\n\nfirst\nsecond\n"
