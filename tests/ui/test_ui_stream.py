"""PipeSink, the broken-pipe path and make_sink's choice of sink."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmx.ui.stream import OutputClosed, PipeSink, discard_output, make_sink, raw_requested
from tests.ui.terminal import visible_text

REPO = Path(__file__).resolve().parents[2]


class RecordingStream(io.StringIO):
    """A text stream that records every write and every flush, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def write(self, s: str) -> int:
        self.events.append("write:" + s)
        return super().write(s)

    def flush(self) -> None:
        self.events.append("flush")
        super().flush()


class BrokenStream(io.StringIO):
    def __init__(self, *, on: str) -> None:
        super().__init__()
        self.on = on

    def write(self, s: str) -> int:
        if self.on == "write":
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(s)

    def flush(self) -> None:
        if self.on == "flush":
            raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (["Hel", "lo, ", "world"], "Hello, world\n"),
        (["line one\n", "line two\n"], "line one\nline two\n"),
        (["ends with two\n\n"], "ends with two\n\n"),
        (["# not *rendered*\n", "```\ncode\n```"], "# not *rendered*\n```\ncode\n```\n"),
        (["\x1b[1mverbatim\x1b[0m"], "\x1b[1mverbatim\x1b[0m\n"),
        (["", "a", ""], "a\n"),
        ([], ""),
        ([""], ""),
    ],
)
def test_pipe_sink_writes_the_chunks_verbatim_plus_one_final_newline(
    chunks: list[str], expected: str
) -> None:
    stream = io.StringIO()
    sink = PipeSink(stream)
    for chunk in chunks:
        sink.write(chunk)
    sink.close()
    sink.close()  # idempotent
    assert stream.getvalue() == expected


def test_pipe_sink_flushes_after_every_chunk() -> None:
    stream = RecordingStream()
    sink = PipeSink(stream)
    for chunk in ["a", "bc", "d\n"]:
        sink.write(chunk)
    assert stream.events == ["write:a", "flush", "write:bc", "flush", "write:d\n", "flush"]
    sink.close()
    assert stream.events[-1] == "flush"
    assert stream.getvalue() == "abcd\n"


@pytest.mark.parametrize("on", ["write", "flush"])
def test_broken_pipe_becomes_output_closed(on: str) -> None:
    sink = PipeSink(BrokenStream(on=on))
    with pytest.raises(OutputClosed):
        sink.write("text")


def test_broken_pipe_at_close_becomes_output_closed() -> None:
    stream = BrokenStream(on="none")
    sink = PipeSink(stream)
    sink.write("no newline yet")
    stream.on = "write"
    with pytest.raises(OutputClosed):
        sink.close()


def test_closed_reader_gives_a_quiet_exit_in_a_real_pipe() -> None:
    """`llmx ask ... | head -1`: the writer stops without a traceback or warning."""
    child = textwrap.dedent(
        """
        import sys
        from llmx.ui.stream import OutputClosed, PipeSink, discard_output
        sink = PipeSink(sys.stdout)
        try:
            for i in range(200000):
                sink.write(f"line {i}\\n")
            sink.close()
        except OutputClosed:
            discard_output(sys.stdout)
            sys.exit(0)
        sys.exit(3)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"line 0\n"
    proc.stdout.close()  # the reader goes away, like `head -1`
    stderr = proc.stderr.read()
    assert proc.wait(timeout=30) == 0
    assert stderr == b""


def test_discard_output_ignores_streams_without_a_descriptor() -> None:
    discard_output(io.StringIO())  # must not raise


def test_stream_module_does_not_import_rich() -> None:
    code = (
        "import io, sys\n"
        "from llmx.ui.stream import make_sink\n"
        "sink = make_sink(io.StringIO(), is_tty=False, env={})\n"
        "sink.write('x'); sink.close()\n"
        "print(sorted(m for m in sys.modules if m == 'rich' or m.startswith('rich.')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"


def test_make_sink_picks_raw_text_for_a_pipe() -> None:
    sink = make_sink(io.StringIO(), is_tty=False, env={"TERM": "xterm-256color"})
    assert isinstance(sink, PipeSink)


def test_make_sink_picks_markdown_for_a_terminal() -> None:
    from llmx.ui.markdown import MarkdownSink

    stream = io.StringIO()
    sink = make_sink(stream, is_tty=True, env={"TERM": "xterm-256color"}, width=72)
    assert isinstance(sink, MarkdownSink)
    sink.write("# Title\n\nSome **bold** text.\n\n" + "word " * 60)
    sink.close()
    out = stream.getvalue()
    assert "**" not in out and "# Title" not in out  # rendered, not raw
    assert "\x1b[" in out  # styled for a terminal
    screen = visible_text(out).split("\n")
    assert "Title" in screen[0] and "Some bold text." in screen
    assert 66 <= max(len(line) for line in screen) <= 72  # wrapped at the given width


@pytest.mark.parametrize(
    "env",
    [
        {"TERM": "xterm", "LLMX_RAW": "1"},
        {"TERM": "xterm", "LLMX_RAW": "yes"},
        {"TERM": "dumb"},
        {"TERM": "unknown"},
    ],
)
def test_make_sink_honours_raw_requests_on_a_terminal(env: dict[str, str]) -> None:
    assert raw_requested(env)
    assert isinstance(make_sink(io.StringIO(), is_tty=True, env=env), PipeSink)


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off"])
def test_llmx_raw_falsy_values_keep_markdown(value: str) -> None:
    assert not raw_requested({"TERM": "xterm", "LLMX_RAW": value})


def test_no_color_keeps_markdown_layout_but_drops_colour() -> None:
    from llmx.ui.markdown import MarkdownSink

    stream = io.StringIO()
    env = {"TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "1"}
    sink = make_sink(stream, is_tty=True, env=env, width=60)
    assert isinstance(sink, MarkdownSink)
    sink.write("Some **bold**\n\n```python\nx = 1\n```\n")
    sink.close()
    out = stream.getvalue()
    assert "**" not in out and "```" not in out
    params = [p for sgr in re.findall(r"\x1b\[([0-9;]*)m", out) for p in sgr.split(";") if p]
    assert params, "expected styles such as bold"
    colours = [p for p in params if 30 <= int(p) <= 49 or 90 <= int(p) <= 107]
    assert colours == []
