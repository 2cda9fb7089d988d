"""What a provider is: a pure codec between llmx types and one wire format.

A codec does no IO. The HTTP engine (``providers/http.py``) asks it for an
``HttpCall``, sends it, and hands the bytes back: whole bodies to
``parse_response`` / ``parse_error``, streamed bodies to a ``StreamDecoder``
fed in arbitrary pieces (any byte split, including inside UTF-8 sequences).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from llmx.errors import LlmxError
from llmx.types import Chunk, Request


@dataclass(frozen=True, slots=True)
class HttpCall:
    """An HTTP request ready to send. ``path`` is joined to the profile's base_url."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # holds the API key
    body: bytes = b""


class StreamDecoder(Protocol):
    def feed(self, data: bytes) -> list[Chunk]:
        """Take the next bytes of the body; return the chunks now complete.

        Raises an ``LlmxError`` (usually ``StreamError``) when the stream
        carries an error event.
        """
        ...

    def close(self) -> list[Chunk]:
        """The body ended. Return what is left; raise ``StreamError`` if the
        stream ended before the provider said it was done."""
        ...


class Codec(Protocol):
    name: str  # "openai" | "anthropic" | "ollama"

    def build(self, request: Request, api_key: str | None) -> HttpCall: ...

    def parse_response(self, body: bytes) -> Chunk:
        """A whole 2xx JSON body of a non-streamed request, as one Chunk."""
        ...

    def stream_decoder(self) -> StreamDecoder: ...

    def parse_error(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> LlmxError:
        """Map a non-2xx response to the error tree, keeping the provider's message."""
        ...
