"""Input checks shared by the encoder, the store and the adapters.

Example:
    >>> check_texts(("a", "b"))
    ['a', 'b']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["check_texts", "check_unicode", "check_unicode_texts"]

_SURROGATE = re.compile("[\ud800-\udfff]")


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


def check_unicode(text: str, name: str) -> str:
    """``text`` itself, or ``ValueError`` when it holds a lone surrogate (not encodable as UTF-8).

    Args:
        text: The string to check.
        name: How the caller names it in the message (e.g. ``"texts[3]"``).

    Example:
        >>> check_unicode("caf\\u00e9", "query")
        'café'
        >>> check_unicode("a\\ud800", "texts[2]")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: texts[2] is not valid Unicode: it holds a lone surrogate ('\\ud800' at character 1), ...
    """
    if text.isascii():
        return text
    found = _SURROGATE.search(text)
    if found is not None:
        raise ValueError(
            f"{name} is not valid Unicode: it holds a lone surrogate ({found.group()!r} at character "
            f"{found.start()}), which cannot be encoded as UTF-8; decode the source with errors='replace' "
            "or drop the character"
        )
    return text


def check_unicode_texts(texts: list[str], name: str = "texts") -> list[str]:
    """``texts`` itself, or ``ValueError`` naming the first one that is not valid Unicode.

    Example:
        >>> check_unicode_texts(["ok", "bad\\udc80"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: texts[1] is not valid Unicode: ...
    """
    for index, text in enumerate(texts):
        check_unicode(text, f"{name}[{index}]")
    return texts
