"""Every simulator test also fails if asyncio logged an error (a task destroyed
while pending, an exception nobody retrieved, a failing protocol callback)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_asyncio_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING, logger="asyncio")
    yield
    records = caplog.get_records("setup") + caplog.get_records("call")
    errors = [r.getMessage() for r in records if r.name == "asyncio" and r.levelno >= logging.ERROR]
    assert errors == []
