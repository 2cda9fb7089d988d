"""Test-wide set-up: private state dirs, no user config, and the shared data location."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    """Keep pytest's rewritten test modules (``__pycache__/*-pytest-*.pyc``) even where
    ``PYTHONDONTWRITEBYTECODE`` is set, as CI compiles the package once for the same reason.

    Each xdist worker collects the whole suite, and rewriting the asserts of ~200 modules
    costs each one seconds of CPU; pytest reads a cached rewrite whatever the flag says, but
    writes one only when the flag is off. Only collection is affected: the processes the
    tests start inherit the environment unchanged."""
    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = False
    try:
        return (yield)
    finally:
        sys.dont_write_bytecode = saved


def shared_data_dir() -> Path | None:
    """``$LLMX_SHARED_DATA`` or ``<repo>/../shared/data``; None when neither exists."""
    for candidate in (os.environ.get("LLMX_SHARED_DATA"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def shared_data() -> Path:
    found = shared_data_dir()
    if found is None:
        pytest.skip("../shared/data is absent (set LLMX_SHARED_DATA to run this test)")
    return found


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads the developer's config or writes to their state dir."""
    home = tmp_path_factory.mktemp("llmx-home")
    monkeypatch.setenv("LLMX_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "xdg-state"))
    monkeypatch.delenv("LLMX_CONFIG", raising=False)
    monkeypatch.delenv("LLMX_DEBUG", raising=False)
    yield

