"""``-x/--extract`` and ``--extract-last``: the fence rules (``llmx.cli.extract``), and the
CLI printing exactly the code of an answer served over loopback, hit or miss."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from llmx.cli.extract import chosen_block, code_blocks
from llmx.errors import ExitCode
from tests.cli.canned import canned
from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401

ANSWER = ("Here you go:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\n"
          "And a shell line:\n\n~~~~ sh\necho hi\n~~~~\n")


@pytest.mark.parametrize(("text", "blocks"), [
    (ANSWER, ["def add(a, b):\n    return a + b\n", "echo hi\n"]),
    ("no code at all", []),
    ("````md\n```py\nx = 1\n```\n````\n", ["```py\nx = 1\n```\n"]),  # a shorter fence is text
    ("```\nnever closed\nstill code", ["never closed\nstill code\n"]),
    ("  ```js\n  let a;\n    b();\n ```", ["let a;\n  b();\n"]),  # the fence's indent goes
    ("    ```\n    indented code, not a fence\n    ```", []),
    ("inline ```x``` is a span\n", []),
    ("```\n```\n", [""]),
    ("~~~\n```\nstill inside\n~~~\n", ["```\nstill inside\n"]),
    ("```c\r\nint x;\r\n```\r\n", ["int x;\n"]),
    ("```\na\n``` not a close\n```", ["a\n``` not a close\n"]),
])
def test_fences_read_as_commonmark_reads_them(text: str, blocks: list[str]) -> None:
    assert code_blocks(text) == blocks


def test_first_or_last() -> None:
    assert chosen_block(ANSWER, last=False) == "def add(a, b):\n    return a + b\n"
    assert chosen_block(ANSWER, last=True) == "echo hi\n"
    assert chosen_block("plain", last=True) is None


@pytest.fixture
def canned_answers() -> Iterator[tuple[str, list[str], list[int]]]:
    """A loopback OpenAI server answering each request with the next text of ``texts``
    (streamed or whole, as asked); ``seen`` counts the requests."""
    texts: list[str] = []
    seen: list[int] = []

    def answer(headers: Mapping[str, str], request: dict[str, Any]) -> str:
        seen.append(1)
        return texts[(len(seen) - 1) % len(texts)]

    with canned(answer) as url:
        yield url, texts, seen


def configure(cli: InProcessCli, url: str) -> None:
    cli.write_config(f'default_profile = "t"\n[profiles.t]\nprovider = "openai"\n'
                     f'model = "m"\nbase_url = "{url}/v1"\n')


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_x_prints_exactly_the_first_block_then_from_the_cache(
        cli: InProcessCli, canned_answers: tuple[str, list[str], list[int]], stream: str) -> None:
    url, texts, seen = canned_answers
    texts.append(ANSWER)
    configure(cli, url)
    first = cli.run("ask", stream, "-x", "write add")
    assert (first.returncode, first.out) == (0, "def add(a, b):\n    return a + b\n"), first.err
    last = cli.run("ask", stream, "--extract-last", "write add")  # a cache hit
    assert (last.returncode, last.out) == (0, "echo hi\n"), last.err
    whole = cli.run("ask", stream, "write add")
    assert whole.out == ANSWER and len(seen) == 1


def test_an_answer_without_a_block_exits_11_and_is_still_kept(
        cli: InProcessCli, canned_answers: tuple[str, list[str], list[int]]) -> None:
    url, texts, seen = canned_answers
    texts.append("Sorry, no code today.")
    configure(cli, url)
    done = cli.run("ask", "-x", "write nothing")
    assert done.returncode == ExitCode.NO_CODE_BLOCK == 11
    assert done.stdout == b"" and "no fenced code block" in done.err
    again = cli.run("ask", "--json", "write nothing")
    assert json.loads(again.out)["cached"] == "exact" and len(seen) == 1
