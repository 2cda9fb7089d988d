"""The content-kind classifier on prompts people actually write."""

from __future__ import annotations

import pytest

from llmx.cache.kinds import KINDS, classify

JSON_PROMPTS = [
    "List the five largest countries by area. Respond in JSON with keys name and area_km2.",
    "Return the result as a JSON array of strings, nothing else.",
    "Extract the names and dates from this email. Output valid JSON only.",
    "Give me a JSON object with fields title, author and year for three classic novels.",
    'Summarise this review and answer as JSON: {"sentiment": ..., "score": ...}',
]

CODE_PROMPTS = [
    "Write a Python function that checks whether a string is a palindrome.",
    "Why does this fail?\n```js\nconst x = await fetch(url)\n```",
    'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    main()\n'
    "KeyError: 'user'",
    "Fix the bug in this SQL query: SELECT name FROM users WHERE age > 30 GROUP BY name",
    "Give me a regex that matches US phone numbers",
    "How do I reverse a linked list in Rust?",
    "refactor this:\ndef f(x):\n    return x*2",
    'Exception in thread "main" java.lang.NullPointerException\n'
    "    at com.example.App.main(App.java:14)",
    "write a bash one-liner to count lines in all .py files",
    "Translate this Python code to Go",
    "Explain what this does: function add(a, b) { return a + b }",
    "thread 'main' panicked at 'index out of bounds', src/main.rs:4:5",
]

CHAT_PROMPTS = [
    "What is the capital of France?",
    "Explain the function of mitochondria in a cell.",
    "Write a haiku about autumn leaves.",
    "How do I enable 2FA on GitHub?",
    "Can you recommend a good book about the history of Rome?",
    "What does the code of conduct say about harassment?",
    "Tell me a joke about cats",
    "Let's go to the park. What should I bring for a picnic?",
    "Translate 'good morning' into Spanish.",
    "What's the difference between JSON and XML?",
    "",
]


@pytest.mark.parametrize("prompt", JSON_PROMPTS)
def test_requests_for_json_output_are_json(prompt: str) -> None:
    assert classify(prompt, None) == "json"


@pytest.mark.parametrize("prompt", CODE_PROMPTS)
def test_code_and_code_requests_are_code(prompt: str) -> None:
    assert classify(prompt, None) == "code"


@pytest.mark.parametrize("prompt", CHAT_PROMPTS)
def test_everything_else_is_chat(prompt: str) -> None:
    assert classify(prompt, None) == "chat"


def test_the_system_prompt_can_ask_for_json() -> None:
    prompt = "Summarise this article about tides."
    assert classify(prompt, None) == "chat"
    assert classify(prompt, "You are an API. Reply with JSON only.") == "json"


def test_a_programmer_persona_makes_code() -> None:
    prompt = "How should I structure this module?"
    assert classify(prompt, "You are a senior software engineer.") == "code"
    assert classify("How should I structure my essay?", "You are a friendly writing tutor.") \
        == "chat"


def test_json_output_wins_over_code_in_the_prompt() -> None:
    assert classify("Review this Python function and reply in JSON with a score.") == "json"


def test_only_documented_kinds_come_back() -> None:
    seen = {classify(p) for p in JSON_PROMPTS + CODE_PROMPTS + CHAT_PROMPTS}
    assert seen == {"json", "code", "chat"}
    assert seen < set(KINDS) and "default" in KINDS


def test_a_long_prompt_is_judged_by_its_ends() -> None:
    notes = "The committee met on Tuesday and discussed the budget at length. " * 2_000
    assert classify(notes + "\nSummarise these notes. Respond in JSON with keys a and b.") \
        == "json"
    assert classify("Traceback (most recent call last):\n  File \"a.py\", line 1\n" + notes) \
        == "code"
    assert classify(notes + "\nWhat did they decide?") == "chat"
    buried = notes + "Respond in JSON only. " + notes  # far from both ends: not read
    assert classify(buried) == "chat"
