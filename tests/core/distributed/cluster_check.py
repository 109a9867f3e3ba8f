"""Run as ``python -m tests.core.distributed.cluster_check MODEL OUT.json`` by test_cluster.py.

A driver can join one Ray at a time and the test run's own local Ray is already up, so
the 2-node cluster lives in this separate process. The network guard of the test run is
installed here too, and every Ray process binds to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import tests.conftest  # noqa: F401  (offline hub, network guard)


def main(model: str, out_path: str) -> None:
    import ray
    import ray.data
    from ray.cluster_utils import Cluster

    from ogma.distributed import EncodeOptions, EncoderActor

    markers = Path(out_path).with_suffix(".actors")
    markers.mkdir(exist_ok=True)

    class NodeTaggingActor(EncoderActor):
        """EncoderActor that records where it started and which node embedded each row."""

        def __init__(self, options: EncodeOptions) -> None:
            super().__init__(options)
            (markers / f"{self.node_id()}-{os.getpid()}").touch()

        def __call__(self, block: Any) -> Any:
            out = super().__call__(block)
            return out.append_column("node", __import__("pyarrow").array([self.node_id()] * out.num_rows))

    node = {"num_cpus": 1, "object_store_memory": 80 * 1024 * 1024, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "node_ip_address": "127.0.0.1"})
    cluster.add_node(**node, node_ip_address="127.0.0.1")
    cluster.wait_for_nodes()
    try:
        ray.init(address=cluster.address, log_to_driver=False, _node_ip_address="127.0.0.1")
        ray.data.DataContext.get_current().enable_progress_bars = False
        items = [{"id": f"row-{i}", "text": f"the cat {'sleeps ' * (i % 9)}in paris {i}"} for i in range(200)]
        ds = ray.data.from_items(items, override_num_blocks=8)
        out = ds.map_batches(
            NodeTaggingActor,
            fn_constructor_kwargs={"options": EncodeOptions(model=model, task="document")},
            concurrency=2,
            batch_size=10,
            batch_format="pyarrow",
            num_cpus=1,
            # Ray Data's default for actor pools; named so a changed default cannot pack both on one node.
            scheduling_strategy="SPREAD",
        )
        rows = out.take_all()
        nodes = sorted({n["NodeID"] for n in ray.nodes() if n["Alive"]})
        result = {
            "nodes": nodes,
            "actor_nodes": sorted(name.rsplit("-", 1)[0] for name in os.listdir(markers)),
            "rows": [
                {"id": r["id"], "text": r["text"], "node": r["node"], "embedding": list(map(float, r["embedding"]))}
                for r in rows
            ],
        }
        with open(out_path, "w", encoding="utf-8") as handle:
            json.dump(result, handle)
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
