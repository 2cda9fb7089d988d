"""The one error boundary: every command runs through ``guarded``.

An ``LlmxError`` becomes ``error: <message>`` (and ``hint: ...``) on stderr with its exit
code. Ctrl-C (and SIGTERM) exit 130. A reader that went away (``| head``) is a quiet exit 0;
a stdout that cannot be written (a full disk, a closed descriptor) is ``OutputError``
(exit 8). Anything else is a bug: one line naming the exception type, unless
``LLMX_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TextIO

from llmx.errors import ExitCode, LlmxError, OutputError, UsageError
from llmx.ui.stream import OutputClosed, discard_output, output_error

if TYPE_CHECKING:
    from llmx.cli._io import Io

DEBUG_VAR = "LLMX_DEBUG"


def debug_enabled(env: Mapping[str, str]) -> bool:
    return env.get(DEBUG_VAR, "") not in ("", "0", "false", "no")


def guarded(run: Callable[[], int], io: Io) -> int:
    """``run()``'s exit code; every exception becomes its exit code and message on
    ``io.stderr`` (``LLMX_DEBUG`` read from ``io.env``)."""
    err = io.stderr
    debug = debug_enabled(io.env)
    try:
        return run()
    except OutputError as exc:
        discard_output(io.stdout)  # what is left in stdout's buffer cannot be written either
        report(exc, err)
        return int(exc.exit_code)
    except LlmxError as exc:
        if debug:
            _traceback(err)
        report(exc, err)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _say(err, "error: interrupted")
        return int(ExitCode.INTERRUPTED)
    except (BrokenPipeError, OutputClosed):
        discard_output(io.stdout)
        return int(ExitCode.OK)
    except Exception as exc:
        if debug:
            _traceback(err)
        name = type(exc).__name__
        _say(err, f"error: internal error ({name})\nhint: rerun with {DEBUG_VAR}=1 for details")
        return int(ExitCode.INTERNAL)


def output_failed(exc: OSError | OutputError | OutputClosed, io: Io) -> int:
    """stdout failed outside a command (``--help``, ``--version``, the final flush)."""
    discard_output(io.stdout)  # the interpreter's own last flush must not fail again
    if isinstance(exc, BrokenPipeError | OutputClosed):
        return int(ExitCode.OK)
    error = exc if isinstance(exc, OutputError) else output_error(exc)
    report(error, io.stderr)
    return int(error.exit_code)


def check_arguments(args: list[str]) -> int:
    """Refuse an argument that is not valid UTF-8 (Python hands it over with surrogates)."""
    for number, arg in enumerate(args, start=1):
        data = arg.encode("utf-8", "surrogateescape")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"argument {number} is not valid UTF-8 (byte 0x"
                             f"{data[exc.start]:02x} at offset {exc.start})",
                             hint="convert it first, e.g. `iconv -f latin1 -t utf-8`") from None
    return int(ExitCode.OK)


def report(exc: LlmxError, err: TextIO) -> None:
    lines = [f"error: {_one_line(exc.message)}"]
    if exc.hint:
        lines.append(f"hint: {_one_line(exc.hint)}")
    _say(err, "\n".join(lines))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _say(err: TextIO, text: str) -> None:
    try:
        err.write(text + "\n")
        err.flush()
    except (OSError, ValueError):
        pass


def _traceback(err: TextIO) -> None:
    """The current traceback, secrets masked (``__cause__`` chains from httpx included)."""
    import traceback

    from llmx.errors import redact

    _say(err, redact(traceback.format_exc().rstrip()))

