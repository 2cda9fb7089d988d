"""Input lines -> Jobs / BadLines, both line shapes, streaming readers."""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
import time

import pytest

from llmx.batch.jobs import (
    DEFAULT_PRIORITY,
    BadLine,
    Job,
    aread_jobs,
    estimate_tokens,
    parse_line,
    read_jobs,
)
from llmx.types import Message

from .fakes import jsonl


def job(obj: object, lineno: int = 1) -> Job:
    parsed = parse_line(json.dumps(obj).encode(), lineno)
    assert isinstance(parsed, Job), parsed
    return parsed


def bad(raw: object, lineno: int = 3) -> BadLine:
    data = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    parsed = parse_line(data, lineno)
    assert isinstance(parsed, BadLine), parsed
    return parsed


def test_native_prompt_line_with_every_field() -> None:
    parsed = job({"id": "a", "prompt": "hi", "system": "be brief", "model": "m1",
                  "profile": "fast", "priority": "high",
                  "params": {"temperature": 0.5, "max_tokens": 9, "kind": "code",
                             "compress": "aggressive", "no_cache": True, "refresh": False}},
                 lineno=4)
    assert (parsed.index, parsed.id, parsed.prompt, parsed.messages) == (3, "a", "hi", ())
    assert (parsed.system, parsed.model, parsed.profile, parsed.priority) == (
        "be brief", "m1", "fast", 0)
    assert dict(parsed.params) == {"temperature": 0.5, "max_tokens": 9, "kind": "code",
                                   "compress": "aggressive", "no_cache": True, "refresh": False}
    assert parsed.openai_body is None


def test_defaults_id_from_line_number_and_normal_priority() -> None:
    parsed = job({"prompt": "x"}, lineno=12)
    assert parsed.id == "line-12"
    assert parsed.priority == DEFAULT_PRIORITY
    assert job({"prompt": "x", "priority": "low"}).priority > parsed.priority
    assert job({"prompt": "x", "priority": -5}).priority == -5
    assert job({"id": 7, "prompt": "x"}).id == "7"


