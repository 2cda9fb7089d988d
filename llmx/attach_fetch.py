"""Fetching an ``-a https://…`` image: one GET, never more than a limit downloaded.

Why llmx fetches rather than passing the URL on: Ollama accepts only the image's bytes,
the cache key must hash the bytes (a URL's content changes), and every provider then gets
the same, already checked, image. The fetch happens once, before the request is prepared.

What a caller may rely on: ``fetch(url, limit)`` returns the body of a 2xx answer
(redirects followed), at most ``limit`` bytes; a longer body is refused as soon as
``limit + 1`` bytes have arrived (a ``Content-Length`` over the limit before any). An HTTP
error status or an oversized body is a ``UsageError``; no connection, a TLS failure or a
timeout (``TIMEOUT`` seconds) is a ``TransportError``. Proxies come from the environment
(``HTTPS_PROXY`` … ``NO_PROXY``), as for provider calls. Standard library only: this one
GET runs before any event loop exists, and needs none of the pooled client's machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmx.errors import TransportError, UsageError

if TYPE_CHECKING:
    from http.client import HTTPResponse

TIMEOUT = 30.0
CHUNK = 64 * 1024


def fetch(url: str, limit: int) -> bytes:
    """The image bytes at ``url`` (see the module docstring)."""
    import urllib.error
    import urllib.request

    from llmx import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"llmx/{__version__}",
                                                   "Accept": "image/*"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return _read(url, response, limit)
    except urllib.error.HTTPError as exc:
        raise UsageError(f"-a {url}: the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise TransportError(f"-a {url}: cannot fetch it ({_reason(exc.reason)})") from None
    except (TimeoutError, OSError) as exc:
        raise TransportError(f"-a {url}: cannot fetch it ({_reason(exc)})") from None


def _read(url: str, response: HTTPResponse, limit: int) -> bytes:
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise UsageError(f"-a {url}: {int(length)} bytes, over the {limit}-byte limit")
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        piece = response.read(min(CHUNK, limit + 1 - size))
        if not piece:
            break
        parts.append(piece)
        size += len(piece)
    if size > limit:
        raise UsageError(f"-a {url}: larger than the {limit}-byte limit")
    return b"".join(parts)


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return str(reason.strerror)
    return str(reason) or type(reason).__name__
