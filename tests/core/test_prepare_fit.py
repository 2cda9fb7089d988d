"""``prepare`` fits a prompt into the context window, and skips counting only when that
cannot change the outcome: a prompt's UTF-8 bytes (plus framing) bound its tokens, and the
bound is held against the budget that counting would use, stand-in margin included."""

from __future__ import annotations

from typing import Any

import pytest

import llmx.prepare
from llmx.config.profile import load_config, resolve_profile
from llmx.prepare import Call, prepare


class WorstCase:
    """A stand-in tokenizer at the bound: one token per byte."""

    approximate = True
    encoding = "worst-case"

    def __init__(self) -> None:
        self.counted = 0

    def count(self, text: str) -> int:
        self.counted += 1
        return len(text.encode("utf-8", "surrogatepass"))


def profile(**settings: Any) -> Any:
    table = {"provider": "openai", "model": "some-open-model", "base_url": "http://h/v1",
             "context_window": 1000, "max_tokens": 100, **settings}
    return resolve_profile(load_config({"profiles": {"p": table}}), "p")


@pytest.fixture
def tokenizer(monkeypatch: pytest.MonkeyPatch) -> WorstCase:
    counter = WorstCase()
    monkeypatch.setattr(llmx.prepare, "_tokenizer", lambda model, directory: counter)
    return counter


def test_a_short_prompt_is_not_counted(tokenizer: WorstCase) -> None:
    prepared = prepare(profile(), "hello there", Call(), stream=True, tokenizers=None)
    assert tokenizer.counted == 0 and prepared.omitted_tokens == 0
    assert prepared.request.messages[-1].content == "hello there"


def test_a_prompt_within_the_window_but_not_the_stand_in_margin_is_fitted(
        tokenizer: WorstCase) -> None:
    prompt = " ".join(["word"] * 170)  # 849 bytes: <= 1000 - 100 - framing, > 900 - 100
    prepared = prepare(profile(), prompt, Call(), stream=True, tokenizers=None)
    assert tokenizer.counted > 0
    assert prepared.omitted_tokens > 0 and prepared.approximate
    assert len(prepared.request.messages[-1].content) < len(prompt)


def test_a_lone_surrogate_is_measured_not_refused(tokenizer: WorstCase) -> None:
    prepared = prepare(profile(), "odd \ud800 text", Call(), stream=True, tokenizers=None)
    assert tokenizer.counted == 0 and prepared.request.messages[-1].content == "odd \ud800 text"
