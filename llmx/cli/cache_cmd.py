"""``llmx cache path|ls|show|clear|prune``: look into and tidy the response cache.

Thin shells over ``llmx.cache.store``; plain text (or JSON) on stdout, notes on stderr.
Reading commands never create the cache directory. Profile limits are not needed here: the
store is opened with unlimited ``max_entries`` / ``max_bytes`` unless the caller passes some.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from llmx.cli._io import Io
from llmx.errors import UsageError
from llmx.paths import cache_dir

if TYPE_CHECKING:
    from llmx.cache.store import CacheStore
    from llmx.cache.types import Entry
    from llmx.state import Warn

SHORT_KEY = 12
PREVIEW = 60


def run_cache_path(io: Io) -> int:
    io.stdout.write(f"{cache_dir(io.env)}\n")
    return 0


def cache_size(env: Mapping[str, str]) -> tuple[int, int]:
    """``(entries, bytes on disk)`` for ``llmx stats``; creates nothing. A cache that cannot
    be read counts 0 entries (its files still count)."""
    from llmx.cache.store import CacheUnavailable

    with _open_at(env) as store:
        try:
            entries = len(store)
        except CacheUnavailable:
            entries = 0
    return entries, store.volume()  # once closed: without SQLite's transient -shm file


def run_cache_ls(io: Io, *, limit: int, as_json: bool) -> int:
    """The newest ``limit`` entries (0: all): key, kind, age, model, tokens, prompt.
    With ``as_json``: one JSON object per line."""
    from llmx.config.schema import check_flag, integer

    check_flag("-n/--limit", integer(0), limit)
    now = time.time()
    with _open(io) as store:
        rows: list[tuple[str, Entry]] = []
        for key, entry in store.iter_entries():
            if 0 < limit <= len(rows):
                break
            rows.append((key, entry))
    if as_json:  # JSON lines: one object per entry
        for key, entry in rows:
            io.stdout.write(json.dumps(_summary(key, entry, now), ensure_ascii=False) + "\n")
        return 0
    if not rows:
        io.stderr.write("the cache is empty\n")
    width = max((len(entry.model) for _, entry in rows), default=0)
    for key, entry in rows:
        tokens = f"{entry.input_tokens}+{entry.output_tokens}"
        io.stdout.write(f"{key[:SHORT_KEY]}  {entry.kind:<7} {_age(now - entry.created):>5}  "
                        f"{entry.model:<{width}}  {tokens:>9}  {_preview(entry.prompt)}\n")
    return 0


def run_cache_show(io: Io, key_prefix: str, *, as_json: bool) -> int:
    """One entry by a unique prefix of its key: its details, then the answer."""
    prefix = key_prefix.strip().lower()
    if not prefix:
        raise UsageError("give a cache key or a prefix of one", hint="see `llmx cache ls`")
    with _open(io) as store:
        found = [(key, entry) for key, entry in store.iter_entries() if key.startswith(prefix)]
    if not found:
        raise UsageError(f"no cache entry has a key starting with {prefix!r}",
                         hint="see `llmx cache ls`")
    if len(found) > 1:
        raise UsageError(f"{len(found)} cache entries have keys starting with {prefix!r}",
                         hint="give more characters of the key")
    key, entry = found[0]
    if as_json:
        data = {"key": key, **entry.to_json()}
        data.pop("v", None)
        io.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return 0
    _write_details(io, key, entry)
    return 0


def run_cache_clear(io: Io, *, yes: bool) -> int:
    if not yes:
        raise UsageError("clearing removes every cached answer; confirm with --yes",
                         hint="llmx cache clear --yes")
    with _open(io) as store:
        removed = store.clear()
    io.stdout.write(f"removed {removed} {_plural(removed)} from {cache_dir(io.env)}\n")
    return 0


def run_cache_prune(io: Io, *, max_entries: int | None = None,
                    max_bytes: int | None = None) -> int:
    """Drop expired and unreadable entries (and, given limits, the least recently used
    beyond them); shrink the files."""
    with _open(io, max_entries=max_entries, max_bytes=max_bytes) as store:
        removed = store.prune()
        left, size = len(store), store.volume()
    io.stdout.write(f"pruned {removed} {_plural(removed)}; {left} left, {_bytes(size)}\n")
    return 0


def _open(io: Io, *, max_entries: int | None = None,
          max_bytes: int | None = None) -> CacheStore:
    from llmx.state import stderr_warn

    return _open_at(io.env, max_entries=max_entries, max_bytes=max_bytes,
                    warn=stderr_warn(io.stderr))


def _open_at(env: Mapping[str, str], *, max_entries: int | None = None,
             max_bytes: int | None = None, warn: Warn | None = None) -> CacheStore:
    """The store, unlimited unless asked; a damaged database met here is moved aside and
    ``warn`` says so, as on the request path."""
    from llmx.cache.store import UNLIMITED, CacheStore

    return CacheStore(cache_dir(env), max_entries=max_entries or UNLIMITED,
                      max_bytes=max_bytes or UNLIMITED, warn=warn)


def _summary(key: str, entry: Entry, now: float) -> dict[str, Any]:
    return {"key": key, "kind": entry.kind, "created": entry.created,
            "age_s": round(now - entry.created, 3), "model": entry.model,
            "provider": entry.provider, "input_tokens": entry.input_tokens,
            "output_tokens": entry.output_tokens, "prompt": entry.prompt}


def _write_details(io: Io, key: str, entry: Entry) -> None:
    created = datetime.fromtimestamp(entry.created, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    pieces = len(entry.chunks) or 1
    details = [
        ("key", key),
        ("kind", entry.kind),
        ("model", f"{entry.model} ({entry.provider})"),
        ("created", f"{created} ({_age(time.time() - entry.created)} ago)"),
        ("tokens", f"{entry.input_tokens} in, {entry.output_tokens} out"),
        ("finish", entry.finish_reason or "-"),
        ("chunks", str(pieces)),
        ("prompt", _preview(entry.prompt, 10_000)),
    ]
    for name, value in details:
        io.stdout.write(f"{name:<8} {value}\n")
    io.stdout.write("\n" + entry.text + ("" if entry.text.endswith("\n") else "\n"))


def _preview(text: str, width: int = PREVIEW) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _age(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _plural(count: int) -> str:
    return "entry" if count == 1 else "entries"
