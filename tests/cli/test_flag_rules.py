"""Flags follow the config's own rules: a bad value exits 2 with one line, nothing is sent.

Every request would go to a closed port (exit 5), so exit 2 proves nothing was sent.
Both ways into ``ask`` are checked: the fast parser and the Typer app.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmx.errors import ExitCode
from tests.cli.clikit import ENTRIES, run, unreachable_config
from tests.cli.harness import Entry

BAD_ASK_FLAGS = [
    (["--temperature", "9"], "--temperature", "between 0 and 2"),
    (["--temperature", "-0.5"], "--temperature", "between 0 and 2"),
    (["--temperature", "nan"], "--temperature", "finite"),
    (["--temperature", "inf"], "--temperature", "finite"),
    (["--temperature=-inf"], "--temperature", "finite"),
    (["--max-tokens", "0"], "--max-tokens", "at least 1"),
    (["--max-tokens", "-3"], "--max-tokens", "at least 1"),
    (["--kind", "bogus"], "--kind", "code"),
    (["--compress", "bogus"], "--compress", "aggressive"),
    (["--model", ""], "--model", "empty"),
]


@pytest.mark.parametrize("entry", ENTRIES.values(), ids=ENTRIES.keys())
@pytest.mark.parametrize(("flags", "flag", "rule"), BAD_ASK_FLAGS)
def test_bad_ask_flag_exits_2_and_sends_nothing(
    tmp_path: Path, entry: Entry,
    flags: list[str], flag: str, rule: str,
) -> None:
    config = unreachable_config(tmp_path)
    result = run(entry, ["ask", "--config", str(config), "--no-stdin", *flags, "hi"])
    line = result.assert_one_error(ExitCode.USAGE, flag, rule)
    assert "nan" not in line.lower().replace("finite", "")


@pytest.mark.parametrize("entry", ENTRIES.values(), ids=ENTRIES.keys())
def test_anthropic_temperature_range_applies_to_the_flag(
    tmp_path: Path, entry: Entry,
) -> None:
    config = unreachable_config(tmp_path, provider="anthropic")
    argv = ["ask", "--config", str(config), "--no-stdin", "--temperature", "1.5", "hi"]
    run(entry, argv).assert_one_error(ExitCode.USAGE, "--temperature",
                                              "between 0 and 1", "anthropic")


@pytest.mark.parametrize("entry", ENTRIES.values(), ids=ENTRIES.keys())
def test_good_flags_still_reach_the_provider(
    tmp_path: Path, entry: Entry,
) -> None:
    config = unreachable_config(tmp_path)
    argv = ["ask", "--config", str(config), "--no-stdin", "--temperature", "2", "--max-tokens",
            "1", "--kind", "code", "--compress", "aggressive", "hi"]
    run(entry, argv).assert_one_error(ExitCode.NETWORK)


BAD_SIM_FLAGS = [
    (["--port", "99999"], "--port", "between 0 and 65535"),
    (["--port", "-1"], "--port", "between 0 and 65535"),
    (["--latency-ms", "nan"], "--latency-ms", "finite"),
    (["--latency-ms", "inf"], "--latency-ms", "finite"),
    (["--ttft-ms", "-1"], "--ttft-ms", "at least 0"),
    (["--tokens-per-s", "nan"], "--tokens-per-s", "finite"),
    (["--batch-delay-s", "inf"], "--batch-delay-s", "finite"),
    (["--fail-rate", "1.5"], "--fail-rate", "between 0 and 1"),
    (["--jitter", "nan"], "--jitter", "finite"),
    (["--cut-rate", "-0.1"], "--cut-rate", "between 0 and 1"),
]


@pytest.mark.parametrize(("flags", "flag", "rule"), BAD_SIM_FLAGS)
def test_bad_sim_flag_exits_2(flags: list[str], flag: str, rule: str) -> None:
    run(ENTRIES["typer"], ["sim", *flags]).assert_one_error(ExitCode.USAGE, flag, rule)
