"""``-x/--extract`` and ``--extract-last``: the fence rules (``llmx.cli.extract``), and the
CLI printing exactly the code of an answer served over loopback, hit or miss."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llmx.cli.extract import chosen_block, code_blocks
from llmx.errors import ExitCode
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


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    obj = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


@pytest.fixture
def canned() -> Iterator[tuple[str, list[str], list[int]]]:
    """A loopback OpenAI server answering each request with the next text of ``texts``
    (streamed or whole, as asked); ``seen`` counts the requests."""
    texts: list[str] = []
    seen: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["content-length"])))
            text = texts[len(seen) % len(texts)]
            seen.append(1)
            if request.get("stream"):
                pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
                body = (_chunk({"role": "assistant", "content": ""})
                        + b"".join(_chunk({"content": p}) for p in pieces)
                        + _chunk({}, "stop") + b"data: [DONE]\n\n")
                kind = "text/event-stream"
            else:
                body = json.dumps({"id": "c1", "object": "chat.completion", "model": "m",
                                   "choices": [{"index": 0, "finish_reason": "stop", "message":
                                                {"role": "assistant", "content": text}}],
                                   "usage": {"prompt_tokens": 3, "completion_tokens": 9}}
                                  ).encode()
                kind = "application/json"
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", texts, seen
    finally:
        server.shutdown()
        server.server_close()


def configure(cli: InProcessCli, url: str) -> None:
    cli.write_config(f'default_profile = "t"\n[profiles.t]\nprovider = "openai"\n'
                     f'model = "m"\nbase_url = "{url}/v1"\n')


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_x_prints_exactly_the_first_block_then_from_the_cache(
        cli: InProcessCli, canned: tuple[str, list[str], list[int]], stream: str) -> None:
    url, texts, seen = canned
    texts.append(ANSWER)
    configure(cli, url)
    first = cli.run("ask", stream, "-x", "write add")
    assert (first.returncode, first.out) == (0, "def add(a, b):\n    return a + b\n"), first.err
    last = cli.run("ask", stream, "--extract-last", "write add")  # a cache hit
    assert (last.returncode, last.out) == (0, "echo hi\n"), last.err
    whole = cli.run("ask", stream, "write add")
    assert whole.out == ANSWER and len(seen) == 1


def test_an_answer_without_a_block_exits_11_and_is_still_kept(
        cli: InProcessCli, canned: tuple[str, list[str], list[int]]) -> None:
    url, texts, seen = canned
    texts.append("Sorry, no code today.")
    configure(cli, url)
    done = cli.run("ask", "-x", "write nothing")
    assert done.returncode == ExitCode.NO_CODE_BLOCK == 11
    assert done.stdout == b"" and "no fenced code block" in done.err
    again = cli.run("ask", "--json", "write nothing")
    assert json.loads(again.out)["cached"] == "exact" and len(seen) == 1
