"""Test-wide set-up: private state dirs, no user config, and the shared data location."""

from __future__ import annotations

import os
import sys
from collections import Counter
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


# The files that take longest (``--durations=0``, whole suite, 2026-12-02), longest first.
# pytest-xdist's ``--dist loadfile`` hands out one file at a time to whichever worker is
# nearly idle, so a long file handed out last is a tail that the other workers wait out;
# starting these first is the longest-processing-time-first rule. A stale entry costs
# nothing (it only starts early); every other file follows, most tests first.
LONGEST_FILES = [
    "bench/test_bench_measured.py", "serve/test_serve_openai.py",
    "integration/test_bad_inputs.py", "integration/test_batch_trust.py",
    "ui/test_ui_markdown.py", "serve/test_serve_faults.py", "integration/test_redis_shared.py",
    "serve/test_serve_budgets.py", "integration/test_interrupt_cli.py",
    "serve/test_serve_redis.py", "integration/test_streams_cli.py",
    "integration/test_batch_cli.py", "compress/test_compress_tokens.py",
    "integration/test_cache_cli.py", "cli/test_logs_cli.py", "cache/test_model_embedder.py",
    "compress/test_compress_guarantees.py", "serve/test_serve_anthropic.py",
    "providers/test_provider_wire_replay.py",
]


def pytest_configure(config: pytest.Config) -> None:
    """Keep the file order ``pytest_collection_modifyitems`` sets (pytest-xdist would
    otherwise sort files by their number of tests alone)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files in ``LONGEST_FILES`` order first, then the others, most tests first (what
    xdist's own reorder does); the tests of a file stay together and in their order."""
    counts = Counter(item.path for item in items)
    rank = {REPO / "tests" / name: place for place, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: (rank.get(item.path, len(rank)), -counts[item.path],
                                 str(item.path)))


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

