"""Fitting a conversation into a context window. Pure: stdlib only, counts come from ``count``.

The prompt must leave ``reserve`` tokens of the window for the reply (the call's
``max_tokens``, or a default chosen by the caller), so the budget for the prompt is
``window - reserve``. A prompt costs the tokens of every text plus a framing overhead:
``MESSAGE_OVERHEAD`` per message (the system prompt counts as one) and ``REPLY_OVERHEAD``
once — OpenAI's chat format spends about 3 tokens of envelope and 1 of role name per
message and primes the reply with 3 more; other providers' framings are of the same size.

``fit`` never touches the system prompt or the latest user message unless it must, and
never hides what it removed:

1. When the prompt fits, the messages come back unchanged.
2. Otherwise whole turns (a user message with the assistant replies that follow it) are
   dropped, oldest first, until the rest fits. One user-role marker message stands where
   they were: ``[... 7 earlier messages omitted (2,345 tokens) ...]``. System-role messages
   inside the conversation are kept, and so is everything from the latest user message on.
3. When even that does not fit (``cat huge.log | llmx ask ...``), every earlier turn is
   dropped and the middle of the latest user message is cut out, leaving a marker line
   ``[... 48,210 tokens omitted ...]``. The part kept is about ``HEAD_SHARE`` (60 %) head
   and 40 % tail, so both a question written before the pasted text and one written after
   it survive; cuts fall on line boundaries when one is near (within a fifth of the part).
4. When the system prompt and the framing leave no room for a useful message (fewer than
   ``MIN_KEPT_TOKENS`` besides the marker), ``UsageError`` says so.

Token counts in markers and in ``Fitted.omitted_tokens`` are counts of the removed texts
(framing not included). For a cut message, the omitted count is the message's count minus
those of the head and tail kept; a BPE counter may differ by a token or two at the cuts.

Counting is the expensive part (about 0.3 s per MB with tiktoken), so every message is
counted once, and a cut is found by estimating its position from the text's tokens per
character, then correcting with counts of the kept parts only (a few rounds, each on text
no longer than the budget). The final message is counted once more, so the result always
fits by the counter's own measure.
"""

# No ``from __future__ import annotations`` here: a named tuple's string annotations are
# compiled when its class is made (the first compile of a process costs ~3 ms).

from collections.abc import Callable, Sequence
from typing import NamedTuple

from llmx.errors import UsageError
from llmx.types import Message

Counter = Callable[[str], int]

MESSAGE_OVERHEAD = 4
REPLY_OVERHEAD = 3
HEAD_SHARE = 0.6
MIN_KEPT_TOKENS = 16
_TOLERANCE = 0.03  # a cut within 3 % under its goal is good enough
_ROUNDS = 4  # correction rounds per cut before falling back to halving
_SNAP_SPAN = 5  # look for a line boundary within the last 1/5 of a kept part
_WORD_SPAN = 64  # ... else for a space within this many characters

_HINT = ("lower max_tokens, shorten the system prompt, or set `context_window` in the "
         "profile if the model accepts more")


class Fitted(NamedTuple):  # named tuples, not dataclasses: every request imports this
    """The conversation as it fits. ``tokens`` is the prompt's size as ``fit`` counted it
    (system prompt, messages and framing); ``omitted_tokens`` counts the removed text."""

    messages: tuple[Message, ...]
    dropped_messages: int
    omitted_tokens: int
    truncated: bool
    tokens: int


def framing(messages: int, *, system: bool) -> int:
    """Tokens a prompt of ``messages`` messages (plus a system prompt) costs beyond its texts."""
    return MESSAGE_OVERHEAD * (messages + int(system)) + REPLY_OVERHEAD


def dropped_marker(messages: int, tokens: int) -> str:
    plural = "" if messages == 1 else "s"
    return f"[... {messages:,} earlier message{plural} omitted ({tokens:,} tokens) ...]"


def cut_marker(tokens: int) -> str:
    return f"[... {tokens:,} tokens omitted ...]"


