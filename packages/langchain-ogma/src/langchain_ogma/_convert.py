"""Type conversions between LangChain and Ogma: filters, hits, ids and extra arguments.

Filter semantics (missing keys, ``None``, types, lists) belong to the core's filter
language (``ogma.store.filters``, ``docs/filters.md``); this module only maps the
spellings LangChain stores use that the core spells differently, and rejects forms it
cannot express.

Example:
    >>> to_ogma_filter({"year": {"$between": [2020, 2024]}})
    {'year': {'$gte': 2020, '$lte': 2024}}
    >>> to_ogma_filter({"year": {"$gte": 2022, "$between": [2020, 2024]}})
    {'$and': [{'year': {'$gte': 2022}}, {'year': {'$gte': 2020, '$lte': 2024}}]}
    >>> to_ogma_filter({}) is None
    True
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.documents import Document

from ogma.errors import FilterError
from ogma.store.document import Document as StoredDocument
from ogma.store.filters import check_nesting, validate_filter
from ogma.types import Hit
from ogma.validation import check_id_list  # the one id-list check, shared by every adapter

__all__ = [
    "check_documents",
    "check_id_list",
    "content_hash_id",
    "hit_to_document",
    "no_extra_kwargs",
    "to_ogma_filter",
    "with_generated_ids",
]


def to_ogma_filter(filter: Any) -> dict[str, Any] | None:
    """Map a LangChain-style dict filter onto Ogma's filter language and validate it.

    Only spellings other LangChain stores use that Ogma spells differently are
    rewritten (see ``docs/filters.md``): ``$between: [low, high]`` (PGVector) becomes
    ``$gte``/``$lte``, ``$not_contains`` (Chroma) becomes ``$not`` + ``$contains``, and
    ``$nor`` becomes ``$not`` + ``$or``. Each mapped operator becomes a condition of its
    own, ANDed with everything else in its dict: it never replaces an operator written
    beside it. Everything else is passed on as it is; empty filters mean no filter.

    Args:
        filter: A dict filter, or ``None``.

    Returns:
        The Ogma filter, or ``None`` for no filter.

    Raises:
        TypeError: ``filter`` is not a dict (e.g. a callable, as InMemoryVectorStore takes).
        FilterError: The filter is malformed (the message names the offending part), nests
            deeper than ``ogma.store.filters.MAX_FILTER_DEPTH`` or contains itself.

    Example:
        >>> to_ogma_filter({"$nor": [{"a": 1}], "tags": {"$not_contains": "x"}})
        {'$and': [{'$not': {'$or': [{'a': 1}]}}, {'$not': {'tags': {'$contains': 'x'}}}]}
    """
    if filter is None:
        return None
    if not isinstance(filter, Mapping):
        raise TypeError(
            f"filter must be a dict such as {{'topic': 'geo'}} or {{'year': {{'$gte': 2020}}}}, got "
            f"{type(filter).__name__}; callables are not supported because Ogma filters inside the database"
        )
    if not filter:
        return None
    check_nesting(filter, _operands)  # before the recursive mapping below (deep or cyclic filters)
    out = _map_filter(filter)
    validate_filter(out)
    return out


def _operands(node: object) -> list[object]:
    """The nested filters of one filter dict (``$and``/``$or``/``$nor`` items, the ``$not`` operand)."""
    if not isinstance(node, Mapping):
        return []
    out: list[object] = []
    for key, value in node.items():
        if key in ("$and", "$or", "$nor") and isinstance(value, list):
            out.extend(value)
        elif key == "$not":
            out.append(value)
    return out


def _map_filter(filter: Mapping[str, Any]) -> dict[str, Any]:
    """Map one filter dict; every entry becomes one or more conditions, all ANDed.

    A mapped operator (``$between``, ``$not_contains``, ``$nor``) always becomes a
    condition of its own beside the others, so it can never replace an operator given
    next to it: ``{"year": {"$gte": 2004, "$between": [2000, 2009]}}`` keeps both.
    """
    kept: dict[str, Any] = {}  # entries Ogma spells the same way, in their input order
    extra: list[dict[str, Any]] = []  # conditions of mapped operators, ANDed with ``kept``
    for key, value in filter.items():
        if key == "$nor":
            extra.append({"$not": {"$or": _map_list(value)}})
        elif key in ("$and", "$or"):
            kept[key] = _map_list(value)
        elif key == "$not":
            kept[key] = _map_filter(value) if isinstance(value, Mapping) else value
        elif isinstance(value, Mapping):
            same, mapped = _map_field(key, value)
            if same is not None:
                kept[key] = same
            extra.extend(mapped)
        else:
            kept[key] = value
    parts = ([kept] if kept else []) + extra
    if len(parts) == 1:
        return parts[0]
    return {"$and": parts}


def _map_field(key: str, operators: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Split one field's operator dict into the operators kept as they are and one condition per mapped one."""
    same: dict[str, Any] = {}
    mapped: list[dict[str, Any]] = []
    for op, operand in operators.items():
        if op == "$between":
            if not isinstance(operand, Sequence) or isinstance(operand, (str, bytes)) or len(operand) != 2:
                raise FilterError(f"$between at {key} takes a [low, high] pair, got {operand!r}")
            mapped.append({key: {"$gte": operand[0], "$lte": operand[1]}})
        elif op == "$not_contains":
            mapped.append({"$not": {key: {"$contains": operand}}})
        else:
            same[op] = operand
    # An empty operator dict is passed on so that the core reports it.
    return (same if same or not operators else None), mapped


