from __future__ import annotations

import random

from llmx.bench.measure import percentile
from llmx.bench.workload import NEW, PARAPHRASE, REPEAT, cache_mix, complex_prompts


def test_cache_mix_proportions_and_order() -> None:
    waves = cache_mix(40, random.Random(3))
    items = [item for wave in waves for item in wave]
    labels = [item.label for item in items]
    assert (labels.count(REPEAT), labels.count(PARAPHRASE), labels.count(NEW)) == (12, 8, 20)
    seen: set[str] = set()
    for wave in waves:
        for item in wave:
            if item.label != NEW:
                assert item.original in seen  # derived only from an earlier wave
        seen.update(item.prompt for item in wave if item.label == NEW)
    news = [item.prompt for item in items if item.label == NEW]
    assert len(set(news)) == len(news)
    for item in items:
        if item.label == PARAPHRASE:
            assert item.prompt != item.original
        if item.label == REPEAT:
            assert item.prompt == item.original


def test_complex_prompts_carry_a_log() -> None:
    prompts = complex_prompts(2, 50, random.Random(1))
    assert len(prompts) == 2 and prompts[0] != prompts[1]
    assert all(p.count("\n") >= 50 for p in prompts)


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