def test_messages_split_into_system_history_and_prompt() -> None:
    parsed = job({"id": "m", "system": "outer", "messages": [
        {"role": "system", "content": "inner"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": [{"type": "text", "text": "reply"}]},
        {"role": "user", "content": "second"},
    ]})
    assert parsed.prompt == "second"
    assert parsed.messages == (Message("user", "first"), Message("assistant", "reply"))
    assert parsed.system == "outer\n\ninner"


def test_prompt_with_messages_keeps_all_messages_as_history() -> None:
    parsed = job({"prompt": "now", "messages": [{"role": "user", "content": "before"},
                                                {"role": "assistant", "content": "ok"}]})
    assert parsed.prompt == "now"
    assert [m.content for m in parsed.messages] == ["before", "ok"]


def test_openai_batch_request_line_maps_into_a_job() -> None:
    body = {"model": "gpt-4o-mini", "temperature": 0.2, "max_completion_tokens": 50,
            "top_p": 0.9, "messages": [{"role": "developer", "content": "terse"},
                                       {"role": "user", "content": "2+2?"}]}
    parsed = job({"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions",
                  "body": body})
    assert (parsed.id, parsed.prompt, parsed.system, parsed.model) == (
        "request-1", "2+2?", "terse", "gpt-4o-mini")
    assert dict(parsed.params) == {"temperature": 0.2, "max_tokens": 50}
    assert parsed.openai_body == body  # kept whole (top_p included) for the provider Batch API


@pytest.mark.parametrize(("raw", "needle"), [
    (b"{not json", "invalid JSON"),
    (b'{"prompt": "caf\xe9"}', "not valid UTF-8"),
    ([1, 2], "expected a JSON object"),
    ({"id": "x"}, 'missing "prompt" or "messages"'),
    ({"prompt": ""}, "empty"),
    ({"prompt": 5}, '"prompt" must be a string'),
    ({"id": True, "prompt": "x"}, '"id" must be'),
    ({"prompt": "x", "priority": "urgent"}, '"priority"'),
    ({"prompt": "x", "system": ["a"]}, '"system" must be a string'),
    ({"prompt": "x", "params": {"max_token": 5}}, 'unknown "params" key "max_token"'),
    ({"prompt": "x", "params": {"max_tokens": 0}}, "positive integer"),
    ({"prompt": "x", "params": {"temperature": "hot"}}, '"params.temperature" must be a number'),
    ({"prompt": "x", "params": {"compress": "max"}}, "one of off"),
    ({"prompt": "x", "params": {"no_cache": 1}}, "true or false"),
    ({"prompt": "x", "params": []}, '"params" must be an object'),
    ({"messages": []}, "non-empty list"),
    ({"messages": [{"role": "assistant", "content": "a"}]}, "last message must be from the user"),
    ({"messages": [{"role": "tool", "content": "a"}]}, "not supported"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "only text parts"),
    ({"custom_id": "c", "url": "/v1/embeddings", "body": {"messages": []}}, "not supported"),
    ({"custom_id": "c", "method": "GET", "body": {}}, '"method" must be "POST"'),
    ({"custom_id": "c", "body": "text"}, '"body" must be an object'),
    ({"custom_id": "c", "body": {"model": "m"}}, 'no "messages"'),
    ({"custom_id": "", "body": {}}, '"custom_id" must be a non-empty string'),
])
def test_bad_lines_name_their_line_and_reason(raw: object, needle: str) -> None:
    parsed = bad(raw, lineno=3)
    assert parsed.message.startswith("line 3: ")
    assert needle in parsed.message
    assert (parsed.index, parsed.lineno) == (2, 3)


def test_a_bad_line_keeps_its_own_id_when_it_has_one() -> None:
    assert bad({"id": "mine", "prompt": 3}).id == "mine"
    assert bad({"custom_id": "c9", "body": []}).id == "c9"
    assert bad(b"[]", lineno=8).id == "line-8"


def test_long_bad_values_are_shortened_in_messages() -> None:
    message = bad({"prompt": "x", "priority": "u" * 500}).message
    assert len(message) < 150


def test_read_jobs_skips_blank_lines_but_counts_them() -> None:
    data = jsonl([{"prompt": "a"}, "", "   ", "oops", {"id": "z", "prompt": "b"}])
    parsed = list(read_jobs(io.BytesIO(data)))
    assert [(p.index, p.id, type(p).__name__) for p in parsed] == [
        (0, "line-1", "Job"), (3, "line-4", "BadLine"), (4, "z", "Job")]


def test_read_jobs_is_lazy() -> None:
    class Endless(io.RawIOBase):
        def __init__(self) -> None:
            self.reads = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            self.reads += 1
            line = b'{"prompt": "again"}\n'
            buffer[: len(line)] = line
            return len(line)

    raw = Endless()
    jobs = read_jobs(io.BufferedReader(raw, buffer_size=64))
    assert [next(jobs).id for _ in range(3)] == ["line-1", "line-2", "line-3"]
    assert raw.reads < 10


def test_estimate_tokens_counts_characters_and_the_answer_budget() -> None:
    plain = job({"prompt": "x" * 40, "system": "y" * 8})
    assert estimate_tokens(plain) == 12
    assert estimate_tokens(plain, default_max_tokens=100) == 112
    budget = job({"prompt": "x" * 40, "params": {"max_tokens": 7}})
    assert estimate_tokens(budget, default_max_tokens=100) == 17


def test_aread_jobs_reads_a_slow_pipe_without_blocking_the_loop() -> None:
    read_fd, write_fd = os.pipe()
    release = threading.Event()

    def producer() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as out:
            out.write(b'{"id": "a", "prompt": "one"}\n\n{"id": "b", "pr')
            release.wait(5)
            out.write(b'ompt": "two"}\nnot json')  # no final newline

    async def consume() -> tuple[list[Job | BadLine], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticking = asyncio.create_task(ticker())
        seen: list[Job | BadLine] = []
        with os.fdopen(read_fd, "rb") as stream:
            async for entry in aread_jobs(stream):
                seen.append(entry)
                if len(seen) == 1:
                    before = ticks
                    while ticks < before + 3:  # the loop keeps running while the reader waits
                        await asyncio.sleep(0.001)
                    release.set()
        ticking.cancel()
        return seen, ticks

    thread = threading.Thread(target=producer)
    thread.start()
    started = time.monotonic()
    seen, _ = asyncio.run(consume())
    thread.join()
    assert time.monotonic() - started < 5
    assert [(p.index, p.id, type(p).__name__) for p in seen] == [
        (0, "a", "Job"), (2, "b", "Job"), (3, "line-4", "BadLine")]