def fit(system: str | None, messages: Sequence[Message], *, window: int, reserve: int,
        count: Counter) -> Fitted:
    """``messages`` shortened so that the prompt fits ``window - reserve`` tokens."""
    budget = window - reserve
    if budget <= 0:
        raise UsageError(f"no room for a prompt: the reply reserve ({reserve:,} tokens) fills "
                         f"the whole context window ({window:,} tokens)", hint=_HINT)
    kept = tuple(messages)
    sizes = [count(message.content) for message in kept]
    base = (count(system) if system else 0) + framing(len(kept), system=bool(system))
    total = base + sum(sizes)
    if total <= budget:
        return Fitted(kept, 0, 0, False, total)
    conversation = _Conversation(kept, tuple(sizes), base, count)
    dropped = conversation.drop_within(budget)
    if dropped is not None:
        return dropped
    return conversation.cut_within(budget, window=window, reserve=reserve, total=total)


class _Conversation:
    """The conversation being fitted (a plain class: made only when a prompt does not fit,
    and free to create at import)."""

    __slots__ = ("base", "count", "messages", "sizes")

    def __init__(self, messages: tuple[Message, ...], sizes: tuple[int, ...], base: int,
                 count: Counter) -> None:
        self.messages = messages
        self.sizes = sizes
        self.base = base  # system prompt + framing of every original message
        self.count = count

    @property
    def anchor(self) -> int:
        """Index of the latest user message (the last message when there is none)."""
        users = [i for i, message in enumerate(self.messages) if message.role == "user"]
        return users[-1] if users else len(self.messages) - 1

    def turns(self) -> list[list[int]]:
        """Droppable messages before the anchor, grouped into turns, oldest first."""
        groups: list[list[int]] = []
        for index in range(max(self.anchor, 0)):
            role = self.messages[index].role
            if role == "system":
                continue
            if role == "user" or not groups:
                groups.append([])
            groups[-1].append(index)
        return groups

    def drop_within(self, budget: int) -> Fitted | None:
        """Drop the fewest oldest turns that make the prompt fit; None if dropping them all
        is not enough."""
        gone: list[int] = []
        full, gone_tokens = self.base + sum(self.sizes), 0
        for turn in self.turns():
            gone.extend(turn)
            gone_tokens += sum(self.sizes[i] for i in turn)
            marker, size = self._marker(len(gone), gone_tokens)
            total = full - gone_tokens - MESSAGE_OVERHEAD * len(gone) + size
            if total <= budget:
                return Fitted(self._rebuild(gone, marker), len(gone), gone_tokens, False, total)
        return None

    def _marker(self, messages: int, tokens: int) -> tuple[Message | None, int]:
        """The marker standing for dropped messages and its cost (text + framing)."""
        if not messages:
            return None, 0
        text = dropped_marker(messages, tokens)
        return Message("user", text), self.count(text) + MESSAGE_OVERHEAD

    def _rebuild(self, gone: list[int], marker: Message | None,
                 replace: tuple[int, Message] | None = None) -> tuple[Message, ...]:
        skipped = set(gone)
        out: list[Message] = []
        for index, message in enumerate(self.messages):
            if gone and index == gone[0] and marker is not None:
                out.append(marker)
            if index in skipped:
                continue
            out.append(replace[1] if replace and replace[0] == index else message)
        return tuple(out)

    def cut_within(self, budget: int, *, window: int, reserve: int, total: int) -> Fitted:
        """Drop every earlier turn and cut the middle of the anchor message."""
        gone = [index for turn in self.turns() for index in turn]
        dropped_tokens = sum(self.sizes[i] for i in gone)
        marker, marker_size = self._marker(len(gone), dropped_tokens)
        anchor = self.anchor
        size = self.sizes[anchor] if anchor >= 0 else 0
        fixed = (self.base + sum(self.sizes) - dropped_tokens - MESSAGE_OVERHEAD * len(gone)
                 + marker_size - size)
        room = budget - fixed
        if anchor < 0 or room < self.count(cut_marker(size)) + 2 + MIN_KEPT_TOKENS:
            raise UsageError(
                f"the prompt ({total:,} tokens) cannot fit the context window: {window:,} tokens "
                f"minus {reserve:,} for the reply leaves {budget:,}, and the system prompt and "
                f"framing alone take {fixed:,}", hint=_HINT)
        text = self.messages[anchor].content
        new_text, new_size, omitted = _cut_middle(text, size, room, self.count)
        replaced = self.messages[anchor]._replace(content=new_text)
        return Fitted(self._rebuild(gone, marker, (anchor, replaced)), len(gone),
                      dropped_tokens + omitted, True, fixed + new_size)


