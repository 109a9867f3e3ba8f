"""Loading a non-commercial (Ogma-family) model says so once per model, and can be silenced."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ogma import TextEncoder, encoder
from ogma.errors import LicenseWarning
from ogma.registry import DEFAULT_MODEL, MODELS
from tests.helpers.tiny_models import make_tiny_bert_folder, make_tiny_ogma_folder


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder, "_notified", set())


def _load_recording(*args: object, **kwargs: object) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TextEncoder(*args, **kwargs)  # type: ignore[arg-type]
    return [w for w in caught if issubclass(w.category, LicenseWarning)]


def test_ogma_model_warns_once_per_model(tmp_path: Path) -> None:
    first = make_tiny_ogma_folder(tmp_path / "ogma-a")
    second = make_tiny_ogma_folder(tmp_path / "ogma-b")
    (notice,) = _load_recording(first)
    message = str(notice.message)
    assert str(first.resolve()) in message and "CC-BY-NC-4.0" in message and "non-commercial" in message
    assert DEFAULT_MODEL in message and "Apache-2.0" in message
    assert notice.filename == __file__  # points at the caller's line, not into Ogma
    assert _load_recording(first) == []  # once per process
    assert len(_load_recording(second)) == 1  # another model: its own notice


def test_notice_can_be_silenced(tmp_path: Path) -> None:
    folder = make_tiny_ogma_folder(tmp_path / "ogma")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=LicenseWarning)
        assert TextEncoder(folder).encode(["cat"]).shape == (1, 32)
    assert caught == []


def test_permissive_model_has_no_notice(tmp_path: Path) -> None:
    assert _load_recording(make_tiny_bert_folder(tmp_path / "bert")) == []


def test_registry_flags_the_ogma_family_only() -> None:
    flagged = {model_id for model_id, spec in MODELS.items() if spec.non_commercial}
    assert flagged == {f"axiotic/ogma-{n}" for n in ("micro", "mini", "small", "base", "large")}
    with pytest.warns(LicenseWarning, match="axiotic/ogma-mini is licensed CC-BY-NC-4.0"):
        assert encoder.license_notice(MODELS["axiotic/ogma-mini"]) is True
    assert encoder.license_notice(MODELS["axiotic/ogma-mini"]) is False


@pytest.mark.torch
def test_ogma_checkpoint_through_the_torch_backend_warns(ogma_checkpoint: Path) -> None:
    pytest.importorskip("torch")
    notices = _load_recording(ogma_checkpoint, backend="torch", trust_remote_code=True)
    assert len(notices) == 1 and "non-commercial" in str(notices[0].message)
