"""Helpers shared by the pure codecs: JSON bodies, safe field access, error mapping.

Standard library only; no IO. Nothing here knows a particular provider.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from llmx.errors import (
    AuthError,
    LlmxError,
    ProviderError,
    RateLimitError,
    RequestTimeout,
    StreamError,
)
from llmx.types import Message, Request, Usage

RAW_DETAIL_LIMIT = 200
JSON_DETAIL_LIMIT = 500
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})


class Headers(dict[str, str]):
    """Request headers whose ``repr`` never shows a credential's value."""

    def __repr__(self) -> str:
        shown = {k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in self.items()}
        return f"Headers({shown!r})"

    __str__ = __repr__


def json_headers(extra: Mapping[str, str] | None = None) -> Headers:
    """``Content-Type: application/json`` plus the given (auth/version) headers."""
    headers = Headers({"Content-Type": "application/json"})
    if extra:
        headers.update(extra)
    return headers


def bearer(api_key: str | None) -> dict[str, str]:
    """``Authorization: Bearer <key>`` when there is a key (OpenAI-style and Ollama proxies)."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def encode_json(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as sent on the wire."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chat_messages(request: Request, encode: Callable[[Message], dict[str, Any]] | None = None
                  ) -> list[dict[str, Any]]:
    """The request's messages as role/content dicts, the system prompt first; ``encode``
    (default ``message_dict``) turns each message into its dict."""
    messages: list[dict[str, Any]] = (
        [{"role": "system", "content": request.system}] if request.system else [])
    messages.extend(map(encode or message_dict, request.messages))
    return messages


def message_dict(message: Message) -> dict[str, str]:
    return {"role": message.role, "content": message.content}


def one_line(text: str, limit: int) -> str:
    """Collapse all whitespace (newlines included) to single spaces; cap the length."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: Any) -> int:
    """A token count: ints (not bools) and integral floats; anything else is 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def usage_from(data: Any, input_key: str, output_key: str) -> Usage | None:
    """A ``Usage`` from a JSON object's two count fields; None when it is not an object."""
    if not isinstance(data, dict):
        return None
    return Usage(as_int(data.get(input_key)), as_int(data.get(output_key)))


def load_json(provider: str, body: bytes | str) -> Any:
    """Parse a whole response body, or raise a one-line ``ProviderError``."""
    try:
        return json.loads(body)
    except ValueError:
        raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        snippet = one_line(raw, RAW_DETAIL_LIMIT) or "(empty body)"
        raise ProviderError(f"{provider}: response is not valid JSON: {snippet}") from None


def error_detail(body: bytes | str) -> str:
    """The provider's own error message from an error body (one line).

    Understands ``{"error": {"message", "type", "code"}}`` (OpenAI and
    compatibles, Anthropic), ``{"error": "..."}`` (Ollama), and top-level
    ``message`` / ``detail``. A non-JSON body gives its raw text, shortened.
    """
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(raw)
    except ValueError:
        return one_line(raw, RAW_DETAIL_LIMIT)
    detail = detail_of(data)
    return one_line(raw, RAW_DETAIL_LIMIT) if detail is None else detail


def detail_of(data: Any) -> str | None:
    """The one-line error message inside parsed error JSON, or None if there is none."""
    detail = _find_detail(data)
    return None if detail is None else one_line(detail, JSON_DETAIL_LIMIT)


def _find_detail(data: Any) -> str | None:
    if isinstance(data, str):
        return data
    obj = as_dict(data)
    error = obj.get("error")
    if isinstance(error, str) and error:
        return error
    if isinstance(error, dict):
        message = as_str(error.get("message")) or ""
        label = _error_label(error)
        if message and label and label not in message:
            return f"{message} ({label})"
        return message or label or None
    for key in ("message", "detail"):
        text = as_str(obj.get(key))
        if text:
            return text
    return None


def _error_label(error: Mapping[str, Any]) -> str | None:
    """The machine-readable error code or type, when it adds information."""
    code = error.get("code")
    if isinstance(code, str) and code:
        return code
    return as_str(error.get("type")) or None


def status_error(provider: str, status: int, body: bytes) -> LlmxError:
    """Map a non-2xx response to the error tree: ``"<provider> <status>: <message>"``."""
    detail = error_detail(body) or _reason(status)
    message = f"{provider} {status}: {detail}"
    if status in (401, 403):
        return AuthError(message)
    if status == 429:
        return RateLimitError(message, retry_after=None)
    if status in (408, 504):
        return RequestTimeout(message)
    return ProviderError(message, status=status)


# What an in-band error's type or code stands for, as the HTTP status the provider sends
# for the same error outside a stream: Anthropic's error types (docs: "Errors"), OpenAI's
# types and codes (``server_is_overloaded`` / ``slow_down`` are what the Codex client treats
# as overload). vLLM and OpenRouter put the status itself in ``code`` (a number).
INBAND_STATUS: Mapping[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "api_error": 500,
    "server_error": 500,
    "service_unavailable_error": 503,
    "service_unavailable": 503,
    "server_is_overloaded": 503,
    "slow_down": 503,
    "overloaded_error": 529,
}


def is_error_object(obj: Mapping[str, Any]) -> bool:
    """Whether a JSON object in a 200 body or stream is an error, in any provider's shape:
    ``{"error": ...}`` (OpenAI, Ollama), ``{"type": "error", ...}`` (Anthropic, OpenAI
    Responses) or ``{"object": "error", ...}`` (vLLM)."""
    return bool(obj.get("error")) or obj.get("type") == "error" or obj.get("object") == "error"


def inband_status(data: Any) -> int | None:
    """The HTTP status an in-band error object stands for, when its code or type says."""
    obj = as_dict(data)
    error = obj.get("error")
    fields = error if isinstance(error, dict) else obj
    code = fields.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return code
    for label in (code, fields.get("type")):
        if isinstance(label, str) and label in INBAND_STATUS:
            return INBAND_STATUS[label]
    return None


def inband_error(
    provider: str, data: Any, default_status: int | None = None, *, stream: bool = True
) -> LlmxError:
    """An error reported inside a 200 body or stream, mapped like its HTTP equivalent:
    429 -> ``RateLimitError``, 401/403 -> ``AuthError``, anything else a ``StreamError``
    carrying the status (so 5xx overloads retry like their HTTP twins)."""
    parsed = data
    if isinstance(data, str):
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
    detail = detail_of(parsed) if parsed is not None else None
    if detail is None and isinstance(data, str):
        detail = error_detail(data)
    where = f"{provider} stream error" if stream else provider
    message = f"{where}: {detail or 'unknown error'}"
    status = inband_status(parsed)
    status = default_status if status is None else status
    if status == 429:
        return RateLimitError(message)
    if status in (401, 403):
        return AuthError(message)
    return (StreamError if stream else ProviderError)(message, status=status)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"
