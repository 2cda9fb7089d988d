"""``llmx.attach`` and the codecs' image parts, without a server."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from llmx.attach import TextFile, digests, limits_for, read_files, sniff, with_files
from llmx.cache.keys import exact_key, scope_key
from llmx.providers.anthropic import AnthropicCodec
from llmx.providers.azure import AzureCodec
from llmx.providers.ollama import OllamaCodec
from llmx.providers.openai import OpenAICodec
from llmx.providers.responses import ResponsesCodec
from llmx.types import Image, Message, Request
from tests.attach.kit import GIF, JPEG, WEBP, png


@pytest.mark.parametrize(("data", "mime"), [(png(), "image/png"), (JPEG, "image/jpeg"),
                                            (GIF, "image/gif"), (b"GIF87a...", "image/gif"),
                                            (WEBP, "image/webp")])
def test_the_type_is_sniffed_from_the_bytes(data: bytes, mime: str) -> None:
    assert sniff(data) == mime


@pytest.mark.parametrize("data", [b"", b"BM\x00\x00", b"RIFF\x00\x00\x00\x00WAVE", b"<svg/>",
                                  b"\x89PNG", b"%PDF-1.7"])
def test_other_bytes_are_no_image(data: bytes) -> None:
    assert sniff(data) is None


def test_files_keep_their_order_names_and_text(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("first\n\n")
    (tmp_path / 'we"ird<.md').write_text("# second")
    files = read_files([str(tmp_path / "a.txt"), str(tmp_path / 'we"ird<.md')])
    assert [f.text for f in files] == ["first\n\n", "# second"]
    text = with_files("question\n", files)
    assert text == (f'question\n\n<file name="{tmp_path}/a.txt">\nfirst\n</file>\n\n'
                    f'<file name="{tmp_path}/we&quot;ird&lt;.md">\n# second\n</file>')
    assert with_files("q", ()) == "q"


def test_digests_name_every_attachment_by_its_bytes() -> None:
    image = Image("image/png", png(), "shot.png")
    found = digests([TextFile("n.txt", "x", b"x")], [image])
    import hashlib

    assert found == (("n.txt", hashlib.sha256(b"x").hexdigest()),
                     ("shot.png", hashlib.sha256(png()).hexdigest()))


def test_limits_follow_each_provider() -> None:
    anthropic = limits_for("anthropic")
    assert len(base64.b64encode(b"x" * anthropic.per_image)) <= 5 * 1024 * 1024
    assert len(base64.b64encode(b"x" * (anthropic.per_image + 3))) > 5 * 1024 * 1024
    assert limits_for("openai").per_image == limits_for("azure").per_image == 20 * 1024 * 1024
    assert limits_for("ollama").per_image == 20 * 1024 * 1024


IMAGE = Image("image/jpeg", JPEG, "p.jpg")
B64 = base64.b64encode(JPEG).decode()
WITH = Request(model="m", messages=(Message("user", "hi"), Message("assistant", "yes"),
                                    Message("user", "and this?", (IMAGE, IMAGE))),
               system="sys")


def body(codec: object, request: Request) -> dict[str, object]:
    call = codec.build(request, "key")  # type: ignore[attr-defined]
    loaded: dict[str, object] = json.loads(call.body)
    return loaded


def test_openai_chat_sends_text_then_image_url_parts() -> None:
    for codec in (OpenAICodec(), AzureCodec(model="gpt-4o", deployment=None, api_version="1")):
        sent = body(codec, WITH)
        part = {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{B64}"}}
        assert sent["messages"] == [
            {"role": "system", "content": "sys"}, {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "yes"},
            {"role": "user", "content": [{"type": "text", "text": "and this?"}, part, part]}]


def test_responses_sends_input_text_then_input_image() -> None:
    sent = body(ResponsesCodec(), WITH)
    image = {"type": "input_image", "image_url": f"data:image/jpeg;base64,{B64}",
             "detail": "auto"}
    assert sent["input"] == [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"},
        {"role": "user", "content": [{"type": "input_text", "text": "and this?"}, image, image]}]


def test_anthropic_sends_base64_blocks_before_the_text() -> None:
    sent = body(AnthropicCodec(), WITH)
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg",
                                         "data": B64}}
    assert sent["messages"] == [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"},
        {"role": "user", "content": [block, block, {"type": "text", "text": "and this?"}]}]


def test_ollama_adds_an_images_list_of_base64() -> None:
    sent = body(OllamaCodec(), WITH)
    assert sent["messages"][-1] == {"role": "user", "content": "and this?",  # type: ignore[index]
                                    "images": [B64, B64]}


def test_an_image_without_text_sends_no_empty_text_part() -> None:
    bare = Request(model="m", messages=(Message("user", "", (IMAGE,)),))
    content = body(AnthropicCodec(), bare)["messages"][0]["content"]  # type: ignore[index]
    assert [p["type"] for p in content] == ["image"]
    assert [p["type"] for p in body(OpenAICodec(), bare)["messages"][0]["content"]] == [  # type: ignore[index]
        "image_url"]


def test_keys_cover_image_bytes_and_nothing_else_changes() -> None:
    def key(*images: Image, text: str = "q") -> str:
        request = Request(model="m", messages=(Message("user", text, images),))
        return exact_key(request, provider="openai", endpoint="e", compressor=None)

    renamed = IMAGE._replace(name="elsewhere/q.jpg")
    assert key(IMAGE) == key(renamed) != key()
    assert key(IMAGE) != key(Image("image/gif", GIF, "p.jpg")) != key(IMAGE, IMAGE)
    # (a message without images keeps its old key: tests/cache/test_cache_keys.py pins it)

    def scope(*images: Image, text: str) -> str:
        request = Request(model="m", messages=(Message("user", text, images),))
        return scope_key(request, provider="openai", endpoint="e", compressor=None)

    # a scope ignores the question's text but not its images
    assert scope(IMAGE, text="a") == scope(IMAGE, text="b") != scope(text="a")


def test_dry_run_json_names_the_images_never_their_bytes(tmp_path: Path) -> None:
    from tests.cli.harness import private_cli

    cli = private_cli(tmp_path)
    (cli.home / "p.png").write_bytes(png(9, 9))
    done = cli.run("ask", "--dry-run", "--json", "-a", "p.png", "what?")
    assert done.returncode == 0, done.err
    import hashlib

    [message] = json.loads(done.out)["messages"]
    assert message == {"role": "user", "content": "what?", "images": [
        {"name": "p.png", "mime": "image/png", "bytes": len(png(9, 9)),
         "sha256": hashlib.sha256(png(9, 9)).hexdigest()}]}
