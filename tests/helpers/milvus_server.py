"""A real Milvus server for tests: the Milvus 2.3.5 standalone server inside the ``milvus`` wheel.

``milvus==2.3.5`` (PyPI) ships the server binary with its embedded etcd and local storage;
started offline, on loopback ports, with its data in a temporary folder, it serves the
same pymilvus client as any Milvus server. One server runs per test session (it takes
about 10 to 25 s to start). It tests what Milvus Lite cannot: server-side paging, server
index types (HNSW, BIN_IVF_FLAT), and a server without BM25 (Milvus 2.3).

Tests are skipped, with the reason, when the wheel is missing or its binary cannot run on
this platform; with ``OGMA_REQUIRE_MILVUS_SERVER=1`` (``dev.py test`` sets it) they fail instead.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import socket
import sys
from collections.abc import Iterator

import pytest

__all__ = ["REQUIRE_ENV", "milvus_server_uri", "server_unavailable"]

REQUIRE_ENV = "OGMA_REQUIRE_MILVUS_SERVER"


def server_unavailable() -> str | None:
    """Why the embedded Milvus server cannot run here, or ``None`` when it can."""
    if importlib.util.find_spec("milvus") is None:
        return "the Milvus server wheel is not installed (pip install milvus==2.3.5)"
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return f"the milvus 2.3.5 wheel's server runs on Linux x86_64 only, not {sys.platform} {platform.machine()}"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but the Milvus server cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def milvus_server_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of the session's Milvus 2.3.5 server (started on first use, stopped at the end)."""
    reason = server_unavailable()
    if reason is not None:
        _unavailable(reason)
    from milvus import MilvusServer

    server = MilvusServer()
    server.set_base_dir(str(tmp_path_factory.mktemp("milvus-server")))
    server.listen_port = _free_port()
    try:
        server.start()
    except Exception as exc:  # the binary does not run here (missing libraries, seccomp, ...)
        server.stop()
        _unavailable(f"the Milvus 2.3.5 server did not start: {exc}")
    try:
        yield f"http://127.0.0.1:{server.listen_port}"
    finally:
        server.stop()
