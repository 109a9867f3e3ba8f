"""The one local Ray of the test run (session scope), and a tiny model every worker can load."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

RAY_OPTIONS: dict[str, Any] = {
    "address": "local",  # a new Ray of our own, never one another process left running
    "num_cpus": 2,
    "object_store_memory": 200 * 1024 * 1024,
    "include_dashboard": False,
    "log_to_driver": False,
    # Loopback only: Ray's processes talk over 127.0.0.1, never the machine's own address.
    "_node_ip_address": "127.0.0.1",
}


@pytest.fixture(scope="session")
def ray_local() -> Iterator[Any]:
    """A local Ray (2 CPUs, 200 MB object store, no dashboard) shared by the whole run."""
    ray = pytest.importorskip("ray", reason="ray[data] is not installed (pip install 'ogma-core[ray]')")
    data = pytest.importorskip("ray.data")

    ray.init(**RAY_OPTIONS)
    context = data.DataContext.get_current()
    context.enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()
