"""Reading stdin without surprises.

- ``llmx ask -`` or no prompt argument: stdin *is* the prompt; read it to EOF.
- a prompt argument and a non-terminal stdin: stdin is extra context, read to EOF once
  its first byte arrives. If nothing arrives within a short grace period (a pipe that
  an orchestrator never closes), it is ignored with a note on stderr instead of hanging.
  ``--stdin`` waits however long it takes; ``--no-stdin`` never reads.
"""

from __future__ import annotations

from typing import BinaryIO

from llmx.errors import UsageError

GRACE_SECONDS = 1.0


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"stdin is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint="convert it first, e.g. `iconv -f latin1 -t utf-8`",
        ) from None


def read_all(stream: BinaryIO) -> str:
    return decode(stream.read())


def has_data_within(stream: BinaryIO, seconds: float) -> bool:
    """True when reading would not block (data or EOF) within ``seconds``."""
    import select

    try:
        ready, _, _ = select.select([stream], [], [], seconds)
    except (OSError, ValueError, TypeError):
        return True  # not selectable (e.g. an in-memory stream): reading will not block
    return bool(ready)


def context_ready(stream: BinaryIO, wait: bool | None, grace: float = GRACE_SECONDS) -> bool:
    """Should piped stdin be read as context? ``wait``: True always, False never, None auto."""
    if wait is not None:
        return wait
    return has_data_within(stream, grace)
