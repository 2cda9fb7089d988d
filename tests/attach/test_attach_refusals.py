"""Every bad ``-f`` / ``-a`` / ``-x`` input: one ``error:`` line, its exit code, and nothing
sent (the profile points at a recording server that would keep any request)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmx.attach import MAX_TEXT_BYTES, MiB, limits_for
from llmx.errors import ExitCode
from tests.attach.kit import Recorder, png, recording
from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with recording(None) as found:
        yield found


def configure(cli: InProcessCli, recorder: Recorder, provider: str = "openai") -> None:
    base = f"{recorder.url}/v1" if provider == "openai" else recorder.url
    cli.env["ANTHROPIC_API_KEY"] = "sim-key"
    cli.write_config(f'default_profile = "t"\n[profiles.t]\nprovider = "{provider}"\n'
                     f'model = "m"\nbase_url = "{base}"\n')


def write(home: Path, name: str, data: bytes) -> str:
    (home / name).write_bytes(data)
    return name


Setup = Callable[[Path, Recorder], list[str]]
CASES: dict[str, tuple[Setup, str, tuple[str, ...]]] = {
    "missing file": (lambda h, r: ["-f", "nope.txt"], "openai", ("-f nope.txt", "no such file")),
    "directory": (lambda h, r: ["-f", "."], "openai", ("a directory",)),
    "binary file": (lambda h, r: ["-f", write(h, "b.bin", b"ab\x00cd")], "openai",
                    ("-f b.bin", "binary")),
    "not utf-8": (lambda h, r: ["-f", write(h, "l.txt", b"caf\xe9\n")], "openai",
                  ("not UTF-8", "byte 3")),
    "file too big": (lambda h, r: ["-f", write(h, "big.txt", b"a" * (MAX_TEXT_BYTES + 1))],
                     "openai", ("larger than the 1.0 MiB limit",)),
    "text as image": (lambda h, r: ["-a", write(h, "n.txt", b"hello")], "openai",
                      ("-a n.txt", "not a PNG, JPEG, GIF or WebP")),
    "missing image": (lambda h, r: ["-a", "gone.png"], "openai", ("no such file",)),
    "image over anthropic's 5 MB": (
        lambda h, r: ["-a", write(h, "big.png", png() + b"\x00" * limits_for("anthropic")
                                  .per_image)], "anthropic",
        ("larger than the 3.8 MiB limit of one anthropic image",)),
    "images over anthropic's request": (
        lambda h, r: ["-a", write(h, "m.png", png() + b"\x00" * (3 * MiB))] * 9, "anthropic",
        ("the images add up to", "anthropic accepts in one request")),
    "url 404": (lambda h, r: ["-a", r.url + "/none.png"], "openai", ("answered 404",)),
    "url not an image": (lambda h, r: ["-a", r.serve("/t", b"<html>")], "openai",
                         ("not a PNG",)),
    "url too long (declared)": (
        lambda h, r: ["-a", r.serve("/big", png() + b"\x00" * (20 * MiB))], "openai",
        ("over the 20971520-byte limit",)),
    "url too long (no length)": (
        lambda h, r: ["-a", r.serve("/stream", png() + b"\x00" * (20 * MiB),
                                    headers={"Connection": "close"})], "openai",
        ("larger than the 20971520-byte limit",)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_attachment_is_one_error_and_nothing_is_sent(
        cli: InProcessCli, recorder: Recorder, case: str) -> None:
    setup, provider, needles = CASES[case]
    configure(cli, recorder, provider)
    done = cli.run("ask", *setup(cli.home, recorder), "question")
    done.assert_one_error(ExitCode.USAGE, *needles)
    assert recorder.bodies == []


def test_an_unreachable_image_url_is_a_network_error(cli: InProcessCli,
                                                     recorder: Recorder) -> None:
    configure(cli, recorder)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    done = cli.run("ask", "-a", f"http://127.0.0.1:{port}/x.png", "question")
    done.assert_one_error(ExitCode.NETWORK, "cannot fetch it")
    assert recorder.bodies == []


def test_extract_with_json_is_refused(cli: InProcessCli, recorder: Recorder) -> None:
    configure(cli, recorder)
    cli.run("ask", "-x", "--json", "q").assert_one_error(ExitCode.USAGE, "--json")
    cli.run("ask", "--extract-last", "--json", "q").assert_one_error(ExitCode.USAGE, "--json")
    assert recorder.bodies == []


def test_a_file_alone_is_a_prompt_but_nothing_at_all_is_not(cli: InProcessCli,
                                                            recorder: Recorder) -> None:
    configure(cli, recorder)
    write(cli.home, "empty.txt", b"")
    cli.run("ask", "-f", "empty.txt").assert_one_error(ExitCode.USAGE, "the prompt is empty")
    assert recorder.bodies == []
