"""The gate scores only the entries whose cover of the query could reach the gate."""

from __future__ import annotations

from array import array
from pathlib import Path

import pytest

from llmx.cache import gate as gate_module
from llmx.cache.gate_query import best as _best
from tests.cache.test_cache_gate import Log, fill, make_gate


def test_best_leaves_out_the_entries_under_the_floor() -> None:
    ids = {1: 0.1, 2: 0.3, 3: 0.05}
    lists = [(1, array("q", [10, 11, 12])), (2, array("q", [11, 20])),
             (3, array("q", [12, 30]))]
    # covers: 10 -> 0.1, 11 -> 0.4, 12 -> 0.15, 20 -> 0.3, 30 -> 0.05
    assert _best(lists, ids, 5) == [11, 20, 12, 10, 30]
    assert _best(lists, ids, 5, floor=0.15) == [11, 20, 12]
    assert _best(lists, ids, 5, floor=0.5) == []


def test_entries_sharing_one_minor_word_are_not_scored(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    log, prompts = Log(), {}  # type: ignore[var-annotated]
    filler = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima"
    fill(log, prompts, "s", [f"{word} zebra{i} yak{i} walrus{i}"
                             for i in range(60) for word in filler.split()[i % 3 : i % 3 + 1]])
    fill(log, prompts, "s", [filler])
    gate = make_gate(tmp_path, log, prompts)
    scored: list[bytes] = []
    real = gate_module.packed_dot

    def counting(query: list[float], blob: bytes) -> float:
        scored.append(blob)
        return real(query, blob)

    monkeypatch.setattr(gate_module, "packed_dot", counting)
    found = gate.candidates("s", filler, limit=5, gate=0.5)
    assert [prompts[c.key] for c in found] == [filler]
    # the 60 entries share one word of twelve with the query (cover ~1/12 < 0.7 * 0.25):
    # none is read from the file or scored; the old gate scored its best 40 of them
    assert len(scored) == 1
    gate.close()
