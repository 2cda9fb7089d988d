"""One record per request: the source of ``llmx stats``. Standard library only.

Records live in ``llmx.paths.records_dir(env)``, one file per UTC month of the record's
time, ``records-YYYY-MM.jsonl``, one JSON object per line. The keys of a line are the
field names of ``Record`` plus ``"v"`` (the line format version, now 1):

    ts            unix time the request started (seconds, float)
    profile       profile name
    provider      provider name ("openai", "anthropic", "ollama", ...)
    model         model name
    tier          "exact" | "semantic" | "miss" (cache consulted) | "off" (cache not consulted)
    similarity    cosine similarity of a semantic hit, else null
    lookup_ms     time spent looking in the cache (0 when the tier is "off")
    latency_ms    time from request to the end of the answer
    ttft_ms       time to the first token, null when unknown (e.g. an error before it)
    input_tokens  prompt tokens; for a hit, those of the cached answer's request
    output_tokens answer tokens; for a hit, those of the cached answer
    tokens_saved  prompt tokens removed by compression
    cost          estimated money spent on this call (0 for a hit), null when no price is known
    cost_saved    estimated money a hit saved, null when no price is known
    status        "ok" | "error"
    error         the error's class name (never its message: secrets hide in messages), or null
    reasoning_tokens  the part of output_tokens the model spent reasoning, as the provider
                  reported it (0: none or not reported; absent from lines written before it
                  existed, which read as 0)
    queue_ms      time from the call being planned to being sent: a batch line's wait in
                  the queue and its rate limits (0 when sent at once; absent before it existed)
    shared        true when the call followed an identical call in flight: it sent no request
                  (tier "off", cost 0, cost_saved the answer's price); absent: false

Writers append whole lines with a single ``write()`` on a file opened ``O_APPEND`` (one
line, or a group of queued lines: ``RecordLog(group_s=...)``), so any number of processes
may append at once without losing or interleaving lines.
Readers (``RecordLog.read``, in ``llmx.records_read``: only ``llmx stats`` reads) skip
lines that do not parse (a line cut by a crash, a line from a newer llmx with an unknown
tier, garbage) and count them in a ``Skipped`` tally when given one, so a damaged file
never stops ``llmx stats`` and ``llmx stats`` can say how many it skipped.

``Record`` is a NamedTuple (this module is imported on every request, a cache hit's
included) whose constructor refuses invalid values.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from llmx.choices import RECORD_TIERS

if TYPE_CHECKING:
    import asyncio

RECORD_VERSION = 1
STATUSES = ("ok", "error")
FILE_PREFIX = "records-"
FILE_SUFFIX = ".jsonl"
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_MAX_ERROR_NAME = 120
MAX_TS = 253402300800.0  # 10000-01-01 UTC: file names hold a four-digit year
GROUP_LINES = 512  # a grouped log writes once it holds this many lines
_DAY_S = 86400
_ENCODER = json.JSONEncoder(separators=(",", ":"))  # json.dumps would build one per call


def error_name(exc: BaseException) -> str:
    """What a record may say about an error: its class name, nothing from its message."""
    return type(exc).__name__


def _is_class_name(text: str) -> bool:
    """A (possibly dotted) Python identifier: what ``Record.error`` may hold."""
    parts = text.split(".")
    return 0 < len(text) <= _MAX_ERROR_NAME and all(part.isidentifier() for part in parts)


class _Fields(NamedTuple):
    """What happened to one request (see the module docstring for each field)."""

    ts: float
    profile: str
    provider: str
    model: str
    tier: str
    similarity: float | None
    lookup_ms: float
    latency_ms: float
    ttft_ms: float | None
    input_tokens: int
    output_tokens: int
    tokens_saved: int
    cost: float | None
    cost_saved: float | None
    status: str
    error: str | None
    reasoning_tokens: int = 0
    queue_ms: float = 0.0
    shared: bool = False


KEYS = ("v", *_Fields._fields)  # a line's keys, in the order they are written


class Record(_Fields):
    """What happened to one request; made only with valid values (``ValueError``)."""

    __slots__ = ()

    if not TYPE_CHECKING:  # type checkers see _Fields' own constructor
        def __new__(cls, *args, **kwargs):
            record = super().__new__(cls, *args, **kwargs)
            record._check()
            return record

    def _check(self) -> None:
        if self.error is not None and not _is_class_name(self.error):
            raise ValueError("Record.error must be an error class name, never a message")
        if self.tier not in RECORD_TIERS:
            raise ValueError(f"Record.tier must be one of {', '.join(RECORD_TIERS)}")
        if self.status not in STATUSES:
            raise ValueError(f"Record.status must be one of {', '.join(STATUSES)}")
        if not 0.0 <= self.ts < MAX_TS:
            raise ValueError("Record.ts must be a unix time between 1970 and 9999")

    def to_json(self) -> dict[str, Any]:
        return dict(zip(KEYS, (RECORD_VERSION, *self), strict=True))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        """Rebuild a record; ``ValueError`` on anything malformed. Unknown keys are ignored."""
        from llmx.records_read import from_json

        return from_json(data)


class Skipped:
    """Lines a read could not use (not a complete, valid record), counted as it goes."""

    __slots__ = ("lines",)

    def __init__(self, lines: int = 0) -> None:
        self.lines = lines


def month_of(ts: float) -> tuple[int, int]:
    moment = time.gmtime(ts)
    return moment.tm_year, moment.tm_mon


def _file_name(year: int, month: int) -> str:
    return f"{FILE_PREFIX}{year:04d}-{month:02d}{FILE_SUFFIX}"


def file_month(name: str) -> tuple[int, int] | None:
    """``(year, month)`` of a records file name, or None for any other name."""
    if not (name.startswith(FILE_PREFIX) and name.endswith(FILE_SUFFIX)):
        return None
    stem = name[len(FILE_PREFIX):-len(FILE_SUFFIX)]
    year, dash, month = stem.partition("-")
    if not (dash and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()):
        return None
    return int(year), int(month)


class RecordLog:
    """The monthly JSONL files of one records directory.

    The directory is created (0700, via ``llmx.paths.ensure_private_dir``) on the first
    write, never by ``read``; files are created 0600.

    ``append`` writes its line at once. With ``group_s`` set, ``append`` queues the line
    instead and the queue is written (one ``write()`` of whole lines per file) when it holds
    ``GROUP_LINES`` lines, when its oldest line is ``group_s`` seconds old (checked on each
    append, and by a timer on the running event loop, if any), on ``flush()``/``close()``
    and at interpreter exit. A crash loses at most the queued lines, never part of a line.
    An error of a write the timer made is raised by the next ``append``/``flush``/``close``.
    """

    def __init__(self, directory: Path, *, group_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = directory
        self._ready = False
        self._checked: set[str] = set()  # files whose mode this instance has made 0600
        self._group_s = group_s
        self._clock = clock
        self._queued: dict[Path, list[bytes]] = {}
        self._count = 0
        self._since = 0.0  # when the oldest queued line was queued
        self._timer: asyncio.TimerHandle | None = None
        self._failed: Exception | None = None
        self._day, self._day_path = -1, directory

    def path_for(self, ts: float) -> Path:
        """The file a record with time ``ts`` goes to (UTC month)."""
        day = int(ts // _DAY_S)  # a UTC day lies within one month: remember the last one
        if day != self._day:
            self._day, self._day_path = day, self.directory / _file_name(*month_of(ts))
        return self._day_path

    def append(self, record: Record) -> None:
        """Add one line (or queue it, see the class docstring). Raises ``OSError`` (or
        ``ConfigError`` for an unusable directory)."""
        data = (_ENCODER.encode(record.to_json()) + "\n").encode("utf-8")
        path = self.path_for(record.ts)
        if self._group_s is None:
            self._write(path, data)
            return
        self._raise_failed()
        if not self._count:
            self._since = self._clock()
            self._arm()
        self._queued.setdefault(path, []).append(data)
        self._count += 1
        if self._count >= GROUP_LINES or self._clock() - self._since >= self._group_s:
            self.flush()

    def flush(self) -> None:
        """Write every queued line now. Raises ``OSError`` as ``append`` does."""
        self._disarm()
        queued, self._queued, self._count = self._queued, {}, 0
        for path, lines in queued.items():
            self._write(path, b"".join(lines))
        self._raise_failed()

    def close(self) -> None:
        """``flush``; the log stays usable (a later append queues again)."""
        self.flush()

    def _raise_failed(self) -> None:
        failed, self._failed = self._failed, None
        if failed is not None:
            raise failed

    def _arm(self) -> None:
        """Make sure the queue is written within ``group_s`` even if no append follows."""
        if self._timer is None:
            atexit.register(self._flush_quietly)
            running = sys.modules.get("asyncio")  # not imported: no loop (a hit never loads it)
            try:
                loop = running.get_running_loop() if running is not None else None
            except RuntimeError:
                return
            if loop is None:
                return
            assert self._group_s is not None
            self._timer = loop.call_later(self._group_s, self._flush_quietly)

    def _disarm(self) -> None:
        atexit.unregister(self._flush_quietly)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception as exc:  # e.g. OSError, ConfigError: raised by the next call
            self._failed = exc

    def _write(self, path: Path, data: bytes) -> None:
        fd = self._open(path)
        try:
            if path.name not in self._checked:
                if os.fstat(fd).st_mode & 0o077:
                    os.fchmod(fd, 0o600)
                self._checked.add(path.name)
            _write_all(fd, data)
        finally:
            os.close(fd)

    def _open(self, path: Path) -> int:
        """Open for appending; (re)create the directory when it is missing."""
        if self._ready:
            try:
                return os.open(path, _OPEN_FLAGS, 0o600)
            except FileNotFoundError:
                pass  # removed since (e.g. the user cleaned the state dir): create it again
        from llmx.paths import ensure_private_dir

        ensure_private_dir(self.directory)
        self._ready = True
        return os.open(path, _OPEN_FLAGS, 0o600)

    def files(self, since: float | None = None) -> list[Path]:
        """Records files that can hold records at or after ``since``, oldest month first."""
        from llmx.records_read import files

        return files(self.directory, since)

    def read(self, since: float | None = None, skipped: Skipped | None = None
             ) -> Iterator[Record]:
        """Records with ``ts >= since`` (all when None), in file order; bad lines are skipped
        (and counted in ``skipped``; lines plainly older than ``since`` are not looked at)."""
        from llmx.records_read import read

        return read(self.files(since), since, Skipped() if skipped is None else skipped)


def _write_all(fd: int, data: bytes) -> None:
    """One ``write()``; a short write (disk full) is finished so no partial line stays."""
    written = os.write(fd, data)
    while written < len(data):
        written += os.write(fd, data[written:])
