"""``llmx compress --explain``: which rules fired and how many tokens each saved.

``explain(text, mode, count, merge)`` applies the rules of ``mode`` one more at a time, in
pipeline order, and reports each rule that changed the text with the tokens it saved
(``count`` is the tokenizer's counter; a rule may save a negative amount, which is shown).
The rows add up to what ``rules.compress(text, mode, merge)`` saves. For ``log_fold`` the
row also says what was folded (templates, identical records, stack traces, lines removed),
and a last row gives the merge level when the text was merged to fit a budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from llmx.compress.rules import Mode, apply_rules, rules_for


class Fired(NamedTuple):
    rule: str
    saved: int  # tokens; negative when the rule cost tokens
    detail: str = ""


def explain(text: str, mode: Mode, count: Callable[[str], int], merge: int = 0
            ) -> list[Fired]:
    """Each rule of ``mode`` that changed ``text``, with the tokens it saved, in order."""
    rules = rules_for(mode)
    fired: list[Fired] = []
    previous, previous_tokens = text, count(text)
    for index, rule in enumerate(rules):
        out = apply_rules(text, rules[: index + 1])
        if out == previous:
            continue
        tokens = count(out)
        detail = _fold_detail(previous) if rule == "log_fold" else ""
        fired.append(Fired(rule, previous_tokens - tokens, detail))
        previous, previous_tokens = out, tokens
    if merge:
        out = apply_rules(text, rules, merge)
        if out != previous:
            tokens = count(out)
            fired.append(Fired("merge", previous_tokens - tokens,
                               f"level {merge}: similar templates merged to fit the budget"))
    return fired


def _fold_detail(text: str) -> str:
    from llmx.compress.fold_log import fold

    folded = fold(text)
    parts = [f"{folded.templates} templates", f"{folded.duplicates} repeated records"]
    if folded.traces:
        parts.append(f"{folded.traces} stack traces")
    parts.append(f"{folded.lines_removed} lines removed")
    return ", ".join(parts)


def render(fired: list[Fired], before: int, after: int) -> list[str]:
    """The stderr lines of ``--explain``."""
    if not fired:
        return ["explain: no rule changed the text"]
    width = max(len(row.rule) for row in fired)
    lines = [f"explain: {row.rule:<{width}}  {row.saved:>8} tokens saved"
             + (f"  ({row.detail})" if row.detail else "") for row in fired]
    if after >= before:
        lines.append("explain: the result saved nothing, so the original text is kept")
    return lines
