"""MarkdownSink: streamed answers look exactly like Rich rendering the whole answer,
and the rendering work stays linear in the answer's length."""

from __future__ import annotations

import io
import random
import threading
from collections.abc import Iterator

import pytest
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.syntax import Syntax

import llmx.ui.markdown as md_module
from llmx.ui.blocks import BlockSplitter
from llmx.ui.markdown import MarkdownSink, terminal_console
from llmx.ui.stream import OutputClosed
from tests.ui.terminal import visible_text

WIDTH = 70
HEIGHT = 14

CODE_LINES = "\n".join(
    f"    value_{i} = compute({i}, 'text {i}')  # {'note ' * (i % 11)}" if i % 6 else ""
    for i in range(70)
)

DOCS = {
    "mixed": (
        "# Release notes\n\nThe **new** parser handles `inline code`, *emphasis* and "
        "[links](https://example.com).\nA second line joins the paragraph.\n\n"
        "## Steps\n1. install\n2. configure\n\n3. run (a loose item: numbering continues)\n\n"
        "- bullet\n  - nested bullet\n- another\n\n"
        "```python\ndef main():\n\n    return 0\n```\nText right after the fence.\n\n"
        "| name | value |\n|------|------:|\n| a    | 1     |\n| bb   | 22    |\n\n"
        "> quoted\n> still quoted\n\n---\nSetext heading\n==============\n\n"
        "~~~\ntilde fence\n\n~~~\n\n    indented code\n\nThe *end*."
    ),
    "rules_and_headings": "---\npara\n\n***\n\n# H\n---\n\ntext\n\n#\n\n##\nafter empty\n#",
    "images": "![img](x.png)\n\npara ![i2](y.png)\n\n---\n![z](z.png)",
    "raw_html": "<!--\n\n# hidden\n\n-->\n\npara\n\n<div>\n# inside html\n</div>\n\nafter",
    "fence_in_list": "1. item\n\n   ```\n   code\n\n   more\n   ```\n\n2. next\n\nend",
    "table_interrupts": "Para\n| a | b |\n|---|---|\n| 1 | 2 |\nlazy row\n\nx",
    "ordered_start": "Text\n\n5. five\n6. six\n\n\n7. seven\n\n    in item\n\nend",
    "quotes": "> a\n\n> b\n\n>\n- x",
    "crlf": "para\r\n\r\n```py\r\nx = 1\r\n```\r\n",
    "long_fence": "intro\n\n```python\n\n" + CODE_LINES + "\n\n\n```\nafter\n",
    "unclosed_fence": "Here:\n\n```\n" + CODE_LINES + "\n  \n",
}


