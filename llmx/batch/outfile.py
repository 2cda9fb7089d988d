"""The batch output file as a transaction: whole lines only, the old output never lost.

    with open_output(target, resume=True) as (sink, done):   # done: ids already answered
        OrderedWriter(sink).add(...)

A run writes into ``.NAME.llmx-partial`` next to ``NAME`` (the real file, symlinks
resolved) and renames it over ``NAME`` at the end: after a normal run, an interrupted one
(130), a partial one (7) and a failed write alike. Each ``write`` is one ``os.write`` per
ready run of lines (looping on a short write); when a write fails (disk full, I/O error,
read-only remount) the file is cut back to its last whole line and every later write fails
the same way, so the file holds complete lines only and the run stops with ``OutputFailed``.

A SIGKILLed run leaves ``NAME`` as it was plus the partial. ``--resume`` merges the good
lines of both (``NAME``'s first, then the partial's; the first answer of each id wins;
error lines, a torn line and garbage dropped) into a fresh temporary file, fsyncs it and
renames it over the partial, then appends the new answers to it: at no moment is a line
that was once whole on disk lost. Files keep ``NAME``'s permission bits (new ones: 0666
less the umask).

Targets that are not regular files (``/dev/null``, a FIFO, ``/dev/stdout``) and stdout are
streamed into directly: no partial, no rename, and no ``--resume``.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from llmx.errors import OutputError

PARTIAL_SUFFIX = ".llmx-partial"
READ_CHUNK = 1 << 20


class OutputFailed(OutputError):
    """The output file could not be written: disk full, I/O error, read-only file system.
    Every whole line written so far is kept; ``--resume`` does the rest (exit 8, as for any
    output that cannot be written)."""

    default_hint = "free some space (or fix the disk), then run again with --resume"


def partial_path(target: Path) -> Path:
    """Where a run writes before it is renamed over ``target`` (a hidden sibling)."""
    return target.with_name(f".{target.name}{PARTIAL_SUFFIX}")


def real_target(name: str) -> Path:
    """The file ``-o NAME`` means: symlinks resolved, so a rename replaces their target."""
    return Path(os.path.realpath(name))


class LineSink:
    """Whole lines into a file descriptor (the ``BinaryIO`` half that ``OrderedWriter`` uses).

    ``write(data)`` writes ``data`` (whole lines) with one ``os.write`` call, looping only on
    a short write. A failure cuts a regular file back to its last whole line, raises
    ``OutputFailed`` (``BrokenPipeError`` as it is) and every later write raises it again.
    """

    def __init__(self, fd: int, name: str, *, lines: int = 0) -> None:
        self.fd, self.name, self.lines, self.new_lines = fd, name, lines, 0
        mode = os.fstat(fd).st_mode
        self.regular = stat.S_ISREG(mode)
        self.good = _end(fd) if self.regular else 0  # offset after the last whole line
        self.failed: OutputFailed | None = None
        self.reason = ""  # why the write failed (strerror)

    def write(self, data: bytes) -> int:
        if self.failed is not None:
            raise self.failed
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except BrokenPipeError:
            raise
        except OSError as exc:
            self.reason = exc.strerror or type(exc).__name__
            self.failed = OutputFailed(f"cannot write {self.name}: {self.reason} "
                                       f"({self.lines} whole lines kept)")
            self.cut()
            raise self.failed from None
        count = data.count(b"\n")
        self.lines += count
        self.new_lines += count
        if self.regular:
            self.good += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered: each ``write`` went to the kernel whole."""

    def cut(self) -> None:
        """Drop anything after the last whole line (a short write before a failure)."""
        if self.regular:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, self.good)
                os.lseek(self.fd, self.good, os.SEEK_SET)


def _end(fd: int) -> int:
    """Where the next write lands: the end for O_APPEND, else the current offset."""
    import fcntl

    if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
        return os.fstat(fd).st_size
    return os.lseek(fd, 0, os.SEEK_CUR)


# -- reading an earlier output ----------------------------------------------------------------


