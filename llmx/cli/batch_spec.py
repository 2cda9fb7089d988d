"""Every option of ``llmx batch``, declared once: the fast parser and the Typer command
(``llmx.cli.app``) are both built from ``BATCH``, so they accept the same words and give
the same ``BatchArgs`` (the grammar is ``llmx.cli.spec``'s).

A batch pays its start-up once, but Typer's share of it (Typer, click and the pydantic
they load: ~0.2 s of CPU here) is a tenth of a 2,000-line run's client work: a well-formed
``llmx batch`` line is parsed here and never imports Typer. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from llmx.choices import BATCH_MODES
from llmx.cli.spec import CONFIG, PROFILE, Opt, Words, parse


class BatchArgs(NamedTuple):
    """A parsed ``llmx batch`` command line (a NamedTuple: it is made at start-up)."""

    source: str = "-"
    output: str | None = None
    concurrency: int | None = None
    unordered: bool = False
    resume: bool = False
    rpm: int | None = None
    tpm: int | None = None
    mode: str = "auto"
    deadline: str | None = None
    summary_json: str | None = None
    profile: str | None = None
    config: str | None = None
    line_retries: int = 2
    grace: float = 5.0
    semantic: bool = False
    no_cache: bool = False
    refresh: bool = False
    warm: bool = False  # `llmx cache warm`: the cache is the output (no option sets it)


BATCH_WORDS = Words("source", "JSONL input file, or - for stdin.", many=False)
BATCH: tuple[Opt, ...] = (
    Opt("output", ("-o", "--output"), "Output file (default: stdout)."),
    Opt("concurrency", ("-j", "--concurrency"), "Requests in flight (default: the profile's "
        "batch.concurrency).", type=int),
    Opt("unordered", ("--unordered",), "Write lines as they finish, not in input order.",
        kind="flag"),
    Opt("resume", ("--resume",), "Skip ids already answered in the output file.", kind="flag"),
    Opt("rpm", ("--rpm",), "Requests per minute at most.", type=int),
    Opt("tpm", ("--tpm",), "Tokens per minute at most.", type=int),
    Opt("mode", ("--mode",), f"How lines are sent: {' | '.join(BATCH_MODES)}. auto: the "
        "provider's Batch API (OpenAI, Anthropic; 50 % cheaper) when --deadline allows its "
        "24 h window and the estimated saving is at least batch.auto_min_saving, else one "
        "request per line.", metavar="MODE"),
    Opt("mode", ("--provider-batch",), "Same as --mode provider.", kind="const",
        const="provider"),
    Opt("deadline", ("--deadline",), "How long the run may take (e.g. 36h, 2d): lets "
        "--mode auto choose the Batch API.", metavar="DURATION"),
    Opt("summary_json", ("--summary-json",), "Write the summary as JSON to this file (- for "
        "stderr)."),
    Opt("line_retries", ("--line-retries",), "Extra attempts per line after transient errors "
        "(0-100).", type=int),
    Opt("grace", ("--grace",), "Seconds lines in flight get to finish after Ctrl-C / SIGTERM.",
        type=float),
    Opt("semantic", ("--semantic",), "Also answer lines from semantic (paraphrase) cache "
        "matches; off in batches by default.", kind="flag"),
    Opt("no_cache", ("--no-cache",), "Neither read nor write the cache for any line.",
        kind="flag"),
    Opt("refresh", ("--refresh",), "Ask the provider even if cached; store the new answers.",
        kind="flag"),
    PROFILE,
    CONFIG,
)
BATCH_DEFAULTS: Mapping[str, Any] = BatchArgs._field_defaults

# `llmx cache warm FILE`: a batch whose output is the cache, so no output options
WARM_WORDS = Words("source", "JSONL prompt file (the lines `llmx batch` reads), or - for "
                   "stdin.", many=False)
_NOT_WARM = frozenset({"output", "unordered", "resume", "mode", "deadline", "no_cache"})
WARM: tuple[Opt, ...] = tuple(opt for opt in BATCH if opt.field not in _NOT_WARM)


def batch_args(words: Sequence[str], values: Mapping[str, Any]) -> BatchArgs:
    """``BatchArgs`` from the words (one input at most: both parsers refuse a second) and
    the option values by field: both parsers end here."""
    if len(words) > 1:
        raise ValueError(f"one input file at most, got {len(words)}")
    given = {name: value for name, value in values.items() if name in BATCH_DEFAULTS}
    if words:
        given["source"] = words[0]
    return BatchArgs(**given)


def parse_fast(argv: Sequence[str], *, warm: bool = False) -> BatchArgs | None:
    """Parse ``batch`` arguments (after the word ``batch``; with ``warm``, ``cache warm``'s
    after ``cache warm``); None means "let Typer do it" (help, errors, anything unusual)."""
    parsed = parse(WARM if warm else BATCH, argv)
    if parsed is None or len(parsed[0]) > 1:
        return None
    return batch_args(*parsed)._replace(warm=warm)
