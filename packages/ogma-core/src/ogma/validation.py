"""Input checks shared by the encoder, the store and the adapters.

Example:
    >>> check_texts(("a", "b"))
    ['a', 'b']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["check_texts"]


def check_texts(texts: Any) -> list[str]:
    """A list of strings, or ``TypeError`` naming the first bad index.

    Example:
        >>> check_texts(["x", None])
        Traceback (most recent call last):
        ...
        TypeError: texts[1] must be a str, got NoneType; convert or drop it first
    """
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    out = list(texts)
    if all(type(text) is str for text in out):
        return out
    for index, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}] must be a str, got {type(text).__name__}; convert or drop it first")
    return out
