"""Parametrizes capture-driven tests over the recorded wire captures.

A test asking for ``stream_capture``, ``sse_capture``, ``chat_capture``, ``embeddings_capture``,
``error_capture``, ``request_capture`` or ``any_capture`` runs once per matching
capture in ../shared/data/wire, and is skipped with a clear reason when that
directory is absent.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.providers.capture_kit import MISSING_REASON, Capture, load_captures

_SELECTORS: dict[str, Callable[[Capture], bool]] = {
    "stream_capture": lambda c: c.kind == "stream",
    "sse_capture": lambda c: c.content_type == "text/event-stream",
    "chat_capture": lambda c: c.kind == "chat",
    "embeddings_capture": lambda c: c.kind == "embeddings",
    "error_capture": lambda c: c.kind == "error",
    "request_capture": lambda c: (
        isinstance(c.request.get("body"), dict) and "messages" in c.request["body"]
    ),
    "any_capture": lambda c: True,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, select in _SELECTORS.items():
        if fixture not in metafunc.fixturenames:
            continue
        captures: list[Capture] = load_captures()
        if not captures:
            metafunc.parametrize(
                fixture, [pytest.param(None, marks=pytest.mark.skip(reason=MISSING_REASON))]
            )
            continue
        chosen = [c for c in captures if select(c)]
        metafunc.parametrize(fixture, chosen, ids=[c.name for c in chosen])
