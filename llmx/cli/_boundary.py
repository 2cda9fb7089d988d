"""The one error boundary: every command runs through ``guarded``.

An ``LlmxError`` becomes ``error: <message>`` (and ``hint: ...``) on stderr with its exit
code. Ctrl-C exits 130. A closed stdout (``| head``) exits quietly. Anything else is a bug:
one line naming the exception type, unless ``LLMX_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

from llmx.errors import ExitCode, LlmxError
from llmx.ui.stream import OutputClosed, discard_output

DEBUG_VAR = "LLMX_DEBUG"


def debug_enabled(env: Mapping[str, str]) -> bool:
    return env.get(DEBUG_VAR, "") not in ("", "0", "false", "no")


def guarded(run: Callable[[], int], stderr: TextIO | None = None,
            env: Mapping[str, str] | None = None) -> int:
    err = sys.stderr if stderr is None else stderr
    debug = debug_enabled(os.environ if env is None else env)
    try:
        return run()
    except LlmxError as exc:
        if debug:
            _traceback(err)
        report(exc, err)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _say(err, "error: interrupted")
        return int(ExitCode.INTERRUPTED)
    except (BrokenPipeError, OutputClosed):
        discard_output(sys.stdout)
        return int(ExitCode.OK)
    except Exception as exc:
        if debug:
            _traceback(err)
        name = type(exc).__name__
        _say(err, f"error: internal error ({name})\nhint: rerun with {DEBUG_VAR}=1 for details")
        return int(ExitCode.INTERNAL)


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

