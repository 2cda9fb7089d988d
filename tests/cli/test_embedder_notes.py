"""``cache.embedder = "auto"`` without the model installed: one note in ``llmx config show``
and ``llmx stats``; none when the model is there (in-process, the model's packages hidden
or shown by patching what ``llmx.cache.model`` finds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmx.cache import model as model_module
from tests.cli.harness import private_cli


@pytest.mark.parametrize("command", [["config", "show"], ["stats"]])
@pytest.mark.parametrize("installed", [True, False])
def test_auto_without_the_model_says_so_once(command: list[str], installed: bool,
                                             tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "missing_packages",
                        lambda: [] if installed else ["onnxruntime"])
    result = private_cli(tmp_path).run(*command)
    assert result.returncode == 0, result.err
    notes = [line for line in result.err.splitlines() if "semantic cache" in line]
    if installed:
        assert notes == []
    else:
        assert len(notes) == 1 and notes[0].startswith("note: ") and "llmx[model]" in notes[0]
        assert "semantic cache" not in result.out