def answered_id(raw: bytes) -> str | None:
    """The id of a successful output line; None for an error line, a torn line, garbage."""
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(obj, dict) or "error" in obj or not isinstance(obj.get("text"), str):
        return None
    line_id = obj.get("id")
    return line_id if isinstance(line_id, str) else None


def good_lines(paths: Iterable[Path], done: set[str]) -> Iterator[bytes]:
    """The first successful line of each id not yet in ``done`` (which it fills), from each
    existing file in turn, each ending with a newline."""
    for path in paths:
        try:
            stream = path.open("rb")
        except FileNotFoundError:
            continue
        with stream:
            for raw in stream:
                line_id = answered_id(raw)
                if line_id is None or line_id in done:
                    continue
                done.add(line_id)
                yield raw if raw.endswith(b"\n") else raw + b"\n"


# -- the transaction --------------------------------------------------------------------------


class OutputFile:
    """``-o FILE`` (a regular file or a new one): the run's partial file and its commit."""

    def __init__(self, target: Path, sink: LineSink, *, leftover: bool = False) -> None:
        self.target, self.sink, self.leftover = target, sink, leftover
        self.partial = partial_path(target)

    @classmethod
    def begin(cls, target: Path, *, resume: bool) -> tuple[OutputFile, set[str]]:
        """Open the partial (for ``resume``: the merge of the target and a leftover partial);
        returns it and the ids already answered. Raises ``OutputFailed``; the target is
        untouched either way."""
        done: set[str] = set()
        partial = partial_path(target)
        leftover = resume and partial.exists()  # a killed run's lines: never drop them
        mode = _mode_for(target)
        try:
            if resume:
                lines = _merge(target, partial, mode, done)
                fd = os.open(partial, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
            else:
                lines = 0
                fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                             0o600)
                os.fchmod(fd, mode)
        except (OSError, _MergeFailed) as exc:
            reason = exc.reason if isinstance(exc, _MergeFailed) else exc.strerror or str(exc)
            raise OutputFailed(f"cannot write {target}: {reason}; nothing was sent and "
                               "it is unchanged") from None
        return cls(target, LineSink(fd, str(target), lines=lines), leftover=leftover), done

    def commit(self) -> None:
        """Whole lines, on disk, under the target's name. Raises ``OutputFailed`` (the lines
        stay in the partial file, which ``--resume`` reads)."""
        fd = self.sink.fd
        try:
            self.sink.cut()
            os.fsync(fd)
            os.close(fd)
            os.replace(self.partial, self.target)
            _fsync_dir(self.target.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise OutputFailed(
                f"cannot save {self.target}: {exc.strerror or exc}",
                hint=f"the answers are in {self.partial}; run again with --resume") from None

    def abandon(self) -> None:
        """The run wrote no answer: the target stays as it was, and so does a partial file
        an earlier killed run left (its lines are only there)."""
        with contextlib.suppress(OSError):
            os.close(self.sink.fd)
        if not self.leftover:
            with contextlib.suppress(OSError):
                os.unlink(self.partial)


class _MergeFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _merge(target: Path, partial: Path, mode: int, done: set[str]) -> int:
    """The good lines of ``target`` then ``partial`` into a temp file renamed over
    ``partial`` (fsynced first); returns how many lines it holds."""
    temp = partial.with_name(f"{partial.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, mode)
        sink = LineSink(fd, str(target))
        chunk: list[bytes] = []
        for line in good_lines((target, partial), done):
            chunk.append(line)
            if len(chunk) >= 1024:
                sink.write(b"".join(chunk))
                chunk.clear()
        if chunk:
            sink.write(b"".join(chunk))
        os.fsync(fd)
        os.replace(temp, partial)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OutputFailed):
            raise _MergeFailed(sink.reason) from None
        raise
    finally:
        os.close(fd)
    _fsync_dir(partial.parent)
    return sink.lines


def _mode_for(target: Path) -> int:
    """The target's permission bits; for a new file 0666 less the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """``data`` as the whole new content of ``path`` (temp file, fsync, rename); raises
    OSError or ``OutputFailed``, leaving ``path`` as it was."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = _mode_for(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, mode)
        LineSink(fd, str(path)).write(data)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(temp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
