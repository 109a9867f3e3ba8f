"""The shared model cache: one load per settings, bounded, thread-safe."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ogma import model_cache


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    model_cache.clear_model_cache()
    yield
    model_cache.clear_model_cache()


def test_same_key_loads_once_and_is_shared() -> None:
    calls: list[int] = []

    def load(x: int) -> dict[str, int]:
        calls.append(x)
        return {"x": x}

    a = model_cache.shared_model(load, key=("k", 1), x=1)
    assert model_cache.shared_model(load, key=("k", 1), x=1) is a
    assert model_cache.shared_model(load, key=("k", 2), x=2) is not a
    assert calls == [1, 2]


def test_cache_is_bounded_lru() -> None:
    for i in range(model_cache.MAX_MODELS + 3):
        model_cache.shared_model(dict, key=(i,), i=i)
    assert model_cache.cached_model_count() == model_cache.MAX_MODELS


def test_concurrent_first_calls_load_once() -> None:
    calls: list[int] = []

    def slow() -> object:
        calls.append(1)
        time.sleep(0.05)
        return object()

    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(model_cache.shared_model(slow, key=("s",)))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(r) for r in results}) == 1
