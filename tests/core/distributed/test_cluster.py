"""A 2-node Ray cluster (``ray.cluster_utils.Cluster``): actors spread, vectors equal ``encode`` by id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ogma.encoder import TextEncoder

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def test_two_node_cluster_spreads_actors_and_matches_encode(tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="ray[data] is not installed")
    out = tmp_path / "result.json"
    # Ray turns 127.0.0.1 in an address into the machine's own IP unless told that this is a
    # one-machine cluster; the nodes listen on 127.0.0.1 only, so the driver must too.
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    subprocess.run(
        [sys.executable, "-m", "tests.core.distributed.cluster_check", str(tiny_model_dir), str(out)],
        check=True,
        cwd=ROOT,
        env=env,
        timeout=900,
    )
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert len(result["nodes"]) == 2
    # Spread: each node hosts an encoder actor. (A restarted actor leaves a second marker, so count >= 2.)
    assert len(result["actor_nodes"]) >= 2, result["actor_nodes"]
    assert set(result["actor_nodes"]) == set(result["nodes"]), (result["actor_nodes"], result["nodes"])
    assert {r["node"] for r in rows} <= set(result["nodes"])
    assert len({r["id"] for r in rows}) == len(rows) == 200
    rows.sort(key=lambda r: int(r["id"].split("-")[1]))
    expected = TextEncoder(tiny_model_dir, threads=1).encode_documents([r["text"] for r in rows])
    np.testing.assert_allclose(np.array([r["embedding"] for r in rows]), expected, rtol=1e-6, atol=1e-6)
