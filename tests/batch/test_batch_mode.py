"""``llmx batch --mode auto|direct|provider`` and ``--deadline``: the choice, pure, each rule
(the runs it makes: ``tests/integration/test_batch_mode_cli.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from llmx.batch.choose import Estimate, choose
from llmx.errors import UsageError

DAY = 24 * 3600.0
BIG = Estimate(lines=10_000, input_tokens=5_000_000, output_tokens=2_000_000)
PRICE = (2.5, 10.0)


def pick(provider: str = "openai", deadline: float | None = 2 * DAY,
         estimate: Estimate | None = BIG, price: tuple[float, float] | None = PRICE,
         asked: str = "auto", min_saving: float = 0.01) -> tuple[str, str]:
    choice = choose(asked, provider, deadline_s=deadline, estimate=estimate, price=price,
                    min_saving=min_saving)
    return choice.mode, choice.reason


def test_auto_takes_the_batch_api_when_the_deadline_allows_it_and_it_saves() -> None:
    mode, reason = pick()
    assert mode == "provider" and "saves an estimated 16.2500 (50%)" in reason
    assert pick(provider="anthropic")[0] == "provider"
    assert pick(deadline=DAY)[0] == "provider"  # exactly the window is enough


@pytest.mark.parametrize(("case", "kwargs", "because"), [
    ("no deadline", {"deadline": None}, "no --deadline"),
    ("short deadline", {"deadline": 2 * 3600.0}, "--deadline 2h is shorter than the Batch "
                                                 "API's 24h window"),
    ("no batch API", {"provider": "ollama"}, "ollama has no Batch API"),
    ("no price", {"price": None}, "no [price] in the profile"),
    ("small saving", {"estimate": Estimate(3, 30, 300)}, "is below batch.auto_min_saving"),
    ("higher bar", {"min_saving": 100.0}, "is below batch.auto_min_saving 100.0000"),
])
def test_auto_stays_direct_and_says_why(case: str, kwargs: dict[str, Any], because: str) -> None:
    mode, reason = pick(**kwargs)
    assert mode == "direct" and because in reason, reason


def test_an_explicit_mode_is_obeyed_and_costs_are_estimated_both_ways() -> None:
    direct = choose("direct", "openai", deadline_s=None, estimate=BIG, price=PRICE,
                    min_saving=0.0)
    assert direct.mode == "direct" and direct.direct_cost == 32.5
    assert direct.provider_cost == 16.25
    assert pick(asked="provider", deadline=None)[0] == "provider"
    with pytest.raises(UsageError, match="ollama has no Batch API"):
        pick(asked="provider", provider="ollama")
