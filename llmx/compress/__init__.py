"""Token optimizer: offline counting, rule-based compression, context-window fitting.

``tokens.py`` is the only tiktoken user; ``rules.py`` and ``context.py`` are pure. ``shrink``
is what the engine calls: it compresses and measures, and it never returns more tokens than
it was given.
"""

# No ``from __future__ import annotations`` here: a named tuple's string annotations are
# compiled when its class is made (the first compile of a process costs ~3 ms).

from typing import TYPE_CHECKING, NamedTuple

from llmx.choices import COMPRESSION_MODES, RULE_MODES, member

if TYPE_CHECKING:
    from llmx.compress.tokens import Tokenizer


class Shrunk(NamedTuple):  # not a dataclass: every request imports this package
    text: str
    before: int  # tokens in the original
    after: int  # tokens in ``text``
    approximate: bool  # counted with a stand-in encoding
    merged: int = 0  # the merge level used to fit the budget (0: none)

    @property
    def saved(self) -> int:
        return self.before - self.after


MERGE_LEVELS = 3  # rules.compress's merge levels, tried in turn while over the budget


def shrink(text: str, mode: str, tokenizer: "Tokenizer", budget: int | None = None) -> Shrunk:
    """``text`` compressed in ``mode`` (one of ``COMPRESSION_MODES``; ``ValueError`` for
    another); the original when that would not save tokens.

    ``budget`` (tokens; aggressive mode): while the compressed text is over it, similar log
    templates are merged, one level more each time (the text then says so); a level is
    taken only when it has fewer tokens than the text before it (merging can cost tokens:
    a merged slot lists the words of every template in it), and the least merged text
    within the budget, or the smallest one, is the answer.
    """
    before = tokenizer.count(text)
    if mode == "off":
        return Shrunk(text, before, before, tokenizer.approximate)
    from llmx.compress.rules import compress

    rules = member(mode, RULE_MODES)
    if rules is None:
        raise ValueError(f"unknown compression mode {mode!r}; expected one of "
                         f"{', '.join(COMPRESSION_MODES)}")
    out = compress(text, rules)
    after = before if out == text else tokenizer.count(out)
    used = 0
    for level in range(1, MERGE_LEVELS + 1):
        if budget is None or rules != "aggressive" or after <= budget:
            break
        merged = compress(text, rules, level)
        if merged != out and (tokens := tokenizer.count(merged)) < after:
            out, after, used = merged, tokens, level
    if after >= before:
        return Shrunk(text, before, before, tokenizer.approximate)
    return Shrunk(out, before, after, tokenizer.approximate, used)
