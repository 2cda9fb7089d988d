"""What counts as a variable (the shape of the whole token) and how a slot is summarised."""

from __future__ import annotations

import pytest

from llmx.compress.rules import compress
from llmx.compress.shapes import split_line_parts, summarise

TIMES = "\u00d7"


def variables(line: str) -> list[str]:
    return split_line_parts(line)[1::2]


@pytest.mark.parametrize(("line", "expected"), [
    ("id a692f1-0c3b done", ["a692f1-0c3b"]),  # starts with a letter: still a variable
    ("request req-7fz9 from node-b12", ["req-7fz9", "node-b12"]),
    ("user7 logged in", ["user7"]),
    ("peer 10.251.30.85:50010 closed.", ["10.251.30.85:50010"]),  # the full stop is text
    ("read /var/lib/app/42/data.bin now", ["/var/lib/app/42/data.bin"]),  # a path with an id
    ("read /var/lib/app/data.bin now", []),  # a path without one is literal
    ('got "GET /a?id=7 HTTP/1.1" back', ['"GET /a?id=7 HTTP/1.1"']),  # quoted: kept whole
    ('said "hello there" back', []),
    ("see https://example.com/v2/items?page=3 x", ["https://example.com/v2/items?page=3"]),
    ("at 2015-10-20 09:10:57.153 start", ["2015-10-20 09:10:57.153"]),
    ("Dec 10 06:55:46 host", ["Dec 10 06:55:46"]),
    ("[Sun Dec 04 04:47:44 2005] [error]", ["Sun Dec 04 04:47:44 2005"]),
    ("17/06/09 20:10:40 INFO", ["17/06/09 20:10:40"]),
    ("key deadbeefcafebabe seen", ["deadbeefcafebabe"]),  # 16+ hex letters, no digit
    ('{"Stage ID":0,"h":"10.1.2.3"}', ["0", '"10.1.2.3"']),
    (r'"a\"1" then', [r'"a\"1"']),  # an escaped quote stays inside the value
    ("ERROR Connection reset by peer", []),
])
def test_a_variable_is_decided_by_the_whole_token(line: str, expected: list[str]) -> None:
    assert variables(line) == expected


def test_split_parts_put_back_together_are_the_text() -> None:
    text = 'a 1 b "x 2" c\nDec 10 06:55:46 d blk_-3 e\n'
    assert "".join(split_line_parts(text)) == text


@pytest.mark.parametrize(("values", "shown", "missing"), [
    (["7", "7"], "7", set()),
    (["1", "3", "1"], "<1|3>", set()),
    (["5", "-2", "40", "9"], "<-2..40>", set()),
    (["0.5", "12", "3.25", "1"], "<0.5..12>", set()),
    (["Dec 10 06:55:46", "Dec 10 07:00:01", "Dec 10 06:59:00", "Dec 11 01:00:00"],
     "<Dec 10 06:55:46..Dec 11 01:00:00>", set()),  # times: first..last, in order seen
    (["blk_7", "blk_-9", "blk_12", "blk_3"], "blk_<-9..12>", set()),  # one integer varies
    (["ab1x", "cd2y", "ef3z", "gh4w"], "<ab1x|gh4w|… 4 distinct>", set()),
    (["user=alice1", "user=bobby2", "user=carol3", "user=dave4"],
     "user=<alice1|dave4|… 4 distinct>", {"bobby", "carol"}),  # a shared part written once
    (["worker-11", "worker-13", "worker-11"], "worker-<11|13>", set()),
    (["10.0.11.5:5432", "10.0.13.5:5432"], "10.0.<11|13>.5:5432", set()),  # cut at a dot
    (["ab12", "ab13"], "<ab12|ab13>", set()),  # never inside a run of letters and digits
    (["0.551s", "1.654s", "0.2s", "2.907s"], "<0.2..2.907>s", set()),  # a unit
    (["08:00:03,111", "08:00:40,000", "08:00:59,183", "08:01:00,000"],
     "<08:00:03,111..01:00,000>", set()),  # the last without the hour it shares
    (["2024-01-01 10:00:00", "2024-01-02 10:00:00", "2024-01-03 10:00:29", "2024-01-03 9:00"],
     "<2024-01-01 10:00:00..2024-01-03 9:00>", set()),  # never a part of a date
    (["2024-01-01 10:00:00", "2024-01-01 10:00:09", "2024-01-01 10:00:29", "2024-01-01 11:00"],
     "<2024-01-01 10:00:00..11:00>", set()),  # same day: the date left out
])
def test_summaries(values: list[str], shown: str, missing: set[str]) -> None:
    assert summarise(values) == (shown, missing)


def test_ids_that_start_with_a_letter_no_longer_make_a_template_per_line() -> None:
    """The failure the issue measured: UUID groups, request ids, node names kept lines apart."""
    lines = [f"2026-01-01 10:00:{i % 60:02d} INFO node-{chr(97 + i % 26)}{i} request "
             f"req-{i:x}ab{i % 9} uuid {i:08x}-a{i % 7}c2-4d1e-9b{i % 5}f-{i * 7919:012x} ok"
             for i in range(300)]
    out = compress("\n".join(lines), "aggressive").split("\n")
    assert len(out) == 2  # the legend and one template
    assert out[1].endswith(f" [{TIMES}300]") and " request " in out[1] and " ok " in out[1]


def test_every_word_of_the_input_survives_folding() -> None:
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    lines = [f"10:00:{i:02d} login ok for user={names[i % 8]}{i} from 10.0.0.{i}"
             for i in range(40)]
    out = compress("\n".join(lines), "aggressive")
    assert out.count("\n") == 1
    assert all(name in out for name in names)