class Ticks:
    """A clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def terminal(height: int = HEIGHT) -> Console:
    return Console(
        file=io.StringIO(), width=WIDTH, height=height, force_terminal=True, color_system=None
    )


def written(console: Console) -> str:
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def rich_whole(doc: str) -> str:
    console = terminal()
    console.print(Markdown(doc))
    return visible_text(written(console))


def stream_output(chunks: list[str], *, step: float = 1.0, console: Console | None = None) -> str:
    console = console or terminal()
    sink = MarkdownSink(console, clock=Ticks(step))
    for chunk in chunks:
        sink.write(chunk)
    sink.close()
    return written(console)


def streamed(chunks: list[str], *, step: float = 1.0) -> str:
    return visible_text(stream_output(chunks, step=step))


def random_chunks(doc: str, rng: random.Random, pieces: int) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(doc)), min(len(doc) - 1, pieces - 1)))
    return [doc[a:b] for a, b in zip([0, *cuts], [*cuts, len(doc)], strict=True)]


def tokens(doc: str, size: int = 4) -> list[str]:
    return [doc[i:i + size] for i in range(0, len(doc), size)]


def test_the_terminal_double_applies_cursor_moves_and_erases() -> None:
    assert visible_text("one\ntwo\nthree\r\x1b[2K\x1b[1A\x1b[2K\x1b[1Adone") == "done"
    assert visible_text("\x1b[?25labc\x1b[1Gx\x1b[0K\x1b[?25h\n") == "x"
    with pytest.raises(ValueError, match="unsupported"):
        visible_text("\x1b[2J")


def test_the_terminal_double_wraps_like_a_vt100() -> None:
    assert visible_text("abcd", width=4) == "abcd"  # the cursor waits in the last column
    assert visible_text("abcd^C", width=4) == "abcd\n^C"  # the next character wraps
    assert visible_text("abcd\r\x1b[2Kx", width=4) == "x"  # a carriage return cancels it


@pytest.mark.parametrize("cut", [40, 75, 140, 201])
def test_ctrl_c_mid_paragraph_shows_nothing_twice(cut: int) -> None:
    """The tty echoes ``^C`` where the cursor is: at the end of the live tail. Rich pads a
    paragraph's lines to the full width, so the echo wrapped to a new row, the live region
    grew by one and its first row was never erased: the paragraph showed up twice."""
    doc = ("Intro paragraph, finished.\n\n" + "The streamed paragraph goes on and on, " * 8)
    console = terminal()
    sink = MarkdownSink(console, clock=Ticks(1.0))
    for piece in tokens(doc[:cut]):
        sink.write(piece)
    assert isinstance(console.file, io.StringIO)
    console.file.write("^C")  # what the terminal driver echoes on Ctrl-C
    sink.close()  # the answer's `finally`
    shown = visible_text(written(console), width=WIDTH)
    console_whole = terminal()
    console_whole.print(Markdown(doc[:cut]))
    assert shown == visible_text(written(console_whole), width=WIDTH)


@pytest.mark.parametrize("name", sorted(DOCS))
def test_whole_answer_in_one_chunk_looks_like_rich(name: str) -> None:
    assert streamed([DOCS[name]]) == rich_whole(DOCS[name])


@pytest.mark.parametrize("name", sorted(DOCS))
def test_tiny_chunks_with_frequent_redraws_look_like_rich(name: str) -> None:
    doc = DOCS[name]
    short = len(doc) < 1000  # char by char, a redraw per char; long ones: 5-char tokens
    chunks = tokens(doc, 1 if short else 5)
    assert streamed(chunks, step=1.0 if short else 0.02) == rich_whole(doc)


@pytest.mark.parametrize("name", sorted(DOCS))
def test_random_chunkings_look_like_rich(name: str) -> None:
    doc = DOCS[name]
    expected = rich_whole(doc)
    rng = random.Random(name)
    for _ in range(6):
        chunks = random_chunks(doc, rng, rng.choice([3, 12, 40]))
        assert streamed(chunks, step=rng.choice([0.001, 0.03, 1.0])) == expected, chunks


@pytest.mark.parametrize("name", ["mixed", "long_fence"])
def test_colour_terminal_shows_the_same_text(name: str) -> None:
    def colour() -> Console:
        return Console(file=io.StringIO(), width=WIDTH, height=HEIGHT, force_terminal=True,
                       color_system="truecolor")

    whole = colour()
    whole.print(Markdown(DOCS[name]))
    out = stream_output(tokens(DOCS[name], 7), step=0.03, console=colour())
    assert "\x1b[38;2;" in out  # really in colour
    assert visible_text(out) == visible_text(written(whole))


def test_every_split_offset_looks_like_rich() -> None:
    doc = (
        "# Plan\nIntro line.\n\n1. a\n\n2. b\n\n```sh\nls\n\npwd\n```\nafter\n\n"
        "| x | y |\n|---|---|\n| 1 | 2 |\n\n> q\n\n---\nend"
    )
    expected = rich_whole(doc)
    wrong = [i for i in range(len(doc)) if streamed([doc[:i], doc[i:]], step=0.0) != expected]
    assert wrong == []


def test_fence_with_blank_lines_stays_one_block() -> None:
    doc = "Before.\n\n```js\nlet a = 1;\n\n\nlet b = 2;\n```\n\nAfter.\n"
    for chunks in ([doc], list(doc)):
        assert split_blocks(chunks) == [
            "Before.", "```js\nlet a = 1;\n\n\nlet b = 2;\n```", "After."
        ]
    splitter = BlockSplitter()
    fence = splitter.feed(doc)[1]
    assert fence.fenced and fence.closed
    splitter.feed("```\nnever closed\n\n")
    unclosed = splitter.finish()[-1]
    assert unclosed.fenced and not unclosed.closed


def split_blocks(chunks: list[str]) -> list[str]:
    splitter = BlockSplitter()
    blocks = [b for chunk in chunks for b in splitter.feed(chunk)] + splitter.finish()
    return [b.text.strip("\n") for b in blocks]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("1. a\n\n2. b\n\n   more b\n\nafter", ["1. a\n\n2. b\n\n   more b", "after"]),
        ("intro\n\n- x\n- y\n\nend", ["intro", "- x\n- y", "end"]),
        ("para\n# Head\nbody", ["para", "# Head", "body"]),
        ("| a |\n|---|\n| 1 |\n| 2 |\n\nz", ["| a |\n|---|\n| 1 |\n| 2 |", "z"]),
        ("<!--\n\nhidden\n\n-->\n\nshown", ["<!--\n\nhidden\n\n-->", "shown"]),
        ("text\n```\ncode\n```\nmore", ["text", "```\ncode\n```", "more"]),
        ("    ```\nnot a fence\n\nnext", ["    ```\nnot a fence", "next"]),
    ],
)
def test_splitter_cuts_only_where_a_new_block_must_start(doc: str, expected: list[str]) -> None:
    assert split_blocks([doc]) == expected
    assert split_blocks(list(doc)) == expected


def test_table_split_across_chunks_renders_as_a_table() -> None:
    doc = "Results:\n\n| model | score |\n|-------|------:|\n| small | 1 |\n| large | 22 |\n\nDone."
    chunks = ["Results:\n\n| mo", "del | sc", "ore |\n|----", "---|------:|\n| sm", "all | 1 |\n|",
              " large | 22 |\n", "\nDone."]
    screen = streamed(chunks)
    assert "|" not in screen and "---" not in screen
    assert "━" in screen or "─" in screen  # the table's header rule
    assert any("small" in line and line.rstrip().endswith("1") for line in screen.split("\n"))
    assert screen == rich_whole(doc)


def test_loose_ordered_list_keeps_its_numbering() -> None:
    doc = "1. one\n\n2. two\n\n3. three\n\nafter"
    screen = streamed(list(doc)).split("\n")
    numbered = [line.split()[0] for line in screen if line.strip()[:1].isdigit()]
    assert numbered == ["1", "2", "3"]


def test_a_finished_block_is_never_shown_twice_mid_stream() -> None:
    console = terminal()
    sink = MarkdownSink(console, clock=Ticks(0.0))  # after the first, redraws only on commits
    for chunk in ["para one\n\n", "para two\n", "\npara th", "ree\n\nfour"]:
        sink.write(chunk)
        screen = visible_text(written(console))
        for para in ("para one", "para two", "para three"):
            assert screen.count(para) <= 1, (chunk, screen)
    assert screen.count("para two") == 1
    sink.close()


def test_headings_are_rendered_not_raw() -> None:
    screen = streamed(tokens("# Big title\n\nbody\n\n## Smaller\nmore body"))
    assert "#" not in screen
    assert "Big title" in screen and "Smaller" in screen


def test_a_long_code_fence_reaches_the_scrollback_before_it_closes() -> None:
    console = terminal()
    sink = MarkdownSink(console, clock=Ticks(1.0))
    sink.write("```python\n")
    for i in range(200):
        sink.write(f"line_{i} = {i}\n")
    before_close = visible_text(written(console))
    assert "line_150 = 150" in before_close  # printed in slices while streaming
    sink.write("```\n")
    sink.close()
    doc = "```python\n" + "".join(f"line_{i} = {i}\n" for i in range(200)) + "```\n"
    assert visible_text(written(console)) == rich_whole(doc)


def test_plain_console_gets_finished_blocks_without_live_controls() -> None:
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None)
    assert not console.is_terminal
    out = stream_output(tokens(DOCS["mixed"]), console=console)
    assert "\x1b" not in out
    assert visible_text(out) == rich_whole(DOCS["mixed"])


def test_terminal_cursor_is_restored_and_no_refresh_thread_runs() -> None:
    threads_before = threading.active_count()
    console = terminal()
    sink = MarkdownSink(console, clock=Ticks(1.0))
    for chunk in tokens(DOCS["mixed"]):
        sink.write(chunk)
        assert threading.active_count() == threads_before
    sink.close()
    out = written(console)
    assert out.startswith("\x1b[?25l")  # hidden while streaming ...
    assert out.rfind("\x1b[?25h") > out.rfind("\x1b[?25l")  # ... and shown again


def test_broken_pipe_on_a_terminal_becomes_output_closed() -> None:
    class Broken(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    sink = MarkdownSink(terminal_console(Broken(), env={"TERM": "xterm"}, width=WIDTH))
    with pytest.raises(OutputClosed):
        sink.write("para\n\nnext para\n")
        sink.close()


# --- work accounting: how much text Rich is asked to lay out -------------------------


@pytest.fixture
def rendered_sizes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Record the source length of every Markdown / Syntax render the sink triggers."""
    sizes: list[int] = []

    class CountingMarkdown(Markdown):
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            sizes.append(len(self.markup))
            yield from super().__rich_console__(console, options)

    class CountingSyntax(Syntax):
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            sizes.append(len(self.code))
            yield from super().__rich_console__(console, options)

    monkeypatch.setattr(md_module, "Markdown", CountingMarkdown)
    monkeypatch.setattr(md_module, "Syntax", CountingSyntax)
    yield sizes


