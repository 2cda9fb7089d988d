from __future__ import annotations

import random
from pathlib import Path

import pytest

from llmx.bench import workload
from llmx.bench.measure import percentile
from llmx.bench.workload import (
    NEW,
    PARAPHRASE,
    REPEAT,
    cache_mix,
    complex_prompts,
    paraphrase_pairs,
)
from llmx.errors import LlmxError


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
    similar = dict(paraphrase_pairs())
    paraphrased = [item.original for item in items if item.label == PARAPHRASE]
    assert len(set(paraphrased)) == len(paraphrased)  # each origin paraphrased once at most
    for item in items:
        if item.label == NEW:
            assert item.prompt in similar  # a GPTCache origin
        if item.label == PARAPHRASE:
            assert item.original is not None
            assert item.prompt == similar[item.original] != item.original
        if item.label == REPEAT:
            assert item.prompt == item.original


def test_paraphrase_pairs_are_the_shipped_file() -> None:
    pairs = paraphrase_pairs()
    assert len(pairs) == 964  # 999 pairs, one per distinct origin
    assert all(origin and similar and origin != similar for origin, similar in pairs)


def test_an_altered_pairs_file_is_refused(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    altered = tmp_path / "pairs.json"
    altered.write_bytes(workload.PAIRS_FILE.read_bytes().replace(b"Hugging", b"Hogging", 1))
    monkeypatch.setattr(workload, "PAIRS_FILE", altered)
    with pytest.raises(LlmxError, match="expected sha256"):
        paraphrase_pairs()


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
