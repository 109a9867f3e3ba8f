"""Giving freed heap memory back to the operating system after a large, short-lived allocation.

glibc's ``malloc`` keeps memory that was freed inside its heaps (many small blocks: SQLite's
page cache, one ``bytes`` per row, numpy temporaries below the mmap threshold) and returns it
to the system only from the very top of a heap. After a bulk write or a full scan of the
vectors, tens of MB can stay resident this way, counted in the process's RSS although
nothing uses them; the next large allocation (the in-process index) is then added on top.
``malloc_trim(0)`` gives every whole free page back. Elsewhere (macOS, Windows, musl) this
does nothing.

A leaf module (it imports nothing from Ogma). The store calls :func:`release_free_heap`
after events that free a lot at once and are rare: closing a store, loading the in-process
index, building the approximate index; each passes how much it handled, and below
:data:`TRIM_ABOVE` nothing is done (trimming walks the whole heap: tens of ms in a process
with a large, fragmented one, which a small store's close should not pay).

Example:
    >>> release_free_heap(1024)  # too little to be worth it
    False
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import sys
from collections.abc import Callable

__all__ = ["TRIM_ABOVE", "release_free_heap"]

logger = logging.getLogger(__name__)

TRIM_ABOVE = 32 * 2**20
"""Bytes (of vectors written or read, of the file closed) below which :func:`release_free_heap` does nothing."""


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim  # glibc only: musl and others have no such symbol
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_heap(handled: int | None = None) -> bool:
    """Return the heap's free pages to the operating system (glibc); ``True`` if it asked.

    Args:
        handled: How many bytes the operation that just ended read, wrote or held (``None``:
            trim regardless). Below :data:`TRIM_ABOVE` nothing is done.

    Costs a few milliseconds per hundred MB of heap, more when the heap is fragmented; call it
    after a large allocation was freed, not per request.
    """
    if handled is not None and handled < TRIM_ABOVE:
        return False
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    logger.debug("returned free heap pages to the system (malloc_trim)")
    return True
