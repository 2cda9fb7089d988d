"""``llmx batch --mode auto``: one request per line, or the provider's Batch API.

``choose`` is pure: it gets the run's facts (the provider, ``--deadline``, the estimated
tokens, the profile's price, the least saving worth the wait) and returns a ``Choice`` that
says what it picked, why, and the estimated cost of both ways. The rules, in order:

* ``--mode direct`` / ``--mode provider`` (alias ``--provider-batch``) are obeyed (a
  provider without a Batch API refuses ``provider`` with a usage error);
* ``auto`` picks the Batch API only when all hold: the provider has one; a ``--deadline``
  at least as long as the provider's batch window (a batch may take all of it); the
  profile has a ``[price]``; the estimated saving is at least ``batch.auto_min_saving``.
  Otherwise direct calls, and the reason names the first rule that failed.

Estimates: input tokens from the prepared requests' counts; output tokens from each line's
``max_tokens`` (else the profile's, else ``ASSUMED_OUTPUT`` a line, said in the reason).
Lines the cache would answer are not subtracted: both estimates are upper bounds.
"""

from __future__ import annotations

from typing import NamedTuple

from llmx.batch.provider import batch_discount, batch_window_s
from llmx.config.schema import format_duration
from llmx.errors import UsageError

ASSUMED_OUTPUT = 256  # answer tokens a line when neither the line nor the profile caps them


class Estimate(NamedTuple):
    """The run's size: lines, prompt tokens, answer tokens (and whether those were assumed)."""

    lines: int
    input_tokens: int
    output_tokens: int
    output_assumed: bool = False


class Choice(NamedTuple):
    mode: str  # "direct" | "provider"
    reason: str
    direct_cost: float | None = None  # estimated, in the price's currency; None: no price
    provider_cost: float | None = None

    def line(self, asked: str) -> str:
        """What ``llmx batch`` says on stderr before it starts."""
        costs = ""
        if self.direct_cost is not None:
            costs = f"; estimated cost: direct {self.direct_cost:.4f}"
            if self.provider_cost is not None:
                costs += f", Batch API {self.provider_cost:.4f}"
        how = "one request per line" if self.mode == "direct" else "the provider's Batch API"
        chosen = f"--mode {asked} chose {how}" if asked == "auto" else f"{how} (--mode {asked})"
        return f"batch: {chosen}: {self.reason}{costs}"

    def as_dict(self) -> dict[str, object]:
        return {"chosen": self.mode, "reason": self.reason,
                "estimated_cost": {"direct": self.direct_cost, "provider": self.provider_cost}}


def choose(asked: str, provider: str, *, deadline_s: float | None, estimate: Estimate | None,
           price: tuple[float, float] | None, min_saving: float) -> Choice:
    """See the module docstring. ``price``: (input, output) per one million tokens."""
    discount, window = batch_discount(provider), batch_window_s(provider)
    costs = _costs(estimate, price, discount)
    if asked == "provider":
        if window is None:
            raise UsageError(f"{provider} has no Batch API: use --mode direct or auto")
        return Choice("provider", "as asked", *costs)
    if asked == "direct":
        return Choice("direct", "as asked", *costs)
    if window is None:
        return Choice("direct", f"{provider} has no Batch API", *costs)
    if deadline_s is None:
        return Choice("direct", "no --deadline: the run waits for its answers", *costs)
    if deadline_s < window:
        return Choice("direct", f"--deadline {_span(deadline_s)} is shorter than the Batch "
                      f"API's {_span(window)} window", *costs)
    if costs[0] is None or costs[1] is None:
        return Choice("direct", "no [price] in the profile, so no saving can be estimated "
                      "(set one, or use --mode provider)", *costs)
    saving = costs[0] - costs[1]
    assumed = (f" (answers assumed at {ASSUMED_OUTPUT} tokens a line)"
               if estimate is not None and estimate.output_assumed else "")
    if saving < min_saving:
        return Choice("direct", f"the estimated saving {saving:.4f} is below "
                      f"batch.auto_min_saving {min_saving:.4f}{assumed}", *costs)
    return Choice("provider", f"--deadline {_span(deadline_s)} allows the Batch API's "
                  f"{_span(window)} window and it saves an estimated {saving:.4f} "
                  f"({discount:.0%}){assumed}", *costs)


def _costs(estimate: Estimate | None, price: tuple[float, float] | None,
           discount: float) -> tuple[float | None, float | None]:
    if estimate is None or price is None:
        return None, None
    direct = (estimate.input_tokens * price[0] + estimate.output_tokens * price[1]) / 1e6
    return direct, (direct * (1.0 - discount) if discount else None)


def _span(seconds: float) -> str:
    """``86400`` -> ``24h``: hours read best at the scale of batch windows."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    shown = format_duration(seconds)
    return shown if isinstance(shown, str) else f"{seconds:g}s"
