"""Settings: small named strings a store keeps beside its configuration record.

Every backend offers :meth:`~ogma.store.protocol.StoreProtocol.read_setting` and
:meth:`~ogma.store.protocol.StoreProtocol.write_setting_once`. Adapters keep what they
must remember about a store there (the LangChain adapter's embedder fingerprint, see
:mod:`ogma.store.fingerprint`) without knowing how the backend stores it. The first
value written stands: a setting is never overwritten.

Keys that name fields of the configuration record itself (``model_id``, ``dim``, ...)
are refused for writing: those come from the store's own settings.

Example:
    >>> check_setting_key("embedder")
    'embedder'
    >>> check_setting_key("dim", writing=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: setting key 'dim' is a field of the store's configuration record ...
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_SETTING_KEY", "RESERVED_SETTING_KEYS", "check_setting_key"]

MAX_SETTING_KEY = 128
"""Longest setting key, in characters."""

RESERVED_SETTING_KEYS = frozenset(
    {
        "model_id",
        "dim",
        "full_dim",
        "task_scheme",
        "precision",
        "int8_ranges",
        "fts_tokenizer",
        "schema_version",
        "created_with",
        "exact_in_index",
        "generation",
    }
)
"""Configuration-record fields: readable as settings, never written through them."""


def check_setting_key(key: Any, *, writing: bool = False) -> str:
    """Check a setting key: a non-empty string of printable ASCII, not a reserved field when writing.

    Raises:
        TypeError: ``key`` is not a string.
        ValueError: Empty, too long, not printable ASCII, or reserved (when writing).
    """
    if not isinstance(key, str):
        raise TypeError(f"setting key must be a str, got {type(key).__name__}")
    if not key or len(key) > MAX_SETTING_KEY or not (key.isascii() and key.isprintable()):
        raise ValueError(
            f"setting key must be 1-{MAX_SETTING_KEY} printable ASCII characters, got {key!r}; "
            "use a short dotted name such as 'myapp.owner'"
        )
    if writing and key in RESERVED_SETTING_KEYS:
        raise ValueError(
            f"setting key {key!r} is a field of the store's configuration record and is set by the store "
            "itself; choose another key (e.g. 'myapp.{key}')"
        )
    return key
