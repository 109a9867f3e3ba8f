"""ogma.heap: free heap pages go back to the system where glibc allows it, and nothing happens elsewhere."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import numpy as np
import pytest

from ogma import heap


def _rss_anon_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/self/status")  # pragma: no cover


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim"
)
def test_freed_small_blocks_go_back_to_the_system() -> None:
    heap._malloc_trim.cache_clear()
    blocks = [np.ones(1000, dtype=np.float64) for _ in range(20_000)]  # 8 KB each: malloc'd in the heap
    keep = blocks[-1]  # the top of the heap stays in use, so free() alone cannot shrink it
    del blocks
    before = _rss_anon_kib()
    assert heap.release_free_heap() is True
    assert before - _rss_anon_kib() > 60 * 1024  # most of the 160 MB of freed blocks
    assert keep.sum() == 1000


def test_does_nothing_without_malloc_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    heap._malloc_trim.cache_clear()
    monkeypatch.setattr(heap.sys, "platform", "darwin")
    try:
        assert heap.release_free_heap() is False
    finally:
        heap._malloc_trim.cache_clear()
