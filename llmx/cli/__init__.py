"""Entry point. ``main`` keeps the common commands off Typer's import cost.

``llmx --version`` and well-formed ``llmx ask ...`` lines are served without importing
Typer (which loads pydantic and Rich: ~140 ms here). Everything else, including
``--help`` and every error in parsing, goes through the Typer app.

Around every command, ``main`` also makes the process's edges ordinary:

* a closed stdin, stdout or stderr (``<&-``) is reopened on the null device, read-only, so
  no file llmx opens later takes its number: stdin reads as empty, a write to stdout fails
  (one ``error:`` line, exit 8), a write to stderr is dropped;
* SIGTERM ends a command as Ctrl-C does (exit 130, what was printed stays);
* an argument that is not valid UTF-8 is a usage error (exit 2);
* stdout is flushed before exit, so a full disk is reported (exit 8), not a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

# fd, name, mode, how the stand-in is opened: stdout read-only so that writes fail (EBADF)
_STREAMS = ((0, "stdin", "r", os.O_RDONLY), (1, "stdout", "w", os.O_RDONLY),
            (2, "stderr", "w", os.O_WRONLY))


def main(argv: Sequence[str] | None = None) -> None:
    _reopen_closed_streams()
    args = list(sys.argv[1:] if argv is None else argv)
    code = 0
    try:
        code = _dispatch(args)
        sys.stdout.flush()
    except OSError as exc:
        from llmx.cli._boundary import output_failed
        from llmx.ui.stream import discard_output

        if code == 0:
            code = output_failed(exc, sys.stderr)
        else:  # the command already failed and said so: only keep the exit quiet
            discard_output(sys.stdout)
    except KeyboardInterrupt:  # before a command's own boundary (e.g. while Typer loads)
        code = 130
        with contextlib.suppress(OSError):
            sys.stderr.write("error: interrupted\n")
    try:
        sys.stderr.flush()
    except OSError:  # notes that cannot be written are dropped, not an exit status of 120
        from llmx.ui.stream import discard_output

        discard_output(sys.stderr)
    sys.exit(code)


def _dispatch(args: list[str]) -> int:
    if args in (["--version"], ["-V"]):
        from llmx import __version__

        sys.stdout.write(f"llmx {__version__}\n")
        return 0
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM ends as Ctrl-C does
    from llmx.cli._boundary import guarded

    if any(_not_utf8(arg) for arg in args):
        from llmx.cli._boundary import check_arguments

        return guarded(lambda: check_arguments(args))
    if args[:1] == ["ask"]:
        from llmx.cli._io import Io
        from llmx.cli.ask import parse_fast, run_ask

        parsed = parse_fast(args[1:])
        if parsed is not None:
            return guarded(lambda: run_ask(parsed, Io.system()))
    from llmx.cli._run import run_app

    return run_app(args)


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
