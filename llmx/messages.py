"""OpenAI-style ``messages`` lists read into llmx's own turns. Pure: no IO.

Used wherever llmx accepts such a list (a ``llmx batch`` line, ``llmx serve``'s chat route):
``system`` and ``developer`` messages are system text; ``user`` and ``assistant`` messages
are turns; content is a string or a list of text parts (joined by newlines). Anything else
raises ``BadMessages`` whose text names the message (``messages[2].role ...``).
"""

from __future__ import annotations

import json

from llmx.types import Message


class BadMessages(ValueError):
    """Why a messages list cannot be read; ``str(exc)`` is one line."""


def split_messages(value: object) -> tuple[list[str], list[Message]]:
    """(system texts, user/assistant turns), in order."""
    if not isinstance(value, list) or not value:
        raise BadMessages('"messages" must be a non-empty list')
    systems: list[str] = []
    turns: list[Message] = []
    for n, item in enumerate(value):
        if not isinstance(item, dict):
            raise BadMessages(f"messages[{n}] must be an object")
        role, content = item.get("role"), message_text(item.get("content"), n)
        if role in ("system", "developer"):
            systems.append(content)
        elif role == "user" or role == "assistant":
            turns.append(Message(role, content))
        else:
            raise BadMessages(f"messages[{n}].role {show(role)} is not supported "
                              "(system, developer, user, assistant)")
    return systems, turns


def message_text(value: object, n: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: text only
        texts = [part.get("text") for part in value if isinstance(part, dict)]
        if len(texts) == len(value) and all(isinstance(t, str) for t in texts):
            return "\n".join(str(t) for t in texts)
        raise BadMessages(f"messages[{n}].content: only text parts are supported")
    raise BadMessages(f"messages[{n}].content must be a string or a list of text parts")


def show(value: object) -> str:
    """A short JSON rendering of a bad (JSON-decoded) value for an error message."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."
