"""What both of the proxy's wire shapes share: the call a request asks for, and the error
for a request llmx cannot serve."""

from __future__ import annotations

from typing import NamedTuple

from llmx.plan import Call


class BadRequest(Exception):
    """The request body is not one llmx can serve; ``str(exc)`` says why (a 400)."""


class ChatCall(NamedTuple):
    model: str | None  # the request's ``model``: a profile name, or a model of the default
    prompt: str
    call: Call
    stream: bool
    include_usage: bool
