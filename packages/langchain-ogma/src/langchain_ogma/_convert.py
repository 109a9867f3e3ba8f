"""Type conversions between LangChain and Ogma: filters, hits, ids and extra arguments.

Filter semantics (missing keys, ``None``, types, lists) belong to the core's filter
language (``ogma.store.filters``, ``docs/filters.md``); this module only maps the
spellings LangChain stores use that the core spells differently, and rejects forms it
cannot express.

Example:
    >>> to_ogma_filter({"year": {"$between": [2020, 2024]}})
    {'year': {'$gte': 2020, '$lte': 2024}}
    >>> to_ogma_filter({}) is None
    True
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.documents import Document

from ogma.errors import FilterError
from ogma.store.document import Document as StoredDocument
from ogma.store.filters import validate_filter
from ogma.types import Hit

__all__ = ["hit_to_document", "no_extra_kwargs", "to_ogma_filter", "with_generated_ids"]


def to_ogma_filter(filter: Any) -> dict[str, Any] | None:
    """Map a LangChain-style dict filter onto Ogma's filter language and validate it.

    Only spellings other LangChain stores use that Ogma spells differently are
    rewritten (see ``docs/filters.md``): ``$between: [low, high]`` (PGVector) becomes
    ``$gte``/``$lte``, ``$not_contains`` (Chroma) becomes ``$not`` + ``$contains``, and
    ``$nor`` becomes ``$not`` + ``$or``. Everything else is passed on as it is; empty
    filters mean no filter.

    Args:
        filter: A dict filter, or ``None``.

    Returns:
        The Ogma filter, or ``None`` for no filter.

    Raises:
        TypeError: ``filter`` is not a dict (e.g. a callable, as InMemoryVectorStore takes).
        FilterError: The filter is malformed (the message names the offending part).

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
    out = _map_filter(filter)
    validate_filter(out)
    return out


def _map_filter(filter: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    extra: list[dict[str, Any]] = []
    for key, value in filter.items():
        if key == "$nor":
            extra.append({"$not": {"$or": _map_list(value)}})
        elif key in ("$and", "$or"):
            out[key] = _map_list(value)
        elif key == "$not":
            out[key] = _map_filter(value) if isinstance(value, Mapping) else value
        elif isinstance(value, Mapping):
            ops: dict[str, Any] = {}
            for op, operand in value.items():
                if op == "$between":
                    if not isinstance(operand, Sequence) or isinstance(operand, (str, bytes)) or len(operand) != 2:
                        raise FilterError(f"$between at {key} takes a [low, high] pair, got {operand!r}")
                    ops["$gte"], ops["$lte"] = operand[0], operand[1]
                elif op == "$not_contains":
                    extra.append({"$not": {key: {"$contains": operand}}})
                else:
                    ops[op] = operand
            if ops or not value:
                out[key] = ops
        else:
            out[key] = value
    if not extra:
        return out
    parts = ([out] if out else []) + extra
    return parts[0] if len(parts) == 1 else {"$and": parts}


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
    return Document(id=hit.id, page_content=hit.text, metadata=metadata)


def with_generated_ids(ids: Sequence[str | None] | None, count: int) -> list[str] | None:
    """Fill ``None`` ids with fresh ones (LangChain documents may carry ids or not).

    Example:
        >>> len(with_generated_ids(["a", None], 2)[1])
        32
    """
    if ids is None or isinstance(ids, (str, bytes)):
        return ids  # type: ignore[return-value]  # the core rejects a bare string with a clear message
    if len(ids) != count:
        raise ValueError(f"got {len(ids)} ids for {count} texts; pass one id per text (or none)")
    return [uuid.uuid4().hex if doc_id is None else doc_id for doc_id in ids]


def no_extra_kwargs(method: str, kwargs: Mapping[str, Any]) -> None:
    """Raise ``TypeError`` for keyword arguments a method does not take (none are ignored silently)."""
    if kwargs:
        raise TypeError(f"{method}() got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
