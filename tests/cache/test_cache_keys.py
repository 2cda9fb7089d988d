"""Exact and scope keys: what must change them, and what must not."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from llmx.cache.keys import endpoint_of, exact_key, generation_params, scope_key
from llmx.types import Message, Request

BASE = Request(
    model="gpt-4o-mini",
    messages=(Message("user", "hi"), Message("assistant", "hello!"),
              Message("user", "What is the capital of France?")),
    system="Be brief.",
    temperature=0.2,
    max_tokens=100,
)
WHERE: dict[str, Any] = {"provider": "openai", "endpoint": "https://api.openai.com:443/v1",
                         "compressor": None}


def key(request: Request = BASE, **overrides: Any) -> str:
    return exact_key(request, **{**WHERE, **overrides})


def scope(request: Request = BASE, **overrides: Any) -> str:
    return scope_key(request, **{**WHERE, **overrides})


def with_message(index: int, content: str) -> Request:
    messages = list(BASE.messages)
    messages[index] = messages[index]._replace(content=content)
    return BASE._replace(messages=tuple(messages))


def test_key_is_a_stable_sha256_hex() -> None:
    first = key()
    assert len(first) == 64 and int(first, 16) >= 0
    assert key(BASE._replace()) == first


def test_keys_are_those_existing_caches_hold() -> None:
    """Computed by llmx before its value types became named tuples and its digest left
    hashlib: an entry cached then must still be found."""
    assert key() == "5ff32b2723b3b472a8cc97241ffc894c1ce39a8ee39b2160d6edb261da1b9b8f"
    assert scope() == "291ccd9f10fd69cfcc21f2372cd63024e7801d7c3fcfb5f785c2146e4d388a79"


@pytest.mark.parametrize("data", [b"", b"abc", bytes(range(256)) * 3])
def test_the_digest_is_hashlibs_sha256(data: bytes) -> None:
    import hashlib

    from llmx.cache import keys

    assert keys._sha256()(data).hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("change", [
    {"model": "gpt-4o"},
    {"system": "Be verbose."},
    {"system": None},
    {"temperature": 0.3},
    {"temperature": None},
    {"max_tokens": 101},
])
def test_every_request_field_that_changes_output_changes_the_key(change: dict[str, Any]) -> None:
    assert key(BASE._replace(**change)) != key()


@pytest.mark.parametrize("index", [0, 1, 2])
def test_each_message_changes_the_key(index: int) -> None:
    assert key(with_message(index, "something else")) != key()


def test_roles_and_message_boundaries_matter() -> None:
    swapped = BASE._replace(messages=(Message("assistant", "hi"), *BASE.messages[1:]))
    assert key(swapped) != key()
    joined = Request(model="m", messages=(Message("user", "ab"),))
    split = Request(model="m", messages=(Message("user", "a"), Message("user", "b")))
    assert key(joined) != key(split)


@pytest.mark.parametrize("where", [
    {"provider": "anthropic"},
    {"endpoint": "http://127.0.0.1:8080/v1"},
    {"compressor": "rules-v1"},
])
def test_provider_endpoint_and_compressor_change_the_key(where: dict[str, Any]) -> None:
    assert key(**where) != key()
    assert scope(**where) != scope()


def test_compressor_versions_are_distinct() -> None:
    assert key(compressor="rules-v1") != key(compressor="rules-v2")


def test_streaming_does_not_change_the_key() -> None:
    assert key(BASE._replace(stream=False)) == key(BASE._replace(stream=True))


def test_integral_float_and_int_params_are_the_same_request() -> None:
    assert key(BASE._replace(temperature=1.0)) == key(BASE._replace(temperature=1))


def test_extra_params_count_and_their_order_does_not() -> None:
    one = key(params={"top_p": 0.9, "seed": 7})
    assert one == key(params={"seed": 7, "top_p": 0.9})
    assert one != key(params={"seed": 8, "top_p": 0.9})
    assert one != key()
    assert key(params={"top_p": None}) == key()


def test_the_api_key_cannot_reach_the_key_function() -> None:
    names = set(inspect.signature(exact_key).parameters) | set(
        inspect.signature(scope_key).parameters)
    assert not any("key" in name or "secret" in name or "token" in name for name in names)
    with pytest.raises(TypeError):
        exact_key(BASE, **WHERE, api_key="sk-secret")  # type: ignore[call-arg]


def test_generation_params_come_from_the_request_fields() -> None:
    params = generation_params(BASE)
    assert params == {"temperature": 0.2, "max_tokens": 100}
    assert "stream" not in generation_params(BASE._replace(stream=False))


@pytest.mark.parametrize(("url", "expected"), [
    ("https://api.openai.com/v1", "https://api.openai.com:443/v1"),
    ("https://api.openai.com/v1/", "https://api.openai.com:443/v1"),
    ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    ("http://user:s3cret@Example.COM:8080/a/b?key=sk-123#frag", "http://example.com:8080/a/b"),
    ("HTTP://localhost:11434", "http://localhost:11434"),
    ("localhost:11434/api", "http://localhost:11434/api"),
    ("http://[::1]:9000/v1", "http://[::1]:9000/v1"),
    ("http://example.com", "http://example.com:80"),
    ("http://example.com/", "http://example.com:80"),
    ("https://r.openai.azure.com/openai/deployments/d?api-version=2024-10-21&x=1",
     "https://r.openai.azure.com:443/openai/deployments/d?api-version=2024-10-21"),
])
def test_endpoint_of_keeps_scheme_host_port_path_and_the_api_version(url: str, expected: str
                                                                      ) -> None:
    assert endpoint_of(url) == expected


def key_at(url: str) -> str:
    return key(endpoint=endpoint_of(url))


def test_two_base_urls_that_differ_only_in_path_never_share_a_key() -> None:
    assert key_at("http://host/a/v1") != key_at("http://host/b/v1")
    assert scope(endpoint=endpoint_of("http://host/a/v1")) != scope(
        endpoint=endpoint_of("http://host/b/v1"))
    assert key_at("http://host/a/v1") != key_at("http://host/a/v1/extra")


def test_scheme_port_and_api_version_reach_the_key() -> None:
    assert key_at("http://api.example.com/v1") != key_at("https://api.example.com/v1")
    assert key_at("https://api.example.com/v1") != key_at("https://api.example.com:8443/v1")
    assert key_at("https://x.test/d?api-version=1") != key_at("https://x.test/d?api-version=2")


def test_userinfo_other_query_and_the_trailing_slash_do_not_reach_the_key() -> None:
    plain = key_at("https://api.example.com/v1")
    assert plain == key_at("https://bob:pw@api.example.com/v1?api_key=x#top")
    assert plain == key_at("https://API.example.com:443/v1/")


def test_scope_ignores_only_the_last_user_message() -> None:
    assert scope(with_message(2, "what's the capital of France")) == scope()
    assert key(with_message(2, "what's the capital of France")) != key()
    assert scope(with_message(0, "hello")) != scope()
    assert scope(with_message(1, "hey")) != scope()
    for change in ({"model": "x"}, {"system": "other"}, {"temperature": 0.9},
                   {"max_tokens": 5}):
        assert scope(BASE._replace(**change)) != scope()


def test_scope_last_user_message_is_found_before_a_trailing_assistant_turn() -> None:
    prefilled = BASE._replace(messages=(*BASE.messages, Message("assistant", "{")))
    other = prefilled._replace(messages=(
        *BASE.messages[:2], Message("user", "another question"), Message("assistant", "{")))
    assert scope(prefilled) == scope(other)
    assert scope(prefilled) != scope()


def test_scope_and_exact_keys_never_coincide() -> None:
    alone = Request(model="m", messages=())
    assert scope(alone) != key(alone)


TOOLS = '[{"function":{"name":"get_weather","parameters":{"type":"object"}},"type":"function"}]'


@pytest.mark.parametrize("field", ["tools", "tool_choice", "schema"])
def test_tools_choice_and_schema_change_both_keys_when_set(field: str) -> None:
    value = {"tools": TOOLS, "tool_choice": "required", "schema": '{"type":"object"}'}[field]
    changed = BASE._replace(**{field: value})
    assert key(changed) != key() and scope(changed) != scope()
    assert generation_params(changed)[field] == value
    other = {"tools": TOOLS.replace("weather", "time"), "tool_choice": "auto",
             "schema": '{"type":"array"}'}[field]
    assert key(BASE._replace(**{field: other})) != key(changed)


def test_requests_without_tools_keep_the_keys_existing_caches_hold() -> None:
    """The new fields default to None and are then left out: byte-identical documents."""
    plain = BASE._replace(tools=None, tool_choice=None, schema=None)
    assert key(plain) == "5ff32b2723b3b472a8cc97241ffc894c1ce39a8ee39b2160d6edb261da1b9b8f"
    assert scope(plain) == "291ccd9f10fd69cfcc21f2372cd63024e7801d7c3fcfb5f785c2146e4d388a79"
    assert set(generation_params(plain)) == {"temperature", "max_tokens"}


def test_with_tools_the_question_is_part_of_the_scope() -> None:
    """A tool call's arguments come from the question: no semantic stand-in across questions."""
    tooled = BASE._replace(tools=TOOLS)
    assert scope(with_message(2, "What is the capital of Spain?")) == scope()
    other = with_message(2, "What is the capital of Spain?")._replace(tools=TOOLS)
    assert scope(other) != scope(tooled)
    assert scope(tooled) == scope(BASE._replace(tools=TOOLS))
