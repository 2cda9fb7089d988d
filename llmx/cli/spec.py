"""Every option of ``llmx ask`` (and the shared ``--config``/``--profile``), declared once.

The table ``ASK`` is the single source: the fast parser below reads it, and
``llmx.cli.spec_typer`` builds the Typer command (names, types, help, placeholders) from
it, so both accept the same words and give the same ``AskArgs``. Defaults are
``AskArgs``'s own. Standard library only (this module is on the fast path).

The grammar is click's, which users of click tools know (and POSIX getopt agrees):

* ``--name VALUE`` or ``--name=VALUE``; ``-n VALUE`` or ``-nVALUE`` (so ``-m=gpt`` is the
  value ``=gpt``); a value is the next word whatever it looks like (``-p --json``);
* a repeatable option (``-f a -f b``) keeps every value, in order;
* a flag takes no ``=value``; ``--stream``/``--no-stream`` set one field True/False;
* a *constant* flag stores a value into another option's field (``--no-compress`` is
  ``--compress off``); for one field the last word wins, as for a repeated option;
* ``-`` is a word (the prompt from stdin); everything after ``--`` is a word.
"""

# No ``from __future__ import annotations`` here: a named tuple's string annotations are
# compiled when its class is made (the first compile of a process costs ~3 ms).

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

from llmx.choices import CONTENT_KINDS, REASONING_EFFORTS, RULE_MODES

Kind = Literal["value", "flag", "const", "many"]
ValueType = type[str] | type[int] | type[float]

# The declarations are NamedTuples, not dataclasses: this module is imported by every
# `llmx ask`, and a dataclass costs ~1.5 ms to create (a NamedTuple, a fraction of that).


class Opt(NamedTuple):
    """One option: the words that name it, the ``AskArgs`` field it sets, how.

    ``kind``: ``value`` takes a word converted by ``type``; ``flag`` sets ``field`` to True
    (its ``off`` names set False); ``const`` sets ``field`` to ``const``; ``many`` takes a
    word like ``value`` each time it is given, and the field holds them all, in order (a
    tuple; ``()`` when never given)."""

    field: str
    names: tuple[str, ...]
    help: str
    kind: Kind = "value"
    type: ValueType = str
    metavar: str | None = None
    off: tuple[str, ...] = ()
    const: Any = None
    show_default: bool = True

    @property
    def param(self) -> str:
        """The Python parameter name: the field, or the long name for a ``const``."""
        if self.kind == "const":
            return self.names[-1].lstrip("-").replace("-", "_")
        return self.field


class Words:
    """The positional words (``nargs=-1``; one word at most when not ``many``): the field
    they fill and their help."""

    __slots__ = ("field", "help", "many")

    def __init__(self, field: str, help: str, *, many: bool = True) -> None:
        self.field, self.help, self.many = field, help, many


CONFIG = Opt("config", ("--config",), "Config file (default: $LLMX_CONFIG, ./llmx.toml, "
             "$XDG_CONFIG_HOME/llmx/config.toml).", metavar="PATH")
PROFILE = Opt("profile", ("-p", "--profile"), "Profile to use (default: default_profile).",
              metavar="NAME")

ASK_WORDS = Words("prompt", "The prompt (words are joined). `-` reads the prompt from stdin; "
                  "otherwise piped stdin is appended as context.")
