"""Test-wide guards: the hub is offline and any attempt to open a network connection fails loudly."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile

from hypothesis import settings

os.environ["HF_HUB_OFFLINE"] = "1"
# One empty Hugging Face cache and Ogma cache for the whole run, set before anything imports
# huggingface_hub (which reads these once), so no test reads a developer's caches.
_CACHE_ROOT = tempfile.mkdtemp(prefix="ogma-tests-")
atexit.register(shutil.rmtree, _CACHE_ROOT, ignore_errors=True)
os.environ["HF_HOME"] = os.path.join(_CACHE_ROOT, "hf-home")
os.environ["HF_HUB_CACHE"] = os.path.join(_CACHE_ROOT, "hf-home", "hub")
os.environ["OGMA_HOME"] = os.path.join(_CACHE_ROOT, "ogma-home")
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"  # Haystack sends usage telemetry unless told not to
os.environ.setdefault("TQDM_DISABLE", "1")

# Property tests draw the same examples on every run, so the suite's result does not depend on the
# run; HYPOTHESIS_PROFILE=explore draws new ones (and more of them) to look for bugs.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

_real_connect = socket.socket.connect
_real_getaddrinfo = socket.getaddrinfo


def _is_local(host: object) -> bool:
    return isinstance(host, str) and (host in ("localhost", "::1", "") or host.startswith("127."))


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family == socket.AF_UNIX or (isinstance(address, tuple) and _is_local(address[0])):
        return _real_connect(self, address)  # type: ignore[arg-type]
    raise RuntimeError(f"Tests must not touch the network; a connection to {address!r} was attempted")


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if host is None or _is_local(host):
        return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]
    raise RuntimeError(f"Tests must not touch the network; a lookup of {host!r} was attempted")


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]


# fixtures for every folder: the run's one Milvus Lite file and Milvus server, and tiny models built once
from tests.helpers.backends import adapter_backend, backend_stores  # noqa: E402, F401
from tests.helpers.milvus_lite import milvus_lite_db  # noqa: E402, F401
from tests.helpers.milvus_server import milvus_server_uri  # noqa: E402, F401
from tests.helpers.model_fixtures import (  # noqa: E402, F401
    fresh_model_cache,
    tiny_ce,
    tiny_ce_dir,
    tiny_model_dir,
    tiny_ogma_dir,
)
from tests.helpers.real_models import (  # noqa: E402, F401
    real_bge_dir,
    real_e5_dir,
    real_reranker_dir,
    real_splade_dir,
)

if os.environ.get("OGMA_REQUIRE_TORCH_TESTS") == "1":
    # `dev.py test --with-torch` promises the torch tests run; a missing torch must fail, not skip.
    import torch  # noqa: F401
