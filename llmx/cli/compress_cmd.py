"""``llmx compress``: the compressed text on stdout, the token counts on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from llmx.choices import RULE_MODES
from llmx.cli._io import Io
from llmx.cli._stdin import decode
from llmx.errors import UsageError

MODES = RULE_MODES  # `--mode`: the modes that have rules ("off" would be a no-op)


class Options(NamedTuple):
    mode: str
    model: str = "gpt-4"
    as_json: bool = False
    max_tokens: int | None = None  # budget: over it, aggressive mode merges templates
    explain: bool = False  # which rules fired and the tokens each saved, on stderr


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


def run_compress(source: str, options: Options, io: Io) -> int:
    from llmx.compress import shrink
    from llmx.compress.tokens import tokenizer_for
    from llmx.paths import state_dir

    mode = check_mode(options.mode)  # before anything is read or the tokenizer cache is written
    if options.max_tokens is not None and options.max_tokens < 1:
        raise UsageError(f"--max-tokens must be at least 1, got {options.max_tokens}")
    text = read_input(source, io)
    tokenizer = tokenizer_for(options.model, cache_dir=state_dir(io.env) / "tokenizers")
    shrunk = shrink(text, mode, tokenizer, options.max_tokens)
    counts = {"mode": mode, "tokens_before": shrunk.before, "tokens_after": shrunk.after,
              "saved_pct": round(100 * shrunk.saved / shrunk.before, 2) if shrunk.before else 0.0,
              "encoding": tokenizer.encoding, "approximate": shrunk.approximate,
              "merge_level": shrunk.merged}
    if options.explain:
        from llmx.compress.explain import explain, render

        fired = explain(text, mode, tokenizer.count, shrunk.merged)  # type: ignore[arg-type]
        io.stderr.write("\n".join(render(fired, shrunk.before, shrunk.after)) + "\n")
        if options.max_tokens is not None and shrunk.after > options.max_tokens:
            how = (f"after merging (level {shrunk.merged})" if shrunk.merged else
                   "(no merge level saved tokens, so none was taken)")
            io.stderr.write(f"explain: still over the budget of {options.max_tokens} tokens "
                            f"{how}; nothing more is removed here\n")
    if options.as_json:
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