ASK: tuple[Opt, ...] = (
    PROFILE,
    Opt("model", ("-m", "--model"), "Override the model.", metavar="MODEL"),
    Opt("system", ("-s", "--system"), "System prompt."),
    Opt("temperature", ("--temperature",), "Sampling temperature.", type=float),
    Opt("max_tokens", ("--max-tokens",), "Cap on answer tokens.", type=int),
    Opt("stream", ("--stream",), "Stream the answer as it arrives.", kind="flag",
        off=("--no-stream",)),
    Opt("json", ("--json",), "Print one JSON object: text, model, provider, usage, "
        "latency_ms, ttft_ms, cached.", kind="flag"),
    CONFIG,
    Opt("stdin", ("--stdin",), "Always wait for / never read piped stdin (default: read it "
        "if data comes within 1s).", kind="flag", off=("--no-stdin",), show_default=False),
    Opt("no_cache", ("--no-cache",), "Neither read nor write the cache for this call.",
        kind="flag"),
    Opt("refresh", ("--refresh",), "Ask the provider even if cached; store the new answer.",
        kind="flag"),
    Opt("kind", ("--kind",), f"Content kind for the cache TTL: {', '.join(CONTENT_KINDS)} "
        "(default: detected).", metavar="KIND"),
    Opt("compress", ("--compress",), f"Compress the prompt: {' or '.join(RULE_MODES)} "
        "(default: the profile's compression.mode).", metavar="MODE"),
    Opt("compress", ("--no-compress",), "Send the prompt as it is.", kind="const",
        const="off"),
    Opt("dry_run", ("--dry-run",), "Show the prompt that would be sent and its token "
        "counts; send nothing.", kind="flag"),
    Opt("resume", ("-c", "--continue"), "Continue the newest conversation: its earlier "
        "turns are sent as history (fitted to the context window).", kind="flag"),
    Opt("cid", ("--cid",), "Continue the conversation with this id (or a unique prefix of "
        "it; `llmx logs` shows them).", metavar="ID"),
    Opt("no_log", ("--no-log",), "Keep no log of this call (default: the profile's `logs`).",
        kind="flag"),
    Opt("tools", ("--tools",), "JSON file: a list of OpenAI-style function tools the model "
        "may call; each call is printed as one JSON line (--json: `tool_calls`).",
        metavar="FILE"),
    Opt("tool_choice", ("--tool-choice",), "With --tools: auto, required, none or a tool's "
        "name.", metavar="CHOICE"),
    Opt("schema", ("--schema",), "A JSON Schema (a file, or the JSON itself) the answer must "
        "follow; the answer is its JSON (exit 10 when it does not follow it).",
        metavar="FILE|JSON"),
    Opt("show_reasoning", ("--show-reasoning",), "Print the model's reasoning (thinking) to "
        "stderr, dim on a terminal; stdout gets only the answer (--json: `reasoning`).",
        kind="flag"),
    Opt("reasoning_effort", ("--reasoning-effort",), f"How hard a reasoning model thinks: "
        f"{', '.join(REASONING_EFFORTS)} (OpenAI reasoning_effort, Anthropic thinking budget, "
        "Ollama think).", metavar="LEVEL"),
    Opt("files", ("-f", "--file"), "A text file sent with the prompt, labelled with its name "
        "(repeatable; a binary file or one over 1 MiB is refused).", kind="many",
        metavar="PATH"),
    Opt("attach", ("-a", "--attach"), "An image sent with the prompt: PNG, JPEG, GIF or WebP, "
        "a path or an http(s) URL that llmx fetches (repeatable; size limits per provider).",
        kind="many", metavar="PATH|URL"),
    Opt("template", ("-t", "--template"), "Apply the config's [templates.NAME]: its system, "
        "prompt ({input}: stdin, {args}: the prompt words) and settings; flags win.",
        metavar="NAME"),
    Opt("extract", ("-x", "--extract"), "Print only the first fenced code block of the answer "
        "(exit 11 when it has none).", kind="flag"),
    Opt("extract_last", ("--extract-last",), "Print only the last fenced code block of the "
        "answer (exit 11 when it has none).", kind="flag"),
)


Parsed = tuple[tuple[str, ...], dict[str, Any]]  # the words, the values by field


def parse(table: Sequence[Opt], argv: Sequence[str]) -> Parsed | None:
    """``argv`` read by the grammar above: its words and its option values by field (only
    those given; the last word wins). None for anything that is not a clean parse
    (help, an unknown option, a missing or malformed value), which the caller leaves to
    the Typer app and its full error messages."""
    by_name = {name: (opt, True) for opt in table for name in opt.names}
    by_name.update({name: (opt, False) for opt in table for name in opt.off})
    values: dict[str, Any] = {}
    words: list[str] = []
    rest = list(argv)
    while rest:
        item = rest.pop(0)
        if item == "--":
            words.extend(rest)
            break
        if item == "-" or not item.startswith("-"):
            words.append(item)
        elif not _take(item, rest, by_name, values):
            return None
    return tuple(words), values


def _take(item: str, rest: list[str], by_name: dict[str, tuple[Opt, bool]],
          values: dict[str, Any]) -> bool:
    """Apply one option word (consuming its value from ``rest``); False: not clean."""
    name, eq, inline = item.partition("=")
    if name.startswith("--") and name in by_name:
        found = by_name[name]
        attached: str | None = inline if eq else None
    elif not item.startswith("--") and item[:2] in by_name:
        found = by_name[item[:2]]
        attached = item[2:] or None  # `-mgpt`, `-m=gpt` (the value `=gpt`), or `-m`
        if attached is not None and found[0].kind not in ("value", "many"):
            return False  # a cluster of short flags: none exists, leave it to click
    else:
        return False
    opt, on = found
    if opt.kind in ("flag", "const"):
        if attached is not None:
            return False  # `--json=1`
        values[opt.field] = opt.const if opt.kind == "const" else on
        return True
    raw = attached if attached is not None else (rest.pop(0) if rest else None)
    if raw is None:
        return False
    try:
        value = opt.type(raw)
    except ValueError:
        return False
    values[opt.field] = (*values.get(opt.field, ()), value) if opt.kind == "many" else value
    return True
