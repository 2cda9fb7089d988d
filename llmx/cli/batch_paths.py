"""The files of ``llmx batch``, checked before anything is opened for writing.

The input must be readable and a file (or ``-``); the output and the summary must not be
the input (compared by device and inode, so symlinks, hard links and ``- < FILE`` count)
nor each other, and must land in an existing, writable directory. Root ignores permission
bits, so a read-only file system is checked on its own (``statvfs``). Each problem is one
``UsageError`` (exit 2) naming the file; nothing has been touched or sent.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO, TextIO

from llmx.errors import UsageError

FileId = tuple[int, int]  # (st_dev, st_ino)


def check_paths(source: str, output: str | None, summary: str | None, *, resume: bool,
                stdin: BinaryIO, stdout: TextIO) -> None:
    read_from = _input_id(source, stdin)
    out = None if output in (None, "-") else output
    if out is not None:
        _check_target("-o", out, read_from, resume=resume)
    elif read_from is not None and _stream_id(stdout) == read_from:
        raise UsageError("stdout is the input file (`>> FILE`): it would read its own "
                         "answers; write them with -o to another file")
    if summary not in (None, "-"):
        assert summary is not None
        _check_target("--summary-json", summary, read_from, resume=False)
        if out is not None and _same(summary, out):
            raise UsageError(f"--summary-json {summary} is the output file (-o); "
                             "give it a name of its own")


def _stream_id(stream: BinaryIO | TextIO) -> FileId | None:
    """A standard stream's file identity when it is a regular file."""
    try:
        info = os.fstat(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _input_id(source: str, stdin: BinaryIO) -> FileId | None:
    """The input's file identity (None for a pipe or terminal); UsageError if unreadable."""
    if source == "-":
        return _stream_id(stdin)
    try:
        info = os.stat(source)
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"cannot read {source}: it is a directory (give a JSONL file or -)")
    try:
        os.close(os.open(source, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from None
    return info.st_dev, info.st_ino


def _check_target(flag: str, name: str, read_from: FileId | None, *, resume: bool) -> None:
    path = Path(os.path.realpath(name))
    try:
        info: os.stat_result | None = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UsageError(f"cannot write {name}: {exc.strerror}") from None
    if info is not None and read_from == (info.st_dev, info.st_ino):
        raise UsageError(f"{flag} {name} is the input file: it would be overwritten "
                         "(write the answers to another file)")
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UsageError(f"cannot write {name}: it is a directory")
    if info is not None and not stat.S_ISREG(info.st_mode):  # /dev/null, a FIFO
        if resume:
            raise UsageError(f"--resume needs a regular file, and {name} is not one")
        _writable(name, path)
        return
    if info is not None:
        _writable(name, path)
    _writable(name, path.parent, directory=True)


def _writable(name: str, path: Path, *, directory: bool = False) -> None:
    if directory and not path.is_dir():
        raise UsageError(f"cannot write {name}: no directory {path}")
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        raise UsageError(f"cannot write {name}: Read-only file system")
    if not os.access(path, os.W_OK | (os.X_OK if directory else 0)):
        raise UsageError(f"cannot write {name}: Permission denied")


def _same(a: str, b: str) -> bool:
    real_a, real_b = os.path.realpath(a), os.path.realpath(b)
    if real_a == real_b:
        return True
    try:
        one, two = os.stat(real_a), os.stat(real_b)
    except OSError:
        return False
    return (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino)
