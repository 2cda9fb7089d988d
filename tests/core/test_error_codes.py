"""Exit codes of provider failures: overload exits like a network failure (5), a rate limit
4, anything else the provider says 6 — the same for an HTTP status and an in-band error."""

from __future__ import annotations

import pytest

from llmx.errors import ExitCode
from llmx.providers.wire import inband_error, status_error


@pytest.mark.parametrize(("status", "code"), [
    (429, ExitCode.RATE_LIMITED), (502, ExitCode.NETWORK), (503, ExitCode.NETWORK),
    (529, ExitCode.NETWORK), (504, ExitCode.NETWORK), (500, ExitCode.PROVIDER),
    (400, ExitCode.PROVIDER), (401, ExitCode.AUTH),
])
def test_http_status_exit_codes(status: int, code: ExitCode) -> None:
    assert status_error("openai", status, b'{"error": {"message": "x"}}').exit_code == code


@pytest.mark.parametrize(("body", "code"), [
    ({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
     ExitCode.NETWORK),
    ({"error": {"message": "busy", "type": "server_is_overloaded"}}, ExitCode.NETWORK),
    ({"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
     ExitCode.RATE_LIMITED),
    ({"object": "error", "message": "boom", "code": 500}, ExitCode.PROVIDER),
    ({"error": {"message": "bad", "type": "invalid_request_error"}}, ExitCode.PROVIDER),
])
def test_inband_error_exit_codes(body: object, code: ExitCode) -> None:
    assert inband_error("p", body).exit_code == code


def test_readmes_exit_code_table_lists_every_code() -> None:
    import re
    from pathlib import Path

    from llmx.errors import ExitCode

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme[readme.index("## Exit codes"):]
    listed = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    assert listed == {int(code) for code in ExitCode}
