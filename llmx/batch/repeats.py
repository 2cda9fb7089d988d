"""The run's repeat memory: answers this run already received, for later identical lines.

    memory = RepeatMemory()                 # nothing on disk until the first answer
    memory.remember(key, completion)        # an answer written as an ok line
    completion = memory.recall(key)         # that answer again, or None
    memory.close()

A batch sends each distinct request once per run, whatever the cache's size or mode: an
identical line that comes after its twin was answered is answered from here (identical
lines in flight together are coalesced by ``SingleFlight`` instead). Only answers are
remembered: a line that failed is not, so a later identical line is sent again.

Bounded RAM: one small entry per distinct key, ``hash(key) -> offset`` (about 100 bytes);
the answers themselves go to a spill file: created on the first ``remember`` in a private
temporary directory (``tempfile.mkdtemp``: 0700, under ``$TMPDIR``), opened 0600, and
unlinked (with its directory) as soon as it is open, so nothing is left behind, even after
SIGKILL. Each record holds the whole key, and ``recall`` compares it: a hash collision is a
miss, never another line's answer. State never fails a run: when the spill file cannot be
made or written (disk full), or ``max_bytes`` is reached, nothing more is remembered and
later repeats are simply sent. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from collections.abc import Callable

from llmx.types import CacheTier, Completion, Usage

DEFAULT_MAX_BYTES = 4 << 30  # spill file size at which remembering stops

_HEAD = struct.Struct("<qqB5I")  # input/output tokens, tier, lengths of the 5 strings
_TIERS: tuple[CacheTier, ...] = (False, "exact", "semantic")
_ENCODING = "utf-8"
_ERRORS = "surrogatepass"  # provider text may hold lone surrogates: keep them as they were


class RepeatMemory:
    """Answers by key for one run; ``close`` releases the spill file."""

    def __init__(self, *, dir: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                 hasher: Callable[[str], int] = hash) -> None:
        self._dir, self._max_bytes, self._hash = dir, max_bytes, hasher
        self._where: dict[int, int] = {}  # hash(key) -> offset of its record
        self._fd: int | None = None
        self._size = 0
        self.off = False  # True once spilling failed or the file is full
        self.hits = 0

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        """Probably remembered (the hash matches); ``recall`` is the one that checks."""
        return isinstance(key, str) and self._hash(key) in self._where

    @property
    def spilled_bytes(self) -> int:
        return self._size

    def remember(self, key: str, completion: Completion) -> None:
        """Keep an answer for later lines with ``key`` (the first answer per key wins)."""
        slot = self._hash(key)
        if self.off or slot in self._where:
            return
        record = _pack(key, completion)
        if self._size + len(record) > self._max_bytes:
            self.off = True
            return
        try:
            fd = self._open()
            written = os.pwrite(fd, record, self._size)
        except OSError:  # no room, no temp dir: repeats are sent again instead
            written = -1
        if written != len(record):  # a short write: the disk is full
            self.off = True
            return
        self._where[slot] = self._size
        self._size += len(record)

    def recall(self, key: str) -> Completion | None:
        """The answer remembered for ``key``, as it was (``latency_ms`` 0: nothing was sent)."""
        offset = self._where.get(self._hash(key))
        if offset is None or self._fd is None:
            return None
        try:
            head = os.pread(self._fd, _HEAD.size, offset)
            tokens_in, tokens_out, tier, *sizes = _HEAD.unpack(head)
            body = os.pread(self._fd, sum(sizes), offset + _HEAD.size)
        except (OSError, struct.error):
            return None
        if len(body) != sum(sizes):
            return None
        fields, start = [], 0
        for size in sizes:
            fields.append(body[start:start + size].decode(_ENCODING, _ERRORS))
            start += size
        stored_key, text, model, provider, finish = fields
        if stored_key != key:  # another key with the same hash
            return None
        self.hits += 1
        return Completion(text=text, model=model, provider=provider,
                          usage=Usage(tokens_in, tokens_out), latency_ms=0.0,
                          finish_reason=finish or None, cached=_TIERS[tier])

    def close(self) -> None:
        fd, self._fd = self._fd, None
        self._where.clear()
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> RepeatMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> int:
        if self._fd is None:
            private = tempfile.mkdtemp(prefix="llmx-batch-", dir=self._dir)
            try:
                path = os.path.join(private, "answers")
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                os.unlink(path)
            finally:
                with contextlib.suppress(OSError):
                    os.rmdir(private)
        return self._fd


def _pack(key: str, completion: Completion) -> bytes:
    usage = completion.usage
    strings = [value.encode(_ENCODING, _ERRORS) for value in (
        key, completion.text, completion.model, completion.provider,
        completion.finish_reason or "")]
    head = _HEAD.pack(usage.input_tokens, usage.output_tokens, _TIERS.index(completion.cached),
                      *(len(value) for value in strings))
    return head + b"".join(strings)
