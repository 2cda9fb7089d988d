"""The error tree. Every error a user can cause or meet maps to one exit code.

    LlmxError (1, internal)
    ├── UsageError (2)            bad flags, bad input (e.g. invalid UTF-8 on stdin)
    │   └── ConfigError (2)       malformed TOML, unknown key or profile
    ├── AuthError (3)             missing API key, 401/403
    ├── RateLimitError (4)        429 after retries
    ├── TransportError (5)        connection refused/reset, DNS
    │   └── RequestTimeout (5)    connect/read/total timeout
    ├── ProviderError (6)         any other provider error; carries its own message and
    │   │                         status (5 for an overloaded 502/503/529, also in-band)
    │   └── StreamError (6)       a stream that ended with an error or was cut
    ├── OutputError (8)           stdout or a batch -o file cannot be written (disk full,
    │                             closed); batch's OutputFailed is one
    ├── RefusedError (9)          the model refused (OpenAI ``refusal``, Anthropic
    │                             ``stop_reason: refusal``) or a content filter stopped the
    │                             answer (``finish_reason: content_filter``); never cached
    ├── SchemaMismatch (10)       a structured answer (``--schema``) is not JSON or does not
    │                             follow the schema; the answer is still printed, not cached
    ├── StateUnavailable (2)      (llmx.state) the cache or records cannot be used: a
    │                             warning on the request path, exit 2 elsewhere
    └── Interrupted (130)         Ctrl-C / SIGTERM

``ExitCode.PARTIAL`` (7) is not an exception: batch runs return it when some
lines failed; nor is ``ExitCode.NO_CODE_BLOCK`` (11): ``ask -x`` returns it when the
answer (delivered, cached and recorded as usual) has no fenced code block to print.
Messages are one line each and never contain secrets: every error's
message and hint pass through ``redact`` when the error is made, so a key a provider
echoes back ("Incorrect API key provided: sk-...") is masked before anything can
print, write or record it. ``redact`` masks every value given to ``register_secret``
(``config/secrets.py`` registers each API key it resolves) and two unmistakable
credential shapes: ``Bearer <token>`` and ``sk-`` keys (OpenAI, Anthropic, OpenRouter).
"""

from __future__ import annotations

import re
from enum import IntEnum

MIN_SECRET_LENGTH = 8
"""Shorter values are not registered: masking them would garble ordinary words."""

_SECRETS: set[str] = set()
# ``Bearer <token>`` (a token holds a digit, so "bearer authentication" stays) and
# ``sk-`` keys (OpenAI ``sk-proj-``, Anthropic ``sk-ant-``, OpenRouter ``sk-or-``). A pattern
# string: ``re`` compiles it on first use, not at the import every command pays for.
_KEY_SHAPES = (
    r"(?i:bearer)\s+(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{8,}|\bsk-[A-Za-z0-9_-]{16,}"
)


def register_secret(value: str) -> None:
    """Remember a secret (an API key) so that ``redact`` masks it from now on."""
    if len(value) >= MIN_SECRET_LENGTH:
        _SECRETS.add(value)


def registered_secrets() -> frozenset[str]:
    """The secrets ``register_secret`` was given (``llmx.scrub`` masks them in answers)."""
    return frozenset(_SECRETS)


def mask(secret: str) -> str:
    """A preview safe to show: ``sk-…abcd`` (first 3 and last 4 characters) for
    secrets of 20 characters or more, ``***`` for anything shorter."""
    if len(secret) < 20:
        return "***"
    return f"{secret[:3]}…{secret[-4:]}"


def redact(text: str) -> str:
    """``text`` with every registered secret and every clear key shape masked."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, mask(secret))
    if "sk-" not in text and "bearer" not in text.lower():
        return text  # neither shape can match: skip the scan (a long answer's text is logged)
    return re.sub(_KEY_SHAPES, _mask_shape, text)


def _mask_shape(match: re.Match[str]) -> str:
    found = match.group(0)
    if found[:6].lower() == "bearer":
        return found[:6] + " ***"
    return mask(found)


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    AUTH = 3
    RATE_LIMITED = 4
    NETWORK = 5
    PROVIDER = 6
    PARTIAL = 7
    OUTPUT = 8
    REFUSED = 9
    SCHEMA_MISMATCH = 10
    NO_CODE_BLOCK = 11
    INTERRUPTED = 130


EXIT_CODE_HELP = {
    ExitCode.OK: "success",
    ExitCode.INTERNAL: "internal error (a bug: please report it with LLMX_DEBUG=1)",
    ExitCode.USAGE: "usage or configuration error",
    ExitCode.AUTH: "authentication failed or API key missing",
    ExitCode.RATE_LIMITED: "rate-limited by the provider (after retries)",
    ExitCode.NETWORK: "network error, timeout, or the provider overloaded (502/503/529)",
    ExitCode.PROVIDER: "the provider returned an error",
    ExitCode.PARTIAL: "partial failure: some batch lines failed",
    ExitCode.OUTPUT: "the output could not be written (disk full, stdout closed)",
    ExitCode.REFUSED: "the model refused, or a content filter stopped the answer",
    ExitCode.SCHEMA_MISMATCH: "the answer does not follow --schema (it is still printed)",
    ExitCode.NO_CODE_BLOCK: "-x / --extract-last: the answer has no fenced code block",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C / SIGTERM)",
}


class LlmxError(Exception):
    """Base of every error llmx raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL
    default_hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        hint = hint if hint is not None else self.default_hint
        self.hint = None if hint is None else redact(hint)


class UsageError(LlmxError):
    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    default_hint = "see `llmx config path` and llmx.toml.example"


class AuthError(LlmxError):
    exit_code = ExitCode.AUTH
    default_hint = "check the profile's api_key_env / api_key_cmd"


class RateLimitError(LlmxError):
    exit_code = ExitCode.RATE_LIMITED
    default_hint = "wait and retry, or raise `retries` in the profile"

    def __init__(
        self, message: str, *, retry_after: float | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class TransportError(LlmxError):
    exit_code = ExitCode.NETWORK
    default_hint = "is the server running and base_url right? (`llmx config show`)"


class RequestTimeout(TransportError):
    default_hint = "raise `timeout` in the profile or check the server"


UNAVAILABLE_STATUS = frozenset({502, 503, 529})
"""Overloaded or unavailable (in HTTP or in-band): like a network failure, the request may
simply be tried again later, so it exits 5, not 6."""


class ProviderError(LlmxError):
    exit_code = ExitCode.PROVIDER

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        if status in UNAVAILABLE_STATUS:
            self.exit_code = ExitCode.NETWORK


class StreamError(ProviderError):
    """The stream ended early, was cut, or carried an error event."""


class OutputError(LlmxError):
    """Writing the answer failed locally (``ENOSPC``, ``EIO``, a closed descriptor).

    Its own code: the request may have succeeded (and been paid for), so a script should
    fix the output and rerun rather than treat it as a provider or usage problem. A reader
    that went away (``| head``) is not this: that is a quiet, successful exit."""

    exit_code = ExitCode.OUTPUT


class RefusedError(LlmxError):
    """The model refused or a content filter stopped the answer: its text is the message."""

    exit_code = ExitCode.REFUSED


class SchemaMismatch(LlmxError):
    """A structured answer that is not JSON or does not follow the requested schema."""

    exit_code = ExitCode.SCHEMA_MISMATCH


class Interrupted(LlmxError):
    exit_code = ExitCode.INTERRUPTED
