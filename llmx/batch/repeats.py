"""The run's repeat memory: answers this run already received, for later identical lines.

    memory = RepeatMemory()                 # nothing on disk until the first write
    memory.remember(key, completion)        # an answer written as an ok line
    completion = memory.recall(key)         # that answer again, or None
    memory.close()

A batch sends each distinct request once per run, whatever the cache's size or mode: an
identical line that comes after its twin was answered is answered from here (identical
lines in flight together are coalesced by ``SingleFlight`` instead). Only answers are
remembered: a line that failed is not, so a later identical line is sent again.

Bounded RAM: one small entry per distinct key, ``hash(key) -> offset, length`` (about 100
bytes); the answers themselves go to a spill file, written in pieces of ``FLUSH_BYTES``
(at most that much waits in RAM), one read per recall. The file is created on the first
write in a private temporary directory (``tempfile.mkdtemp``: 0700, under ``$TMPDIR``),
opened 0600, and unlinked (with its directory) as soon as it is open, so nothing is left
behind, even after SIGKILL. Each record holds the whole key, and ``recall`` compares it:
a hash collision is a miss, never another line's answer.

State never fails a run: when the spill file cannot be made or written (disk full), or
``max_bytes`` is reached, nothing more is remembered (what was remembered stays
answerable) and later repeats are simply sent. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from collections.abc import Callable

from llmx.types import CacheTier, Completion, Usage

DEFAULT_MAX_BYTES = 4 << 30  # spill file size at which remembering stops
FLUSH_BYTES = 256 << 10  # answers are written to the spill file in pieces this big
_MAX_RECORD = (1 << 32) - 1

# A record: tokens in/out, the label's number, the key's length; the key; the text.
_HEAD = struct.Struct("<qqII")
_ENCODING = "utf-8"
_ERRORS = "surrogatepass"  # provider text may hold lone surrogates: keep them as they were

Label = tuple[str, str, str | None, CacheTier]  # model, provider, finish_reason, cached


class RepeatMemory:
    """Answers by key for one run; ``close`` releases the spill file."""

    def __init__(self, *, dir: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                 hasher: Callable[[str], int] = hash) -> None:
        self._dir, self._max_bytes, self._hash = dir, max_bytes, hasher
        self._where: dict[int, int] = {}  # hash(key) -> offset << 32 | length of its record
        self._labels: dict[Label, int] = {}  # the few (model, provider, ...) seen, numbered
        self._label_list: list[Label] = []
        self._fd: int | None = None
        self._pending = bytearray()  # records not written yet (they follow _flushed bytes)
        self._flushed = 0
        self.off = False  # True once spilling failed or the file is full

    def __contains__(self, key: str) -> bool:
        """Probably remembered (the hash matches); ``recall`` is the one that checks."""
        return self._hash(key) in self._where

    @property
    def spilled_bytes(self) -> int:
        return self._flushed + len(self._pending)

    def remember(self, key: str, completion: Completion) -> None:
        """Keep an answer for later lines with ``key`` (the first answer per key wins)."""
        slot = self._hash(key)
        if self.off or slot in self._where:
            return
        raw_key = key.encode(_ENCODING, _ERRORS)
        text = completion.text.encode(_ENCODING, _ERRORS)
        length = _HEAD.size + len(raw_key) + len(text)
        offset = self.spilled_bytes
        if offset + length > self._max_bytes or length > _MAX_RECORD:
            self.off = True
            return
        usage, pending = completion.usage, self._pending
        pending += _HEAD.pack(usage.input_tokens, usage.output_tokens, self._label(completion),
                              len(raw_key))
        pending += raw_key
        pending += text
        self._where[slot] = offset << 32 | length
        if len(pending) >= FLUSH_BYTES:
            self._flush()

    def recall(self, key: str) -> Completion | None:
        """The answer remembered for ``key``, as it was (``latency_ms`` 0: nothing was sent)."""
        where = self._where.get(self._hash(key))
        if where is None:
            return None
        offset, length = where >> 32, where & _MAX_RECORD
        if offset >= self._flushed:
            start = offset - self._flushed
            record = bytes(self._pending[start:start + length])
        elif self._fd is None:
            return None
        else:
            try:
                record = os.pread(self._fd, length, offset)
            except OSError:
                return None
        if len(record) != length:
            return None
        tokens_in, tokens_out, label, key_size = _HEAD.unpack_from(record)
        start = _HEAD.size + key_size
        if record[_HEAD.size:start] != key.encode(_ENCODING, _ERRORS):
            return None  # another key with the same hash
        model, provider, finish, cached = self._label_list[label]
        return Completion(text=record[start:].decode(_ENCODING, _ERRORS), model=model,
                          provider=provider, usage=Usage(tokens_in, tokens_out),
                          latency_ms=0.0, finish_reason=finish, cached=cached)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        self._where.clear()
        self._pending.clear()
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> RepeatMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _label(self, completion: Completion) -> int:
        label = (completion.model, completion.provider, completion.finish_reason,
                 completion.cached)
        number = self._labels.get(label)
        if number is None:
            number = self._labels[label] = len(self._label_list)
            self._label_list.append(label)
        return number

    def _flush(self) -> None:
        """Write the pending records; on failure keep them (no more come: ``off``)."""
        try:
            fd = self._open()
            written = os.pwrite(fd, self._pending, self._flushed)
        except OSError:  # no room, no temp dir: later repeats are sent again instead
            written = -1
        if written != len(self._pending):  # a short write: the disk is full
            self.off = True
            return
        self._flushed += written
        self._pending.clear()

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
