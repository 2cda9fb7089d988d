"""Entry point. ``main`` keeps the common commands off Typer's import cost.

``llmx --version`` and well-formed ``llmx ask ...`` and ``llmx batch ...`` lines are
served without importing Typer (which loads pydantic and Rich: ~140 ms here). Everything
else, including ``--help`` and every error in parsing, goes through the Typer app.

Around every command, ``main`` also makes the process's edges ordinary:

* a closed stdin, stdout or stderr (``<&-``) is reopened on the null device, read-only, so
  no file llmx opens later takes its number: stdin reads as empty, a write to stdout fails
  (one ``error:`` line, exit 8), a write to stderr is dropped;
* SIGTERM ends a command as Ctrl-C does (exit 130, what was printed stays);
* an argument that is not valid UTF-8 is a usage error (exit 2);
* stdout is flushed before exit, so a full disk is reported (exit 8), not a traceback.

And the process costs what its command does (an answer from the cache is a few
milliseconds of work): the cyclic garbage collector is off until a command turns out to
be more than a quick one (``collect_garbage``: the Typer app, a request that goes out),
and a quick command's exit skips the interpreter's teardown (``_exit``).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from llmx.cli._io import Io

# fd, name, mode, how the stand-in is opened: stdout read-only so that writes fail (EBADF)
_STREAMS = ((0, "stdin", "r", os.O_RDONLY), (1, "stdout", "w", os.O_RDONLY),
            (2, "stderr", "w", os.O_WRONLY))


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The process entry point: the edges above, then ``run``, then the exit (``_exit``)."""
    from importlib import import_module

    gc.disable()  # until ``collect_garbage``: a quick command makes little garbage
    _reopen_closed_streams()
    # ``_signal``: what ``signal`` wraps, without building its enums (~1 ms of every command)
    signals = import_module("_signal")
    signals.signal(signals.SIGTERM, signals.default_int_handler)  # SIGTERM ends as Ctrl-C
    # httpx imports its own command line (click, rich, pygments: ~35 ms of a one-shot ask)
    # whenever those are installed; this process never runs it, so it is marked absent
    # (httpx then defines a stand-in ``main``). The library leaves other programs' httpx be.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    code = run(sys.argv[1:] if argv is None else argv)
    try:
        sys.stderr.flush()
    except OSError:  # notes that cannot be written are dropped, not an exit status of 120
        from llmx.ui.stream import discard_output

        discard_output(sys.stderr)
    _exit(code)


def collect_garbage() -> None:
    """The command is more than a quick one (it sends a request, or runs the Typer app):
    turn the cyclic garbage collector back on. (``main`` turned it off; nothing else
    does.)"""
    gc.enable()


def _exit(code: int) -> NoReturn:
    """Exit with ``code``. After a quick command (the collector still off: an answer from
    the cache, ``--version``, a usage error), with no other thread running and both output
    streams flushed, the atexit handlers run and the process ends at once: the
    interpreter's teardown (freeing every module, collecting garbage: about a fifth of an
    answer from the cache) only frees memory the system frees anyway. Anything else exits
    the ordinary way (files a command left open are flushed and closed by the teardown)."""
    threading = sys.modules.get("threading")
    if gc.isenabled() or (threading is not None and threading.active_count() > 1):
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)  # the interpreter's own exit reports what it can
    os._exit(code)


def run(argv: Sequence[str], io: Io | None = None) -> int:
    """Run one command line against ``io`` (default: this process's streams and
    environment) and return its exit code; stdout is flushed. Touches no signal handler
    and never exits the interpreter, so tests run it in-process."""
    args = list(argv)
    try:
        from llmx.cli._io import Io

        streams = Io.system() if io is None else io
    except KeyboardInterrupt:  # SIGTERM / Ctrl-C while the streams are being set up
        (sys.stderr if io is None else io.stderr).write("error: interrupted\n")
        return 130
    return _settled(args, streams)


def _settled(args: list[str], io: Io) -> int:
    """``_dispatch`` with stdout flushed and every way out of it mapped to an exit code."""
    from llmx.errors import OutputError
    from llmx.ui.stream import OutputClosed, discard_output

    code = 0
    try:
        code = _dispatch(args, io)
        io.stdout.flush()
    except (OSError, OutputError, OutputClosed) as exc:
        from llmx.cli._boundary import output_failed

        if code == 0:
            code = output_failed(exc, io)
        else:  # the command already failed and said so: only keep the exit quiet
            discard_output(io.stdout)
    except KeyboardInterrupt:  # before a command's own boundary (e.g. while Typer loads)
        code = 130
        io.stderr.write("error: interrupted\n")
    io.stderr.flush()
    return code


def _dispatch(args: list[str], io: Io | None = None) -> int:
    from llmx.cli._boundary import guarded
    from llmx.cli._io import Io

    streams = Io.system() if io is None else io
    if args in (["--version"], ["-V"]):
        from llmx import __version__

        streams.stdout.write(f"llmx {__version__}\n")
        return 0
    if any(_not_utf8(arg) for arg in args):
        from llmx.cli._boundary import check_arguments

        return guarded(lambda: check_arguments(args), streams)
    if args[:1] == ["ask"]:
        from llmx.cli.ask import parse_fast, run_ask

        parsed = parse_fast(args[1:])
        if parsed is not None:
            return guarded(lambda: run_ask(parsed, streams), streams)
    if args[:1] == ["batch"] or args[:2] == ["cache", "warm"]:
        from llmx.cli.batch_spec import parse_fast as parse_batch

        warm = args[0] == "cache"
        batch = parse_batch(args[2:] if warm else args[1:], warm=warm)
        if batch is not None:
            from llmx.cli.batch_cmd import run_batch_command

            return guarded(lambda: run_batch_command(batch, streams), streams)
    from llmx.cli._run import run_app

    collect_garbage()
    return run_app(args, streams)


def _not_utf8(arg: str) -> bool:
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _reopen_closed_streams() -> None:
    """Give a standard descriptor closed by the caller a harmless stand-in (see above)."""
    for fd, name, mode, flags in _STREAMS:
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
        except OSError:
            if os.open(os.devnull, flags) != fd:  # pragma: no cover - a lower fd was free
                return
        setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))  # noqa: SIM115
