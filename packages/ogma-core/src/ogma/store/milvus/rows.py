"""Documents to Milvus rows and back.

Example:
    >>> import numpy as np
    >>> row = make_row("a", None, "{}", None, 4, binary=True, seq=1)
    >>> row["has_text"], row["has_vector"], row["bits"]
    (False, False, b'\\x00')
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ogma.compress import quantize_binary
from ogma.store.document import Document
from ogma.store.milvus.facets import facets

__all__ = [
    "DOCUMENT_FIELDS",
    "ROW_FIELDS",
    "doc_id_of",
    "floats_of",
    "key_of",
    "make_row",
    "to_document",
    "vector_of",
]

FloatArray = npt.NDArray[np.float32]

DOCUMENT_FIELDS: Final = ["id", "doc_id", "text", "has_text", "metadata"]
"""Fields read to build a :class:`~ogma.store.document.Document` (without its vector)."""


_KEY_ESCAPES: Final = {"%": "%25", "'": "%27", "\n": "%0A", "\r": "%0D", "\x00": "%00"}
_KEY_CODES: Final = re.compile("%(25|27|0A|0D|00)")


def key_of(doc_id: str) -> str:
    """The primary key of a document id: ``%``, ``'``, line breaks and NUL percent-encoded (a bijection).

    Milvus Lite 2.5.1 passes the primary keys of upserts and deletes to its internal SQLite
    unquoted: a key with a ``'`` fails there (or, with two, names another key). And a Milvus
    string literal cannot hold a line break or NUL, so such a key could not be looked up. The
    document id itself is kept in ``doc_id`` for filters and results.

    Example:
        >>> key_of("O'Brien 100%")
        'O%27Brien 100%25'
        >>> doc_id_of(key_of("O'Brien 100%"))
        "O'Brien 100%"
    """
    return "".join(_KEY_ESCAPES.get(c, c) for c in doc_id)


def doc_id_of(key: str) -> str:
    """The document id of a primary key (the inverse of :func:`key_of`)."""
    return _KEY_CODES.sub(lambda m: chr(int(m.group(1), 16)), key)


def row_fields(binary: bool) -> list[str]:
    """Every field a row is written with (the BM25 output ``sparse`` is computed by Milvus)."""
    fields = [*DOCUMENT_FIELDS, "facets", "seq", "has_vector", "vector"]
    return [*fields, "bits"] if binary else fields


ROW_FIELDS: Final = row_fields(True)


def make_row(
    doc_id: str,
    text: str | None,
    metadata_json: str,
    vector: FloatArray | None,
    dim: int,
    *,
    binary: bool,
    seq: int,
    floats_in_json: bool = False,
) -> dict[str, Any]:
    """One row; a document without a vector gets zeros and ``has_vector=False``.

    ``floats_in_json``: the collection keeps the float vectors in a JSON field (a binary
    store on a server before Milvus 2.4), as ``{"v": [...]}`` (Milvus JSON fields hold objects).
    """
    metadata = json.loads(metadata_json)
    values = vector if vector is not None else np.zeros(dim, dtype=np.float32)
    row: dict[str, Any] = {
        "id": key_of(doc_id),
        "doc_id": doc_id,
        "text": text if text is not None else "",
        "has_text": text is not None,
        "metadata": metadata,
        "facets": facets(metadata),
        "seq": seq,
        "has_vector": vector is not None,
        "vector": values.astype(np.float32).tolist(),
    }
    if floats_in_json:
        row["vector"] = {"v": row["vector"]}
    if binary:
        row["bits"] = quantize_binary(values[None, :])[0].tobytes()
    return row


def with_metadata(row: Mapping[str, Any], metadata: dict[str, Any], binary: bool) -> dict[str, Any]:
    """A stored row (as read back) with new metadata, ready to upsert."""
    out = {name: row[name] for name in row_fields(binary)}
    out["metadata"] = metadata
    out["facets"] = facets(metadata)
    if binary and isinstance(out["bits"], list):
        out["bits"] = out["bits"][0]
    return out


def floats_of(value: Any) -> Any:
    """The float list of a ``vector`` field as read: a vector field's list, or the ``{"v": [...]}`` JSON form."""
    return value["v"] if isinstance(value, Mapping) else value


def vector_of(row: Mapping[str, Any]) -> FloatArray | None:
    """The stored float32 vector of a row read with ``vector`` and ``has_vector`` (``None`` without one)."""
    if not row.get("has_vector", False):
        return None
    return np.asarray(floats_of(row["vector"]), dtype=np.float32)


def to_document(row: Mapping[str, Any], include_embedding: bool = False) -> Document:
    """A :class:`Document` from a row read with :data:`DOCUMENT_FIELDS` (plus the vector fields)."""
    text = row["text"] if row["has_text"] else None
    embedding = vector_of(row) if include_embedding else None
    return Document(row["doc_id"], text, dict(row["metadata"] or {}), embedding)
