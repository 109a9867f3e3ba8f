"""One bounded, thread-safe cache of loaded models, shared by every adapter.

Two adapter objects (e.g. LangChain `OgmaEmbeddings`) with the same settings share one
:class:`ogma.TextEncoder` (and two rerankers one :class:`ogma.Reranker`): a model is
loaded once, on first use, and at most :data:`MAX_MODELS` stay cached (least recently
used first out). An evicted model stays alive as long as something still holds it.

Example:
    >>> clear_model_cache()
    >>> cached_model_count()
    0
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["MAX_MODELS", "cached_model_count", "clear_model_cache", "shared_model"]

logger = logging.getLogger(__name__)

MAX_MODELS = 4
"""How many loaded models the cache keeps."""

T = TypeVar("T")

_lock = threading.Lock()
_models: OrderedDict[Hashable, Any] = OrderedDict()


def shared_model(factory: Callable[..., T], *, key: tuple[Hashable, ...] | None = None, **options: Any) -> T:
    """Return the cached ``factory(**options)`` for ``key``, building it once.

    Loading happens under the cache lock, so concurrent first calls load a model once.

    Args:
        factory: The class or function that loads the model (part of the cache key).
        key: Hashable settings that identify the model (the rest of the cache key); by
            default the sorted ``options`` themselves, which must then be hashable.
        **options: Passed to ``factory`` when the model is not cached yet.

    Returns:
        The shared model.

    Example:
        >>> first = shared_model(dict, x=1)
        >>> first is shared_model(dict, x=1)
        True
        >>> clear_model_cache()
    """
    if key is None:
        key = tuple(sorted(options.items()))
    full_key = (f"{getattr(factory, '__module__', '')}.{getattr(factory, '__qualname__', repr(factory))}", *key)
    with _lock:
        if full_key in _models:
            _models.move_to_end(full_key)
            return _models[full_key]
        logger.debug("Loading %s into the shared model cache", full_key)
        model = factory(**options)
        _models[full_key] = model
        while len(_models) > MAX_MODELS:
            evicted, _ = _models.popitem(last=False)
            logger.debug("Evicted %s from the shared model cache", evicted)
        return model


def clear_model_cache() -> None:
    """Forget every cached model (models still referenced elsewhere stay alive)."""
    with _lock:
        _models.clear()


def cached_model_count() -> int:
    """How many models the cache holds."""
    with _lock:
        return len(_models)
