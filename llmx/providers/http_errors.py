"""How the HTTP engine's failures read: httpx exceptions mapped to the ``LlmxError`` tree,
once, with messages that name the host (never the URL) and the proxy when one is used
(``proxy.shown``: without its credentials). Pure: no IO.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import httpx

from llmx.errors import LlmxError, RequestTimeout, StreamError, TransportError

_PROXY_HINT = ("is the proxy up? It comes from HTTPS_PROXY / HTTP_PROXY / ALL_PROXY; hosts in "
               "NO_PROXY (and loopback) skip it")


@dataclass(slots=True)
class Failure(Exception):
    """An attempt failed; ``retryable`` and ``retry_after`` steer the retry loop."""

    error: LlmxError
    retryable: bool
    retry_after: float | None = None


def host_of(base_url: str) -> str:
    url = httpx.URL(base_url)
    port = f":{url.port}" if url.port else ""
    return f"{url.host}{port}"


def timeout_message(base_url: str, timeout: float) -> str:
    return f"no answer from {host_of(base_url)} within {timeout:g}s (the profile's timeout)"


def transport_failure(exc: httpx.HTTPError, base_url: str, proxy: str | None,
                      timeouts: tuple[float, float]) -> Failure:
    """Map an httpx exception (``timeouts``: the connect and read timeouts, for messages)."""
    from llmx.providers.proxy import shown

    connect_timeout, read_timeout = timeouts
    host = host_of(base_url) if proxy is None else f"{host_of(base_url)} via proxy {shown(proxy)}"
    if isinstance(exc, httpx.ProxyError):
        error: LlmxError = TransportError(f"the proxy failed: {host}: {_proxy_reason(exc)}")
    elif isinstance(exc, httpx.ConnectTimeout):
        error = RequestTimeout(f"connecting to {host} timed out after {connect_timeout:g}s")
    elif isinstance(exc, httpx.TimeoutException):
        error = RequestTimeout(f"no data from {host} for {read_timeout:g}s (read timeout)")
    elif isinstance(exc, httpx.ConnectError):
        error = TransportError(f"cannot connect to {host}: {_reason(exc)}")
    elif isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        error = TransportError(f"connection to {host} was closed mid-response")
    elif isinstance(exc, httpx.DecodingError):
        error = StreamError(f"could not decode the response from {host}")
        return Failure(error, retryable=False)
    else:
        error = TransportError(f"HTTP error talking to {host}: {type(exc).__name__}")
    if proxy is not None:
        error.hint = _PROXY_HINT
    return Failure(error, retryable=True)


def _reason(exc: BaseException) -> str:
    """Why a connect failed, from the OS error under httpx's exception chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "host name not found"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    return "connection refused" if "refused" in text else "connection failed"


def _proxy_reason(exc: httpx.ProxyError) -> str:
    """What the proxy said (e.g. ``502 Bad Gateway`` for a refused tunnel), credentials cut."""
    text = " ".join(str(exc).split())[:120]
    return text.rpartition("@")[2] if "@" in text else (text or "no reason given")
