"""``llmx compress``: the compressed text on stdout, the token counts on stderr."""

from __future__ import annotations

import json
from pathlib import Path

from llmx.choices import RULE_MODES
from llmx.cli._io import Io
from llmx.cli._stdin import decode
from llmx.errors import UsageError

MODES = RULE_MODES  # `--mode`: the modes that have rules ("off" would be a no-op)


def check_mode(mode: str) -> str:
    from llmx.config.schema import check_flag, choice

    return str(check_flag("--mode", choice(*MODES), mode))


def read_input(source: str, io: Io) -> str:
    if source == "-":
        return decode(io.stdin.read())
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source} is not valid UTF-8 (offset {exc.start})") from None


def run_compress(source: str, mode: str, model: str, as_json: bool, io: Io) -> int:
    from llmx.compress import shrink
    from llmx.compress.tokens import tokenizer_for
    from llmx.paths import state_dir

    mode = check_mode(mode)  # before anything is read or the tokenizer cache is written
    text = read_input(source, io)
    tokenizer = tokenizer_for(model, cache_dir=state_dir(io.env) / "tokenizers")
    shrunk = shrink(text, mode, tokenizer)
    counts = {"mode": mode, "tokens_before": shrunk.before, "tokens_after": shrunk.after,
              "saved_pct": round(100 * shrunk.saved / shrunk.before, 2) if shrunk.before else 0.0,
              "encoding": tokenizer.encoding, "approximate": shrunk.approximate}
    if as_json:
        io.stdout.write(json.dumps({"text": shrunk.text, **counts}, ensure_ascii=False) + "\n")
    else:
        io.stdout.write(shrunk.text)
        io.stderr.write(summary_line(shrunk.before, shrunk.after, tokenizer.encoding,
                                     shrunk.approximate) + "\n")
    io.stdout.flush()
    return 0


def summary_line(before: int, after: int, encoding: str, approximate: bool) -> str:
    pct = 100 * (before - after) / before if before else 0.0
    mark = "~" if approximate else ""
    return f"tokens: {mark}{before} -> {mark}{after} (-{pct:.1f}%, {encoding})"
