"""Cache keys: a sha256 of the canonical request. Pure (standard library only).

``exact_key`` hashes, as compact sorted-key JSON:

* a key version (bump ``KEY_VERSION`` when the layout changes: old entries simply stop matching;
  version 2 added the base URL's scheme, path and API-selecting query to the endpoint),
* the provider name and the endpoint as ``scheme://host:port/path`` (see ``endpoint_of``: never
  the userinfo, and never an API key: no function here is ever given one),
* the model, the system prompt and every message as ``[role, content]`` (a message with
  images as ``[role, content, [sha256 hex of each image's bytes]]``: the bytes decide, not
  the file name or URL they came from; a message without images keys as it always did),
* every generation parameter that changes the answer: each field of ``Request`` other than
  ``model``, ``messages``, ``system`` and ``stream`` (streamed and whole answers share entries),
  plus any ``params`` the caller adds; ``None`` values are left out, so adding a new optional
  field to ``Request`` does not invalidate existing keys (``tools``, ``tool_choice`` and
  ``schema`` are keyed this way: as their canonical JSON text, and only when set),
* the compressor version (``None`` when compression is off).

``scope_key`` hashes the same inputs with the content of the last user message blanked out:
two requests share a scope when only that question differs, so a semantic match may stand in
for the other's answer (its images stay in the scope: a similar question about another
image is another question). A request with ``tools`` keeps its question in the scope: tool calls
are answered by the exact tier only. The two hashes are domain-separated and never collide.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from importlib import import_module
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from llmx.types import Message, Request

KEY_VERSION: Final = 2
_NOT_PARAMS: Final = frozenset({"model", "messages", "system", "stream"})
_DEFAULT_PORTS: Final = MappingProxyType({"http": 80, "https": 443})
_API_QUERY: Final = frozenset({"api-version"})  # query parameters that select the API (Azure)


def exact_key(
    request: Request,
    *,
    provider: str,
    endpoint: str,
    compressor: str | None,
    params: Mapping[str, Any] | None = None,
) -> str:
    """sha256 hex of everything that decides the answer to ``request``."""
    document = _document("exact", request, provider, endpoint, compressor, params)
    document["messages"] = [_keyed(m, m.content) for m in request.messages]
    return _digest(document)


def scope_key(
    request: Request,
    *,
    provider: str,
    endpoint: str,
    compressor: str | None,
    params: Mapping[str, Any] | None = None,
) -> str:
    """Like ``exact_key`` but blind to the content of the last user message."""
    document = _document("scope", request, provider, endpoint, compressor, params)
    # With tools, the question is part of the scope: a call's arguments come from it, so a
    # similar question ("weather in Lyon?") must never replay another's calls.
    last_user = _last_user_index(request) if request.tools is None else None
    document["messages"] = [
        _keyed(m, None if i == last_user else m.content) for i, m in enumerate(request.messages)
    ]
    return _digest(document)


@functools.lru_cache(maxsize=64)  # a pure function of a profile's URL: parsed once
def endpoint_of(base_url: str) -> str:
    """The endpoint a base URL names, for the cache key: ``scheme://host:port/path``.

    Scheme and host are lower-cased, the scheme's default port filled in, the path kept as
    written less its trailing ``/`` (gateways route by path: ``/a/v1`` and ``/b/v1`` are two
    endpoints). ``user:password@`` and the fragment are dropped; of the query only the
    parameters that select the API are kept (``api-version``, sorted), so ``?api-version=1``
    and ``?api-version=2`` differ. A URL without a scheme is read as ``http://``; IPv6 hosts
    keep their brackets (``http://[::1]:8080``).
    """
    text = base_url.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    scheme = parts.scheme.lower()
    hostname = (parts.hostname or "").lower()
    if ":" in hostname:
        hostname = f"[{hostname}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    where = hostname if port is None else f"{hostname}:{port}"
    query = "&".join(sorted(f"{name}={value}" for name, value in parse_qsl(parts.query)
                            if name.lower() in _API_QUERY))
    return f"{scheme}://{where}{parts.path.rstrip('/')}" + (f"?{query}" if query else "")


def generation_params(request: Request, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The output-changing parameters of ``request`` (plus ``extra``), ``None`` values dropped,
    integral floats written as ints (``temperature=1`` and ``1.0`` are the same request)."""
    found = {
        name: getattr(request, name) for name in request._fields if name not in _NOT_PARAMS
    }
    found.update(extra or {})
    return {name: _canonical_number(value) for name, value in found.items() if value is not None}


def _document(
    domain: str,
    request: Request,
    provider: str,
    endpoint: str,
    compressor: str | None,
    params: Mapping[str, Any] | None,
) -> dict[str, Any]:
    return {
        "v": KEY_VERSION,
        "domain": domain,
        "provider": provider,
        "endpoint": endpoint,
        "model": request.model,
        "system": request.system,
        "params": generation_params(request, params),
        "compressor": compressor,
    }


def _keyed(message: Message, content: str | None) -> list[Any]:
    if not message.images:
        return [message.role, content]
    sha256 = _sha256()
    return [message.role, content, [sha256(image.data).hexdigest() for image in message.images]]


def _last_user_index(request: Request) -> int | None:
    for index in range(len(request.messages) - 1, -1, -1):
        if request.messages[index].role == "user":
            return index
    return None


def _canonical_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _digest(document: Mapping[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest: str = _sha256()(text.encode("ascii")).hexdigest()
    return digest


@functools.cache
def _sha256() -> Callable[[bytes], Any]:
    """sha256 from CPython's own module (``_sha256``; ``_sha2`` from 3.12), else hashlib's:
    the digest is the same, and hashlib would load OpenSSL (~3 ms of every cache hit)."""
    for name in ("_sha256", "_sha2"):
        try:
            found: Callable[[bytes], Any] = import_module(name).sha256
        except (ImportError, AttributeError):
            continue
        return found
    import hashlib

    return hashlib.sha256
