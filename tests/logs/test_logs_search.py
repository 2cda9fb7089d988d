"""Searching the logs: every word, taken literally; FTS5 tokens, or substrings without it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmx.errors import UsageError
from llmx.logs import Entry, append
from llmx.logs_read import check_cid, find_cid, latest_cid, recent
from tests.logs.kit import entry, opened


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    home = tmp_path / "state"
    rows = [entry(prompt="my name is Ann", answer="Nice to meet you", cid="aaaa00000001"),
            entry(prompt="annual report", answer="Done", cid="aaaa00000002", ts=1_800_000_001.0),
            entry(prompt="what is my name?", answer="Your name is ANN", cid="aaaa00000001",
                  ts=1_800_000_002.0),
            entry(prompt="quotes \"and\" OR NOT stars*", answer="fine", system="Ann's system",
                  cid="bbbb00000001", ts=1_800_000_003.0)]
    for row in rows:
        append(row, home)
    connection = opened(home)
    yield connection
    connection.close()


def prompts(entries: list[Entry]) -> list[str]:
    return [e.prompt for e in entries]


def test_newest_last_and_a_limit_keeps_the_newest(logged: sqlite3.Connection) -> None:
    assert prompts(recent(logged, 2)) == ["what is my name?", 'quotes "and" OR NOT stars*']
    assert len(recent(logged)) == 4


def test_full_text_matches_words_in_prompt_answer_and_system(
        logged: sqlite3.Connection) -> None:
    assert prompts(recent(logged, text="ann")) == [
        "my name is Ann", "what is my name?", 'quotes "and" OR NOT stars*']
    assert prompts(recent(logged, text="name Ann")) == ["my name is Ann", "what is my name?"]
    assert recent(logged, text="Annu") == []  # a token, not a prefix


def test_query_syntax_is_taken_literally(logged: sqlite3.Connection) -> None:
    for text in ['"and"', "OR", "NOT", "stars*", 'quotes "and', "(", "a:b"]:
        recent(logged, text=text)  # never an FTS5 syntax error
    assert prompts(recent(logged, text='"and" stars*')) == ['quotes "and" OR NOT stars*']


def test_without_fts5_words_are_substrings(logged: sqlite3.Connection) -> None:
    logged.execute("DROP TABLE logs_fts")
    assert prompts(recent(logged, text="ann")) == [
        "my name is Ann", "annual report", "what is my name?", 'quotes "and" OR NOT stars*']
    assert prompts(recent(logged, text="50%_")) == []
    assert prompts(recent(logged, text="NOT stars*")) == ['quotes "and" OR NOT stars*']


def test_an_empty_search_is_a_usage_error(logged: sqlite3.Connection) -> None:
    with pytest.raises(UsageError, match="-q"):
        recent(logged, text="  ")


def test_conversations_by_id_prefix_and_newest(logged: sqlite3.Connection) -> None:
    assert latest_cid(logged) == "bbbb00000001"
    assert prompts(recent(logged, cid="aaaa00000001")) == ["my name is Ann", "what is my name?"]
    assert find_cid(logged, "bbbb") == "bbbb00000001"
    assert find_cid(logged, "aaaa00000002") == "aaaa00000002"
    assert find_cid(logged, "cccc") is None
    with pytest.raises(UsageError, match="several"):
        find_cid(logged, "aaaa")
    for bad in ["", "a b", "x" * 65, "a*", "é"]:
        with pytest.raises(UsageError, match="not a conversation id"):
            check_cid(bad)
