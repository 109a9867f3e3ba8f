"""The text a model reads for a record: chosen metadata values joined with its content.

Framework documents carry a content string and a metadata mapping. Embedders and rerankers
often read a few metadata values (a title, a section heading) with the content, because they
help the model place the passage. :func:`record_text` builds that string once, for every
adapter: the values of ``fields`` present in ``metadata`` and not ``None``, in the order of
``fields``, then the content, joined by ``separator``, inside ``prefix`` and ``suffix``.

A record with no content and no chosen metadata value has nothing for a model to read:
:func:`record_text` returns ``None`` for it, and each caller says what it does then (an
embedder leaves the record without a vector, a reranker leaves it unscored).

Example:
    >>> record_text("Paris is the capital.", {"title": "France", "year": 2024}, fields=["title"])
    'France\\nParis is the capital.'
    >>> record_text(None, {"title": "France"}, fields=["title"], separator=" | ")
    'France'
    >>> record_text(None, {}, fields=["title"]) is None
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ogma.validation import check_str, check_strings

__all__ = ["RecordTextBuilder", "record_text"]


class RecordTextBuilder:
    """Checked settings for :func:`record_text`, applied to many records.

    Args:
        fields: Metadata keys whose values are read before the content, in this order.
        separator: Joins the metadata values and the content.
        prefix: Put before the joined text (e.g. an instruction some models expect).
        suffix: Put after the joined text.

    Raises:
        TypeError: ``fields`` is not a list of strings, or another option is not a string.

    Example:
        >>> build = RecordTextBuilder(fields=["title"], separator=": ")
        >>> build(content="Cats purr.", metadata={"title": "Cats"})
        'Cats: Cats purr.'
    """

    __slots__ = ("fields", "prefix", "separator", "suffix")

    def __init__(
        self,
        *,
        fields: Sequence[str] | None = None,
        separator: str = "\n",
        prefix: str = "",
        suffix: str = "",
    ) -> None:
        self.fields: tuple[str, ...] = tuple(check_strings([] if fields is None else fields, "meta_fields_to_embed"))
        self.separator = check_str(separator, "embedding_separator")
        self.prefix = check_str(prefix, "prefix")
        self.suffix = check_str(suffix, "suffix")

    def __call__(self, *, content: str | None, metadata: Mapping[str, Any] | None) -> str | None:
        """The text of one record, or ``None`` when it has no content and no chosen metadata value.

        Raises:
            TypeError: ``content`` is neither a string nor ``None``, or ``metadata`` is not a mapping.
        """
        if content is not None and not isinstance(content, str):
            raise TypeError(f"content must be a string or None, got {type(content).__name__}")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a mapping or None, got {type(metadata).__name__}")
        meta = metadata or {}
        parts = [str(meta[key]) for key in self.fields if meta.get(key) is not None]
        if content is not None:
            parts.append(content)
        elif not parts:
            return None
        return self.prefix + self.separator.join(parts) + self.suffix


def record_text(
    content: str | None,
    metadata: Mapping[str, Any] | None,
    *,
    fields: Sequence[str] | None = None,
    separator: str = "\n",
    prefix: str = "",
    suffix: str = "",
) -> str | None:
    """The text a model reads for one record (see the module docstring).

    Args:
        content: The record's own text, or ``None``.
        metadata: Its metadata (``None``: none).
        fields: Metadata keys read before the content, in this order; absent keys and
            ``None`` values are skipped, other values are turned into strings with ``str``.
        separator: Joins the metadata values and the content.
        prefix: Put before the joined text.
        suffix: Put after the joined text.

    Returns:
        The text, or ``None`` when there is no content and no chosen metadata value.

    Raises:
        TypeError: A bad argument type (the message names it).

    Example:
        >>> record_text("body", {"a": 1, "b": None}, fields=["b", "a"], prefix="> ")
        '> 1\\nbody'
    """
    return RecordTextBuilder(fields=fields, separator=separator, prefix=prefix, suffix=suffix)(
        content=content, metadata=metadata
    )
