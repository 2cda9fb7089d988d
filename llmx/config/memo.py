"""The parsed config file, remembered between runs, so a command need not load tomllib.

Importing ``tomllib`` costs about as much as starting the interpreter (its regular
expressions are compiled at import), which is a large share of an ``llmx ask`` answered
from the cache. So ``parsed`` keeps what a config file parsed to, as JSON, in the private
state directory (``<state>/config-cache/<crc32 of the path>.json``, 0600 in a 0700
directory), with the file's identity: device, inode, size, and modification and change
times in nanoseconds. What a caller may rely on:

* the result is exactly ``read_config_file(path)``'s: the memo is used only while the
  file's identity is what it was when the memo was written, and only for documents that
  JSON holds exactly (tables, arrays, strings, numbers, booleans: a TOML date or time is
  never memoised);
* ``parsed`` itself writes nothing: a parse worth remembering is held until ``keep()``,
  which ``llmx ask`` calls once it has delivered its answer, so a command that fails (or
  any other command) leaves the state directory as it was;
* a file changed within ``SETTLE_S`` seconds of being read is not memoised (a second write
  within the file system's timestamp granularity could leave its identity unchanged), nor
  is one whose times lie in the future;
* errors come from ``read_config_file`` itself (the memo never holds a file that failed
  to parse); a memo that cannot be read, written or decoded is ignored without a word: a
  read-only or full state directory costs a parse per run, never a warning or a leftover
  file. Nothing is synced.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

MEMO_DIR: Final = "config-cache"
MEMO_VERSION: Final = 1
SETTLE_S: Final = 2.0  # coarser than any file system's timestamps (FAT: 2 s)
_held: dict[Path, dict[str, Any]] = {}  # memo file -> what ``keep`` writes there


def parsed(path: Path, state: Path, read: Callable[[Path], dict[str, Any]]
           ) -> dict[str, Any]:
    """``read(path)`` (the TOML document), or what it gave last time (see the module
    docstring). ``state`` is the state directory."""
    try:
        info = os.stat(path)
    except OSError:
        return read(path)  # it reports the trouble in its own words
    where = os.path.abspath(path)
    identity = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]
    memo = state / MEMO_DIR / f"{zlib.crc32(os.fsencode(where)):08x}.json"
    found = _recalled(memo, where, identity)
    if found is not None:
        return found
    data = read(path)  # read after the stat: a change meanwhile makes the memo stale at once
    settled = time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns)
    _held.clear()  # only the latest parse is held: the config of the command now running
    if settled >= SETTLE_S * 1e9:
        _held[memo] = {"v": MEMO_VERSION, "path": where, "id": identity, "data": data}
    return data


def keep() -> None:
    """Write the memos of the parses this process made (see the module docstring)."""
    while _held:
        _remember(*_held.popitem())


def _recalled(memo: Path, where: str, identity: list[int]) -> dict[str, Any] | None:
    try:
        saved = json.loads(memo.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if (not isinstance(saved, Mapping) or saved.get("v") != MEMO_VERSION
            or saved.get("path") != where or saved.get("id") != identity):
        return None
    data = saved.get("data")
    return data if isinstance(data, dict) else None


def _remember(memo: Path, saved: dict[str, Any]) -> None:
    try:
        text = json.dumps(saved, ensure_ascii=True, separators=(",", ":"))
    except (TypeError, ValueError):  # a date or time: JSON would not give it back
        return
    from llmx.errors import LlmxError
    from llmx.paths import ensure_private_dir

    temporary = memo.with_name(f".{memo.name}.{os.getpid()}-{time.monotonic_ns()}")
    try:
        ensure_private_dir(memo.parent)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            data = memoryview(text.encode("ascii"))
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)
        os.replace(temporary, memo)
    except (OSError, LlmxError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
