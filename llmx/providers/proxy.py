"""Which proxy a request goes through, from the environment, decided once per endpoint. Pure.

``proxy_for(url, env)`` reads ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` (either case,
lower case first, as curl does) for the URL's scheme and honours ``NO_PROXY``
(comma-separated: ``*``, host names and their subdomains — ``example.com`` and
``.example.com`` both cover ``api.example.com`` —, ``host:port``, IP addresses and CIDR
ranges).
Loopback endpoints — ``localhost``, ``127.0.0.0/8``, ``::1``, so the embedded simulator
too — never use a proxy, whatever the environment says: a proxy cannot reach this machine's
loopback, and a corporate ``HTTPS_PROXY`` must not break local models.

``shown(proxy)`` is the proxy as error messages name it: scheme, host and port, never the
``user:password@`` part.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

_NAMES = {"http": ("http_proxy", "all_proxy"), "https": ("https_proxy", "all_proxy")}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is loopback."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _env_value(env: Mapping[str, str], name: str) -> str | None:
    for key in (name, name.upper()):
        value = env.get(key, "").strip()
        if value:
            return value
    return None


def proxy_for(url: str, env: Mapping[str, str]) -> str | None:
    """The proxy URL the environment names for ``url``, or None (direct)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or is_loopback(host):
        return None
    proxy = next((found for name in _NAMES.get(parts.scheme, ())
                  if (found := _env_value(env, name))), None)
    if proxy is None:
        return None
    no_proxy = _env_value(env, "no_proxy")
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    if no_proxy and bypassed(host, port, no_proxy):
        return None
    return proxy if "://" in proxy else "http://" + proxy


def bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether a ``NO_PROXY`` list covers ``host`` (and ``port``)."""
    name = host.strip("[]").lower().rstrip(".")
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        entry_host, _, entry_port = entry.rpartition(":") if _has_port(entry) else (
            entry, "", "")
        if entry_port and str(port) != entry_port:
            continue
        entry_host = entry_host.strip("[]").lstrip(".").rstrip(".")
        if entry_host and (name == entry_host or name.endswith("." + entry_host)
                           or _in_network(name, entry_host)):
            return True
    return False


def _has_port(entry: str) -> bool:
    head, sep, tail = entry.rpartition(":")
    return bool(sep) and tail.isdigit() and (head.endswith("]") or ":" not in head)


def _in_network(name: str, entry: str) -> bool:
    try:
        return ipaddress.ip_address(name) in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False


def shown(proxy: str) -> str:
    """``scheme://host:port`` of a proxy URL: no credentials, no path."""
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"