def make_answer(blocks: int, seed: int = 7) -> str:
    """A reproducible answer of paragraphs, lists, code fences and tables."""
    rng = random.Random(seed)
    words = ["the", "model", "streams", "tokens", "quickly", "while", "rendering", "stays",
             "cheap", "and", "correct"]
    parts = []
    for i in range(blocks):
        kind = i % 4
        if kind == 0:
            parts.append(" ".join(rng.choice(words) for _ in range(rng.randint(20, 45))) + ".")
        elif kind == 1:
            parts.append("\n".join(f"{n}. {rng.choice(words)} **{rng.choice(words)}**"
                                   for n in range(1, rng.randint(3, 6))))
        elif kind == 2:
            body = "\n".join(f"x{n} = {n} * {rng.randint(1, 99)}" for n in range(rng.randint(4, 9)))
            parts.append(f"```python\n{body}\n```")
        else:
            rows = "\n".join(f"| {rng.choice(words)} | {n} |" for n in range(3))
            parts.append(f"| key | n |\n|---|---|\n{rows}")
    return "\n\n".join(parts) + "\n"


def test_finished_blocks_are_rendered_once(rendered_sizes: list[int]) -> None:
    doc = make_answer(40)
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None)  # no live tail
    stream_output(tokens(doc), console=console)
    assert len(doc) <= sum(rendered_sizes) <= 1.1 * len(doc)