def _cut_middle(text: str, size: int, room: int, count: Counter) -> tuple[str, int, int]:
    """``text`` (``size`` tokens) with its middle replaced by a marker line so that it counts
    at most ``room`` tokens: (new text, its tokens, tokens omitted)."""
    keep = room - count(cut_marker(size)) - 2  # the marker's own line breaks
    chars_per_token = len(text) / max(size, 1)
    for attempt in range(2 * _ROUNDS):
        head_goal = int(keep * HEAD_SHARE)
        head = _longest(text, head_goal, count, chars_per_token, len(text), tail=False)
        tail = _longest(text, keep - head_goal, count, chars_per_token, len(text) - head[0],
                        tail=True)
        omitted = max(size - head[1] - tail[1], 0)
        new_text = _join(text[:head[0]], cut_marker(omitted), text[len(text) - tail[0]:])
        new_size = count(new_text)
        if new_size <= room:
            return new_text, new_size, omitted
        keep -= (new_size - room) * (attempt + 1) + 1  # the junctions cost more than expected
        if keep < 0:
            break
    raise UsageError(f"cannot cut the prompt down to {room:,} tokens", hint=_HINT)


def _join(head: str, marker: str, tail: str) -> str:
    before = "" if not head or head.endswith("\n") else "\n"
    after = "\n" if tail else ""
    return f"{head}{before}{marker}{after}{tail}"


def _longest(text: str, goal: int, count: Counter, chars_per_token: float, limit: int, *,
             tail: bool) -> tuple[int, int]:
    """(length, tokens) of the longest head (or tail) of ``text``, at most ``limit``
    characters, that counts at most ``goal`` tokens; cut at a line boundary when near."""
    if goal <= 0 or limit <= 0:
        return 0, 0
    best, too_long = (0, 0), limit + 1
    guess = goal * chars_per_token
    for _ in range(_ROUNDS):
        length = _snap(text, min(max(int(guess), best[0] + 1), too_long - 1), best[0], tail)
        tokens = count(_part(text, length, tail))
        if tokens <= goal:
            best = (length, tokens)
            if tokens >= goal * (1 - _TOLERANCE) or length >= limit:
                return best
        else:
            too_long = length
        if best[0] + 1 >= too_long:
            return best
        guess = length * goal / max(tokens, 1)
    while best == (0, 0) and too_long > 1:  # a counter far from proportional: halve
        length = too_long // 2
        tokens = count(_part(text, length, tail))
        if tokens <= goal:
            best = (length, tokens)
        too_long = length
    return best


def _part(text: str, length: int, tail: bool) -> str:
    return text[len(text) - length:] if tail else text[:length]


def _snap(text: str, length: int, floor: int, tail: bool) -> int:
    """``length`` shortened to end (or, for a tail, start) at a line boundary within the last
    fifth of the part, else at a space nearby; never to ``floor`` or below."""
    if tail:
        start = len(text) - length
        if start == 0 or text[start - 1] == "\n":
            return length
        line = text.find("\n", start, start + length // _SNAP_SPAN)
        space = text.find(" ", start, start + _WORD_SPAN)
        cut = line if line >= 0 else space
        shorter = len(text) - cut - 1
    else:
        if length == len(text) or text[length - 1] == "\n":
            return length
        line = text.rfind("\n", length - length // _SNAP_SPAN, length)
        space = text.rfind(" ", max(length - _WORD_SPAN, 0), length)
        cut = line if line >= 0 else space
        shorter = cut + 1
    return shorter if cut >= 0 and shorter > floor else length
