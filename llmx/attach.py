"""Attachments of ``llmx ask``: ``-f PATH`` text files and ``-a PATH|URL`` images.

What a caller may rely on:

* ``read_files(paths)`` reads each ``-f`` file as UTF-8 text (at most ``MAX_TEXT_BYTES``);
  a missing, unreadable, binary (a NUL byte, or not UTF-8) or oversized file is one
  ``UsageError`` naming it, before anything is sent. ``with_files(prompt, files)`` appends
  each file to the prompt as ``<file name="PATH">…</file>``, in the order given, so the
  model sees which text came from which file (and the cache key covers the text).
* ``read_images(sources, provider)`` gives one ``llmx.types.Image`` per ``-a``: a path is
  read from disk, an ``http://``/``https://`` URL is fetched by llmx (``llmx.attach_fetch``:
  never more than the limit is downloaded) so every provider gets the same bytes and the
  cache key hashes them. The MIME type is sniffed from the bytes (PNG, JPEG, GIF, WebP;
  a file's name or a server's ``Content-Type`` is never trusted); each image and their
  total must be within the provider's limits (``limits_for``). Anything else is a
  ``UsageError`` (a network failure while fetching: ``TransportError``).
* ``digests(files, images)`` is what logs keep of attachments: ``(name, sha256 hex)``
  pairs, never the contents.
"""

# No ``from __future__ import annotations`` here: a named tuple's string annotations are
# compiled when its class is made (~3 ms for the first compile of a process).

from collections.abc import Sequence
from typing import NamedTuple

from llmx.errors import UsageError
from llmx.types import Image

MiB = 1024 * 1024
MAX_TEXT_BYTES = 1 * MiB  # one -f file; ~250k tokens of English, more than most windows
MAX_IMAGE_BYTES = 20 * MiB  # never read (or download) more than this for one image


class Limits(NamedTuple):
    """Bytes of image data one provider accepts: each image, and all of one request."""

    per_image: int
    total: int


def _raw(base64_bytes: int) -> int:
    """The largest raw size whose base64 text fits in ``base64_bytes``."""
    return base64_bytes // 4 * 3


# Anthropic: 5 MB per image and 32 MB per request, counted on the base64 text it receives;
# OpenAI (and Azure): 20 MB per image, 50 MB per request payload; Ollama documents none,
# so the read cap and a generous total stand.
_LIMITS = {
    "anthropic": Limits(_raw(5 * MiB), _raw(32 * 1000 * 1000)),
    "openai": Limits(20 * MiB, _raw(50 * 1000 * 1000)),
    "azure": Limits(20 * MiB, _raw(50 * 1000 * 1000)),
}
_DEFAULT_LIMITS = Limits(MAX_IMAGE_BYTES, 64 * MiB)

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


class TextFile(NamedTuple):
    """One ``-f`` file: its name as given, its text, and its bytes (for the logs' sha256)."""

    name: str
    text: str
    data: bytes


def limits_for(provider: str) -> Limits:
    return _LIMITS.get(provider, _DEFAULT_LIMITS)


def sniff(data: bytes) -> str | None:
    """The image MIME type the bytes start with (one of ``IMAGE_TYPES``), or None."""
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_files(paths: Sequence[str]) -> tuple[TextFile, ...]:
    """Each ``-f`` path as text (see the module docstring for the refusals)."""
    return tuple(_text_file(path) for path in paths)


def _text_file(name: str) -> TextFile:
    data = read_capped(name, MAX_TEXT_BYTES, what="-f")
    if b"\x00" in data:
        raise UsageError(f"-f {name}: a binary file, not text", hint="attach images with -a")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"-f {name}: not UTF-8 text (byte {exc.start})",
                         hint="attach images with -a") from None
    return TextFile(name, text, data)


def read_capped(name: str, limit: int, *, what: str, whose: str = "") -> bytes:
    """The bytes of the file ``name``, refusing one larger than ``limit`` (``UsageError``;
    ``whose`` says whose limit it is)."""
    try:
        with open(name, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise UsageError(f"{what} {name}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{what} {name}: a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"{what} {name}: cannot read it ({exc.strerror})") from None
    if len(data) > limit:
        raise UsageError(f"{what} {name}: larger than the {_size(limit)} limit{whose}")
    return data


def with_files(prompt: str, files: Sequence[TextFile]) -> str:
    """``prompt`` followed by each file's text, labelled with its name."""
    if not files:
        return prompt
    blocks = [f'<file name="{_label(item.name)}">\n{item.text.rstrip(chr(10))}\n</file>'
              for item in files]
    head = prompt.rstrip("\n")
    return "\n\n".join([head, *blocks] if head else blocks)


def _label(name: str) -> str:
    return name.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def read_images(sources: Sequence[str], provider: str) -> tuple[Image, ...]:
    """One ``Image`` per ``-a`` source, checked against ``provider``'s limits."""
    limits = limits_for(provider)
    cap = min(limits.per_image, MAX_IMAGE_BYTES)
    whose = f" of one {provider} image" if provider in _LIMITS else ""
    images = tuple(_image(source, cap, whose) for source in sources)
    total = sum(len(image.data) for image in images)
    if total > limits.total:
        raise UsageError(f"-a: the images add up to {_size(total)}, over the {_size(limits.total)}"
                         f" {provider} accepts in one request")
    return images


def _image(source: str, cap: int, whose: str) -> Image:
    if source.startswith(("http://", "https://")):
        from llmx.attach_fetch import fetch

        data = fetch(source, cap)
    else:
        data = read_capped(source, cap, what="-a", whose=whose)
    mime = sniff(data)
    if mime is None:
        raise UsageError(f"-a {source}: not a PNG, JPEG, GIF or WebP image (judged by its bytes)")
    return Image(mime, data, source)


def digests(files: Sequence[TextFile], images: Sequence[Image]) -> tuple[tuple[str, str], ...]:
    """``(name, sha256 hex)`` of every attachment: files first, then images."""
    import hashlib  # here only: it loads OpenSSL, which a cache hit need not pay for

    named = [(item.name, item.data) for item in files]
    named.extend((image.name, image.data) for image in images)
    return tuple((name, hashlib.sha256(data).hexdigest()) for name, data in named)


def _size(count: int) -> str:
    if count >= MiB:
        return f"{count / MiB:.1f} MiB"
    if count >= 1024:
        return f"{count / 1024:.0f} KiB"
    return f"{count} bytes"