def test_live_redraws_are_bounded_by_one_screen(rendered_sizes: list[int]) -> None:
    doc = "intro\n\n" + " ".join(["word"] * 800) + "\n"  # one huge paragraph
    stream_output(tokens(doc), step=1.0)
    assert len(rendered_sizes) > 900  # a redraw per chunk ...
    assert max(rendered_sizes[:-1]) <= (HEIGHT + 1) * WIDTH  # ... each at most a screen
    assert rendered_sizes[-1] >= len(doc) - 10  # the finished paragraph, rendered once


def test_redraws_stay_at_or_below_fifteen_per_second(rendered_sizes: list[int]) -> None:
    doc = " ".join(["word"] * 2000)  # no block ever completes: only redraws
    clock = Ticks(0.004)  # a chunk every 4 ms, i.e. 250 chunks/s
    console = terminal()
    sink = MarkdownSink(console, clock=clock)
    for chunk in tokens(doc):
        sink.write(chunk)
    redraws = len(rendered_sizes)
    assert 0 < redraws <= clock.now * 15 + 1
    sink.close()


def test_render_work_grows_linearly_with_the_answer(rendered_sizes: list[int]) -> None:
    """Work per character stays flat from 12 to 48 blocks (a full re-render would grow 4x)."""

    def work_per_char(blocks: int) -> float:
        doc = make_answer(blocks)
        rendered_sizes.clear()
        stream_output(tokens(doc), step=0.02)  # 50 tokens/s: a redraw every ~4 tokens
        return sum(rendered_sizes) / len(doc)

    small, large = work_per_char(12), work_per_char(48)
    assert large <= 1.3 * small
    assert large <= 15.0  # a full re-render per redraw would be ~150 at 48 blocks
