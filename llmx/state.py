"""Answers before state: how trouble with llmx's local state is reported. Standard library only.

The cache, the request records, the semantic index and the tokenizer cache only save time
and money. When one of them cannot be opened, read or written (a read-only or full disk, a
damaged file), the answer is still delivered and the trouble costs one warning line; it
never turns an answer into an error.

The engine does not print. It reports through a ``Warn``: a callable taking one line of
text (no ``warning:`` prefix, no newline). ``Client(warn=...)`` takes one; the default,
``to_stderr``, writes ``warning: <line>`` to ``sys.stderr``; the CLI passes ``stderr_warn``
bound to its own stderr stream. A Client wraps it in ``Once``, which says each topic once
(several clients, e.g. one per profile in a batch, may share one ``Once`` instead):

* ``STATE``: the first failure to read or write state; the rest of the run is silent
  (a read-only ``$LLMX_HOME`` fails the cache and the records alike: one line, not two).
* a damaged database moved aside: one line per database (``llmx.cache.store``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Final, TextIO

from llmx.errors import ExitCode, LlmxError

Warn = Callable[[str], None]

STATE: Final = "state"


class StateUnavailable(LlmxError):
    """Local state (cache, records, index) could not be read or written. Callers on the
    request path catch it: the answer goes on without that state. Where it does reach the
    boundary (``llmx cache ls`` on a read-only or damaged cache) it is the environment's
    problem, not llmx's: exit 2, like a configuration that cannot be used."""

    exit_code = ExitCode.USAGE

    default_hint = "check free disk space and permissions; `llmx cache clear --yes` starts afresh"


def stderr_warn(stream: TextIO) -> Warn:
    """A ``Warn`` writing ``warning: <line>`` to ``stream`` (failures to write are ignored)."""

    def warn(message: str) -> None:
        try:
            stream.write(f"warning: {' '.join(message.split())}\n")
            stream.flush()
        except (OSError, ValueError):
            pass

    return warn


def to_stderr(message: str) -> None:
    """The default ``Warn``: one line on the process's stderr."""
    stderr_warn(sys.stderr)(message)


class Once:
    """Passes each topic's first message to ``warn`` and drops the rest."""

    __slots__ = ("_said", "_warn")

    def __init__(self, warn: Warn) -> None:
        self._warn = warn
        self._said: set[str] = set()

    def __call__(self, topic: str, message: str) -> None:
        if topic not in self._said:
            self._said.add(topic)
            self._warn(message)

    def notice(self, message: str) -> None:
        """A one-off event (a damaged database moved aside): its own topic."""
        self(message, message)

    def state_failed(self, what: str, error: BaseException) -> None:
        """Report that ``what`` (e.g. "save the answer to the cache") failed, once per run."""
        self(STATE, f"could not {what}: {describe(error)} (answers are still delivered)")


def describe(error: BaseException) -> str:
    """A short, secret-free description of a state failure."""
    if isinstance(error, LlmxError):
        return error.message
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return type(error).__name__
