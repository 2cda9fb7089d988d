"""``llmx ask -a`` / ``-f`` end to end: the CLI in-process sends through a recording
loopback server to a real ``llmx sim``; each test reads the exact request body llmx sent
and the simulator's answer to it (the simulator checks image parts as its provider does)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.attach.kit import GIF, Recorder, png, recording
from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import Sim, http_get

BASES = {"openai": "/v1", "responses": "/v1", "anthropic": "", "ollama": ""}


@pytest.fixture
def recorder(sim: Sim) -> Iterator[Recorder]:
    with recording(sim.url) as found:
        yield found


def configure(cli: InProcessCli, recorder: Recorder, provider: str) -> None:
    api = 'api = "responses"\n' if provider == "responses" else ""
    wire = "openai" if provider == "responses" else provider
    cli.env["ANTHROPIC_API_KEY"] = "sim-key"
    cli.write_config(f'default_profile = "t"\n[profiles.t]\nprovider = "{wire}"\n{api}'
                     f'model = "sim-1"\nbase_url = "{recorder.url}{BASES[provider]}"\n')


def image_parts(provider: str, body: dict[str, Any]) -> tuple[str, list[Any]]:
    """The last message's text and its images, read back from the body as each API has them."""
    if provider == "responses":
        content = body["input"][-1]["content"]
        text = [p["text"] for p in content if p["type"] == "input_text"]
        return text[0], [p for p in content if p["type"] == "input_image"]
    message = body["messages"][-1]
    if provider == "ollama":
        return message["content"], message["images"]
    content = message["content"]
    text = [p["text"] for p in content if p["type"] == "text"]
    kind = "image_url" if provider == "openai" else "image"
    return text[0], [p for p in content if p["type"] == kind]


@pytest.mark.parametrize("provider", list(BASES))
def test_an_image_reaches_each_provider_in_its_own_shape(
        cli: InProcessCli, recorder: Recorder, provider: str) -> None:
    configure(cli, recorder, provider)
    data = png(3, 2)
    (cli.home / "shot.png").write_bytes(data)
    done = cli.run("ask", "--json", "--no-stream", "-a", "shot.png", "what is in it?")
    assert done.returncode == 0, done.err
    [body] = recorder.bodies
    text, images = image_parts(provider, body)
    assert text == "what is in it?"
    encoded = base64.b64encode(data).decode()
    expected = {
        "openai": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{encoded}"}}],
        "responses": [{"type": "input_image", "image_url": f"data:image/png;base64,{encoded}",
                       "detail": "auto"}],
        "anthropic": [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                   "data": encoded}}],
        "ollama": [encoded],
    }[provider]
    assert images == expected
    if provider == "anthropic":  # images before the text, as Anthropic recommends
        assert body["messages"][-1]["content"][-1] == {"type": "text", "text": "what is in it?"}
    answer = json.loads(done.out)
    plain = cli.run("ask", "--json", "--no-stream", "what is in it?")
    assert plain.returncode == 0, plain.err
    # the simulator read the image: it counts in the prompt and changes the answer
    assert answer["usage"]["input_tokens"] > json.loads(plain.out)["usage"]["input_tokens"]
    assert answer["text"] != json.loads(plain.out)["text"]


def test_the_cache_keys_the_image_bytes_not_its_name(cli: InProcessCli,
                                                     recorder: Recorder) -> None:
    configure(cli, recorder, "openai")
    (cli.home / "a.png").write_bytes(png(2, 2))
    (cli.home / "copy.png").write_bytes(png(2, 2))
    (cli.home / "other.png").write_bytes(png(4, 4))
    first = json.loads(cli.run("ask", "--json", "-a", "a.png", "describe").out)
    same = json.loads(cli.run("ask", "--json", "-a", "copy.png", "describe").out)
    other = json.loads(cli.run("ask", "--json", "-a", "other.png", "describe").out)
    bare = json.loads(cli.run("ask", "--json", "describe").out)
    assert first["cached"] is False and same["cached"] == "exact"
    assert other["cached"] is False and bare["cached"] is False
    assert len(recorder.bodies) == 3


def test_two_images_and_a_file_go_in_the_order_given(cli: InProcessCli,
                                                     recorder: Recorder) -> None:
    configure(cli, recorder, "anthropic")
    (cli.home / "a.png").write_bytes(png())
    (cli.home / "b.gif").write_bytes(GIF)
    (cli.home / "notes.txt").write_text("alpha\nbeta\n")
    done = cli.run("ask", "--no-stream", "-a", "a.png", "-f", "notes.txt", "-a", "b.gif",
                   "compare")
    assert done.returncode == 0, done.err
    content = recorder.bodies[0]["messages"][-1]["content"]
    assert [p["source"]["media_type"] for p in content[:2]] == ["image/png", "image/gif"]
    assert content[2]["text"] == 'compare\n\n<file name="notes.txt">\nalpha\nbeta\n</file>'


def test_an_image_url_is_fetched_by_llmx_and_sent_as_bytes(cli: InProcessCli,
                                                           recorder: Recorder) -> None:
    configure(cli, recorder, "ollama")
    data = png(5, 1)
    url = recorder.serve("/pics/cat", data, headers={"Content-Type": "text/plain"})
    done = cli.run("ask", "--no-stream", "-a", url, "what is it?")
    assert done.returncode == 0, done.err
    assert recorder.paths == ["/pics/cat"]
    assert recorder.bodies[0]["messages"][-1]["images"] == [base64.b64encode(data).decode()]


def test_a_text_file_is_sent_labelled_with_its_name(cli: InProcessCli,
                                                    recorder: Recorder) -> None:
    configure(cli, recorder, "openai")
    (cli.home / "notes.txt").write_text("Ann likes tea.\n")
    done = cli.run("ask", "--no-stream", "-f", "notes.txt", "who likes tea?")
    assert done.returncode == 0, done.err
    message = recorder.bodies[0]["messages"][-1]
    assert message == {"role": "user", "content":
                       'who likes tea?\n\n<file name="notes.txt">\nAnn likes tea.\n</file>'}


def test_the_sim_saw_the_very_bytes(cli: InProcessCli, recorder: Recorder, sim: Sim) -> None:
    configure(cli, recorder, "anthropic")
    data = png(7, 7)
    (cli.home / "x.png").write_bytes(data)
    assert cli.run("ask", "--no-stream", "-a", "x.png", "look").returncode == 0
    recent = http_get(f"{sim.url}/sim/stats", timeout=10).json()["recent_prompts"]
    digest = hashlib.sha256(data).hexdigest()[:12]
    assert f"[image image/png {len(data)} bytes sha256:{digest}]" in recent[-1]


def test_files_alone_make_the_prompt(cli: InProcessCli, recorder: Recorder) -> None:
    configure(cli, recorder, "openai")
    (cli.home / "q.md").write_text("What is 2+2?")
    (cli.home / "a b.txt").write_text('say "4"\n')
    done = cli.run("ask", "--no-stream", "-f", "q.md", "-f", "a b.txt")
    assert done.returncode == 0, done.err
    assert recorder.bodies[0]["messages"][-1]["content"] == (
        '<file name="q.md">\nWhat is 2+2?\n</file>\n\n'
        '<file name="a b.txt">\nsay "4"\n</file>')
