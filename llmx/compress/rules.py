"""Rule-based prompt compression, pure (stdlib only).

``compress(text, mode)`` applies the rules of a mode; ``apply_rules(text, names)`` applies any
subset (the benchmark measures each rule that way). Every rule is there because it saves
cl100k tokens: on the corpus (220 prompts, six logs), or - for ``json`` and ``tables``, which
the corpus never exercises - on the JSON and Markdown files of ../shared/data
(benchmarks/compress_corpus.py prints the per-rule table).

Conservative (meaning-preserving; changes no word except folding duplicates):
  ``json``        JSON blocks (whole lines holding an object/array) lose the blanks between tokens
  ``tables``      Markdown tables lose cell padding; delimiter rows shrink to ``|-|:-|``
  ``whitespace``  trailing blanks go; runs of spaces inside a line -> one space (this is also
                  the list compaction: ``-   item`` -> ``- item``); indentation kept; CRLF -> LF
  ``blank_lines`` runs of blank lines -> one; none at the start or the end
  ``duplicates``  consecutive identical lines / paragraphs -> one, with ``[×N]``
Aggressive adds:
  ``filler.*``    politeness and filler phrases ("I want you to", "please", ...)
  ``json_lines``  NDJSON lines with the same keys -> the keys once, each line as its values
                  (``ndjson.py``)
  ``log_fold``    records (lines, or whole stack traces) sharing a template (they differ only
                  in variable tokens: numbers, ids, times, IPs, paths with ids) -> one template
                  with a count and a summary of each slot's values; NDJSON rows by their
                  values' shapes (``ndjson_rows.py``); a trace's repeated log prefix on its
                  header only; runs of trace lines seen in an earlier trace -> one reference
                  (``fold_log.py``, ``shapes.py``, ``traces.py``)

Never rewritten in any mode: fenced and inline code, URLs, paths, quoted strings, JSON
strings, indented code lines, and numbers. Log folding never cuts inside one either: a
quoted string, URL or path holding a digit is one whole variable, and a slot's summary shows
whole values (``<first|last|… N distinct>``); it never changes a fenced code block. Every
distinct word (3+ letters) of a folded text stays in it. Abbreviations are deliberately
absent: they cost tokens in cl100k. With a token budget (``shrink``), similar templates are
merged (``merge`` 1..3, ``merge.py``); long-context pruning is left to ``context.fit``.
"""  # noqa: RUF002 - the multiplication sign and curly quotes are meant

from __future__ import annotations

from collections.abc import Collection

from llmx.choices import RULE_MODES, RuleMode
from llmx.compress import rules_fold, rules_text
from llmx.compress.rules_protect import mask, split_fenced

COMPRESSOR_VERSION = "rules-2"

Mode = RuleMode  # the modes with rules (``choices.RULE_MODES``)

CONSERVATIVE_RULES: tuple[str, ...] = (
    "json", "tables", "whitespace", "blank_lines", "duplicates",
)


def rules_for(mode: Mode) -> tuple[str, ...]:
    """The rule names a mode applies (in the order the benchmark reports them)."""
    if mode == "conservative":
        return CONSERVATIVE_RULES
    if mode == "aggressive":
        return (*CONSERVATIVE_RULES, *rules_text.filler_names(), "json_lines", "log_fold")
    raise ValueError(f"unknown compression mode {mode!r}; expected one of {RULE_MODES}")


def all_rules() -> tuple[str, ...]:
    return rules_for("aggressive")


def compress(text: str, mode: Mode, merge: int = 0) -> str:
    """``text`` with the rules of ``mode`` applied. Deterministic and idempotent.

    ``merge`` 1..3 (aggressive mode; for a text over a token budget, see ``shrink``) also
    merges similar log templates, more at each level (``merge.py``); 0 never does.
    """
    return apply_rules(text, rules_for(mode), merge)


def apply_rules(text: str, names: Collection[str], merge: int = 0) -> str:
    """``text`` with the named rules applied (any subset of ``all_rules()``)."""
    chosen = frozenset(names)
    unknown = chosen - frozenset(all_rules())
    if unknown:
        raise ValueError(f"unknown compression rules: {', '.join(sorted(unknown))}")
    pieces = split_fenced(text)
    out = [piece if is_code else _prose(piece, chosen, merge) for is_code, piece in pieces]
    if "blank_lines" in chosen and out:
        if not pieces[0][0]:
            out[0] = out[0].lstrip("\n")
        if not pieces[-1][0]:
            out[-1] = out[-1].rstrip()
    return "".join(out)


def _prose(piece: str, rules: frozenset[str], merge: int) -> str:
    if "whitespace" in rules:
        piece = piece.replace("\r\n", "\n")
    masked = mask(piece, minify="json" in rules)
    text = masked.text
    if "tables" in rules:
        text = rules_text.compact_tables(text)
    for remove_filler in rules_text.filler_rules(rules):
        text = remove_filler(text)
    if "whitespace" in rules:
        text = rules_text.collapse_spaces(text)
    if "blank_lines" in rules:
        text = rules_text.collapse_blank_lines(text)
    text = masked.restore(text)
    if "json_lines" in rules:
        from llmx.compress.ndjson import tabulate  # aggressive only: its import waits

        text = tabulate(text)
    if "log_fold" in rules:
        from llmx.compress.fold_log import fold  # its regexes compile on first use

        text = fold(text, merge).text
    if "duplicates" in rules:
        text = rules_fold.fold_duplicates(text)
    return text
