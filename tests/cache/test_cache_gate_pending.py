"""Rows this process queued but the gate has not indexed yet: only those that can reach the
gate are scored (a row's cover of the query bounds its cosine: ``cos <= sqrt(cover)``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmx.cache import gate as gate_module
from llmx.cache.gate import LexicalGate
from tests.cache.test_cache_gate import Log, make_gate


def _scored(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = gate_module.packed_dot

    def counting(query: list[float], blob: bytes) -> float:
        calls.append(1)
        return real(query, blob)

    monkeypatch.setattr(gate_module, "packed_dot", counting)
    return calls


def _queue(gate: LexicalGate, texts: list[str]) -> None:
    for i, text in enumerate(texts):
        gate.queued(f"q{i}", "s", text)


def test_queued_rows_that_cannot_reach_the_gate_are_not_scored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = make_gate(tmp_path, Log(), {})
    query = "how can I quickly reset the admin password of my home wifi router"
    # each shares one of the query's eight content words: too small a part of it to reach 0.5
    _queue(gate, [f"quickly {word} quarterly ledger {i}" for i, word in
                  enumerate(["banana", "harbour", "violin", "glacier", "pepper"] * 8)])
    gate.queued("near", "s", "how do I quickly reset the admin password of my wifi router")
    scored = _scored(monkeypatch)
    found = gate.candidates("s", query, gate=0.5)
    assert [c.key for c in found] == ["near"]
    assert len(scored) == 1  # the 40 rows sharing one word were never scored


def test_every_queued_row_that_can_reach_the_gate_is_scored(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, Log(), {})
    _queue(gate, [f"reset the router password on floor {i}" for i in range(60)])
    gate.queued("best", "s", "reset my router password")
    found = gate.candidates("s", "reset my router password", limit=5, gate=0.5)
    assert found[0].key == "best" and found[0].lexical == pytest.approx(1.0)


def test_the_gates_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0)
    try:
        gate = make_gate(tmp_path, Log(), {})
        gate.queued("q1", "s", "reset my router password")
        gate.warm()
        gate.candidates("s", "reset the router password")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob("gate.db*")}
        gate.close()
    finally:
        os.umask(old)
    assert "gate.db" in modes and modes == dict.fromkeys(modes, 0o600), modes


def test_a_query_with_no_possible_match_computes_no_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmx.cache.gate_features import LexicalRows

    gate = make_gate(tmp_path, Log(), {})
    gate.queued("q1", "s", "reset my router password")
    made: list[str] = []
    real = LexicalRows.row

    def counting(self: LexicalRows, text: str, tokens: list[str] | None = None
                 ) -> dict[int, float]:
        made.append(text)
        return real(self, text, tokens)

    monkeypatch.setattr(LexicalRows, "row", counting)
    assert gate.candidates("s", "penguins of antarctica in winter") == []
    assert made == []  # no entry could reach the gate: the row waits for the answer's store
    assert [c.key for c in gate.candidates("s", "reset the router password")] == ["q1"]
    assert made == ["reset the router password"]


def test_the_words_kept_between_look_up_and_store_are_bounded(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, Log(), {})
    long = "word " * 150_000  # 750,000 characters
    gate.candidates("s", long + "one")
    gate.candidates("s", long + "two")  # the two would pass the bound: the first is let go
    assert list(gate._words) == [long + "two"]
    assert gate._kept_chars == len(long) + 3
