"""Reasoning and cached-token values outside the codecs: prices for cached input, records'
reasoning tokens (old lines still read), cache entries keeping reasoning (old entries still
read), the stderr writer of ``--show-reasoning``."""

from __future__ import annotations

import io
import json

import pytest

from llmx.cache.rows import entry_json
from llmx.cache.types import Entry
from llmx.cli._io import Io
from llmx.cli.ask_reasoning import DIM, RESET, ReasoningOut
from llmx.config.settings import Price
from llmx.records import Record
from llmx.records_read import parse_line
from llmx.steps import cost_of
from llmx.types import Usage
from tests.stats.factory import record

ENTRY = Entry(text="42", chunks=(), model="m", provider="openai", input_tokens=3,
              output_tokens=9, finish_reason="stop", prompt="q", scope="s", kind="chat",
              created=1.0)


def test_cached_input_and_cache_writes_are_priced_at_their_own_rates() -> None:
    usage = Usage(2006, 300, cache_read_tokens=1920)
    price = Price(input=2.0, output=8.0, cached_input=0.5)
    expected = (86 * 2.0 + 1920 * 0.5 + 300 * 8.0) / 1e6
    assert cost_of(price, usage) == pytest.approx(expected)
    anthropic = Usage(2110, 25, cache_read_tokens=2000, cache_write_tokens=100)
    priced = Price(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75)
    assert cost_of(priced, anthropic) == pytest.approx(
        (10 * 3.0 + 2000 * 0.3 + 100 * 3.75 + 25 * 15.0) / 1e6)


def test_without_cache_prices_cached_tokens_cost_the_input_rate() -> None:
    usage = Usage(100, 10, cache_read_tokens=80, cache_write_tokens=20)
    assert cost_of(Price(input=1.0, output=2.0), usage) == pytest.approx((100 + 20) / 1e6)


def test_records_carry_reasoning_tokens_and_old_lines_read_as_zero() -> None:
    line = json.dumps(record(reasoning_tokens=33).to_json()) + "\n"
    again = parse_line(line.encode())
    assert again is not None and again.reasoning_tokens == 33
    old = record().to_json()
    del old["reasoning_tokens"]  # a line written before the field existed
    parsed = parse_line((json.dumps(old) + "\n").encode())
    assert isinstance(parsed, Record) and parsed.reasoning_tokens == 0
    assert parsed.output_tokens == 5


def test_entries_keep_reasoning_and_old_entries_read() -> None:
    thought = ENTRY._replace(reasoning="think first")
    assert entry_json(thought) == thought.to_json()
    assert Entry.from_json(thought.to_json()) == thought
    assert "reasoning" not in ENTRY.to_json()  # no reasoning: the old form, unchanged
    assert Entry.from_json(ENTRY.to_json()).reasoning == ""
    with pytest.raises(ValueError):
        Entry.from_json({**thought.to_json(), "reasoning": 7})


def over(stderr: io.StringIO, tty: bool) -> Io:
    return Io.over(stdin=io.BytesIO(), stdout=io.StringIO(), stdout_bytes=None, stderr=stderr,
                   env={}, stdin_is_tty=False, stdout_is_tty=False, stderr_is_tty=tty)


@pytest.mark.parametrize("tty", [True, False])
def test_reasoning_is_dim_on_a_terminal_plain_in_a_pipe(tty: bool) -> None:
    err = io.StringIO()
    out = ReasoningOut(over(err, tty))
    out.write("a")
    out.write("b")
    out.end()
    out.end()  # idempotent
    assert err.getvalue() == (f"{DIM}ab{RESET}\n" if tty else "ab\n")
