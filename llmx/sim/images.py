"""Image parts as the simulated providers read them (pure; no IO).

Each reader checks a part the way its provider does and refuses a malformed one with a 400
(``bad_request``); a good image becomes one marker line, ``[image <mime> <bytes> bytes
sha256:<first 12 hex>]`` (a URL the simulator cannot fetch: ``[image url <url>]``), which
joins the message's text. So an image changes the answer's seed, counts in the prompt's
tokens, and shows in ``/sim/stats`` ``recent_prompts``: tests see which image arrived.

* OpenAI Chat Completions: ``{"type": "image_url", "image_url": {"url": …}}``, the URL a
  ``data:image/…;base64,…`` URL or an http(s) URL;
* OpenAI Responses: ``{"type": "input_image", "image_url": …}``;
* Anthropic: ``{"type": "image", "source": {"type": "base64", "media_type", "data"}}``,
  media_type one of the four image types and matching the bytes, the base64 text at most
  5 MB; a ``{"type": "url", "url"}`` source is accepted as a URL;
* Ollama: a message's ``images``, a list of base64 strings.
"""

from __future__ import annotations

import binascii
import hashlib
from typing import Any

from llmx.sim.common import bad_request

MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
ANTHROPIC_MAX_BASE64 = 5 * 1024 * 1024
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
          (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


def marker(mime: str, data: bytes) -> str:
    return f"[image {mime} {len(data)} bytes sha256:{hashlib.sha256(data).hexdigest()[:12]}]"


def sniffed(data: bytes) -> str | None:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return "image/webp" if data[:4] == b"RIFF" and data[8:12] == b"WEBP" else None


def _decode(text: Any, where: str) -> bytes:
    if not isinstance(text, str) or not text:
        raise bad_request(f"{where}: expected a non-empty base64 string")
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise bad_request(f"{where}: invalid base64 data") from None


def _url(url: Any, where: str) -> str:
    """The marker of an image URL: a data URL decoded and checked, an http(s) URL named."""
    if not isinstance(url, str):
        raise bad_request(f"Invalid type for '{where}': expected a string.")
    if url.startswith(("http://", "https://")):
        return f"[image url {url}]"
    head, comma, payload = url.partition(",")
    mime = head.removeprefix("data:").removesuffix(";base64")
    if not (head.startswith("data:") and head.endswith(";base64") and comma):
        raise bad_request(f"Invalid '{where}': expected a base64 data URL or an http(s) URL.")
    if mime not in MEDIA_TYPES:
        raise bad_request(f"Invalid MIME type in '{where}': {mime!r} (supported: "
                          f"{', '.join(MEDIA_TYPES)}).")
    data = _decode(payload, where)
    if sniffed(data) is None:
        raise bad_request(f"Invalid '{where}': the data is not a supported image.")
    return marker(mime, data)


def openai_part(part: dict[str, Any]) -> str | None:
    if part.get("type") != "image_url":
        return None
    image_url = part.get("image_url")
    if not isinstance(image_url, dict):
        raise bad_request("Invalid type for 'image_url': expected an object.")
    return _url(image_url.get("url"), "image_url.url")


def responses_part(part: dict[str, Any]) -> str | None:
    if part.get("type") != "input_image":
        return None
    if part.get("detail", "auto") not in ("auto", "low", "high", "original"):
        raise bad_request(f"Invalid value for 'detail': {part.get('detail')!r}.")
    return _url(part.get("image_url"), "input_image.image_url")


def anthropic_part(part: dict[str, Any]) -> str | None:
    if part.get("type") != "image":
        return None
    source = part.get("source")
    if not isinstance(source, dict):
        raise bad_request("image.source: Field required")
    if source.get("type") == "url":
        return _url(source.get("url"), "image.source.url")
    if source.get("type") != "base64":
        raise bad_request("image.source.type: Input should be 'base64' or 'url'")
    mime = source.get("media_type")
    if mime not in MEDIA_TYPES:
        raise bad_request("image.source.base64.media_type: Input should be 'image/jpeg', "
                          "'image/png', 'image/gif' or 'image/webp'")
    text = source.get("data")
    if isinstance(text, str) and len(text) > ANTHROPIC_MAX_BASE64:
        raise bad_request(f"image exceeds 5 MB maximum: {len(text)} bytes > "
                          f"{ANTHROPIC_MAX_BASE64} bytes")
    data = _decode(text, "image.source.base64.data")
    if sniffed(data) != mime:
        raise bad_request(f"Image does not match the provided media type {mime}")
    return marker(str(mime), data)


def ollama_images(message: dict[str, Any]) -> list[str]:
    images = message.get("images")
    if images is None:
        return []
    if not isinstance(images, list):
        raise bad_request("images must be a list of base64 strings")
    found = []
    for index, text in enumerate(images):
        data = _decode(text, f"images[{index}]")
        mime = sniffed(data)
        if mime is None:
            raise bad_request("image: unknown format")
        found.append(marker(mime, data))
    return found
