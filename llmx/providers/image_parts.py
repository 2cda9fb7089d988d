"""Messages with attached images, in each provider's wire shape. Pure; standard library only.

A message without images is encoded as before by every function here: ``{"role", "content"}``
with the text as a plain string. With images (``Message.images``):

* OpenAI Chat Completions (and Azure, and OpenAI-compatible servers): ``content`` is a list
  of parts, the text part first, then one ``{"type": "image_url", "image_url": {"url":
  "data:<mime>;base64,<data>"}}`` per image;
* OpenAI Responses: ``content`` is ``input_text`` then one ``{"type": "input_image",
  "image_url": "<data URL>", "detail": "auto"}`` per image;
* Anthropic: ``content`` is one ``{"type": "image", "source": {"type": "base64",
  "media_type": …, "data": …}}`` block per image, then the text block (images before the
  text, as Anthropic's vision guide recommends);
* Ollama: the message keeps its string ``content`` and gains ``images``: a list of the
  images' base64 text (no data URL prefix).

An empty text is left out of a part list (Anthropic refuses an empty text block).
"""

from __future__ import annotations

from binascii import b2a_base64
from typing import Any

from llmx.types import Image, Message


def base64_text(image: Image) -> str:
    """The image's bytes as standard base64 (no line breaks)."""
    return b2a_base64(image.data, newline=False).decode("ascii")


def data_url(image: Image) -> str:
    return f"data:{image.mime};base64,{base64_text(image)}"


def openai_message(message: Message) -> dict[str, Any]:
    if not message.images:
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = _text(message, "text")
    parts.extend({"type": "image_url", "image_url": {"url": data_url(image)}}
                 for image in message.images)
    return {"role": message.role, "content": parts}


def responses_message(message: Message) -> dict[str, Any]:
    if not message.images:
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = _text(message, "input_text")
    parts.extend({"type": "input_image", "image_url": data_url(image), "detail": "auto"}
                 for image in message.images)
    return {"role": message.role, "content": parts}


def anthropic_message(message: Message) -> dict[str, Any]:
    if not message.images:
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = [
        {"type": "image", "source": {"type": "base64", "media_type": image.mime,
                                     "data": base64_text(image)}}
        for image in message.images]
    parts.extend(_text(message, "text"))
    return {"role": message.role, "content": parts}


def ollama_message(message: Message) -> dict[str, Any]:
    encoded: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:
        encoded["images"] = [base64_text(image) for image in message.images]
    return encoded


def _text(message: Message, kind: str) -> list[dict[str, Any]]:
    return [{"type": kind, "text": message.content}] if message.content else []