def _map_list(value: Any) -> Any:
    if isinstance(value, list):
        return [_map_filter(item) if isinstance(item, Mapping) else item for item in value]
    return value  # the core reports the malformed operand


def hit_to_document(hit: Hit | StoredDocument, *, extra_metadata: Mapping[str, Any] | None = None) -> Document:
    """A LangChain ``Document`` from an Ogma hit (or stored document), metadata copied.

    Example:
        >>> hit_to_document(Hit(id="a", text="t", metadata={"x": 1}, score=0.5)).id
        'a'
    """
    metadata = dict(hit.metadata)
    if extra_metadata:
        metadata.update(extra_metadata)
    return Document(id=hit.id, page_content=hit.text or "", metadata=metadata)


def check_documents(documents: Any) -> list[Document]:
    """A list of LangChain ``Document`` objects, or ``TypeError`` naming the first bad entry.

    Example:
        >>> check_documents(Document(page_content="x"))
        Traceback (most recent call last):
        ...
        TypeError: documents must be a list of Document, got a single Document; pass [document]
    """
    if isinstance(documents, Document):
        raise TypeError("documents must be a list of Document, got a single Document; pass [document]")
    if isinstance(documents, (str, bytes, Mapping)) or not isinstance(documents, Iterable):
        raise TypeError(f"documents must be a list of Document, got {type(documents).__name__}")
    out = list(documents)
    for index, doc in enumerate(out):
        if not isinstance(doc, Document):
            raise TypeError(f"documents[{index}] must be a langchain_core Document, got {type(doc).__name__}")
    return out


def content_hash_id(text: str, metadata: Mapping[str, Any] | None) -> str:
    """A stable id: SHA-256 (hex) of the text and the metadata as canonical JSON.

    The same text with the same metadata always gets the same id, on any machine;
    metadata key order does not matter.

    Example:
        >>> content_hash_id("a", {"x": 1, "y": 2}) == content_hash_id("a", {"y": 2, "x": 1})
        True
        >>> content_hash_id("a", None) == content_hash_id("a", {}), len(content_hash_id("a", None))
        (True, 64)
    """
    payload = json.dumps(
        {"text": text, "metadata": dict(metadata or {})},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def with_generated_ids(ids: Sequence[str | None], count: int) -> list[str]:
    """Fill ``None`` ids with fresh ones (LangChain documents may carry ids or not).

    Raises:
        ValueError: ``ids`` does not have ``count`` entries.

    Example:
        >>> len(with_generated_ids(["a", None], 2)[1])
        32
    """
    if len(ids) != count:
        raise ValueError(f"got {len(ids)} ids for {count} texts; pass one id per text (or none)")
    return [uuid.uuid4().hex if doc_id is None else doc_id for doc_id in ids]


def no_extra_kwargs(method: str, kwargs: Mapping[str, Any]) -> None:
    """Raise ``TypeError`` for keyword arguments a method does not take (none are ignored silently)."""
    if kwargs:
        raise TypeError(f"{method}() got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
