"""The integration fixtures (a real ``llmx sim`` process per session) for these tests."""

from tests.integration.conftest import _sims, sim, sim_factory  # noqa: F401
