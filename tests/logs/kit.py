"""Entries and a state directory for the logs tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from llmx.logs import Entry, new_id
from llmx.logs_db import open_logs
from llmx.logs_read import recent


def entry(prompt: str = "my name is Ann", answer: str = "Hello Ann", **changes: object
          ) -> Entry:
    base = Entry(uid=new_id(24), ts=1_800_000_000.0, cid="c0ffee000001", profile="sim",
                 provider="openai", model="sim-1", tier="miss", system=None, prompt=prompt,
                 answer=answer, input_tokens=4, output_tokens=3)
    return base._replace(**changes)


def opened(home: Path) -> sqlite3.Connection:
    connection = open_logs(home, create=True)
    assert connection is not None
    return connection


def everything(home: Path) -> list[Entry]:
    connection = opened(home)
    try:
        return recent(connection)
    finally:
        connection.close()
