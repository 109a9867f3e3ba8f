"""A Milvus collection's fields, indexes and configuration record.

One collection holds one store. Its fields:

* ``id`` -- ``VARCHAR`` primary key: the document id with ``%`` and ``'`` percent-encoded
  (:func:`~ogma.store.milvus.rows.key_of`); ``doc_id`` -- the document id as given;
* ``text`` -- ``VARCHAR`` with an analyzer (``""``
  for a document without content) and ``has_text`` -- ``BOOL``;
* ``metadata`` -- ``JSON``, returned as stored; ``facets`` -- ``JSON``, the typed filter
  index (:mod:`~ogma.store.milvus.facets`);
* ``seq`` -- ``INT64``, insertion order (kept when a document is replaced);
* ``vector`` -- ``FLOAT_VECTOR``, exactly as added (searched with ``COSINE``);
* ``bits`` -- ``BINARY_VECTOR`` of the sign bits (``precision="binary"`` only), searched
  with ``HAMMING`` and rescored with ``vector``;
* ``has_vector`` -- ``BOOL``: Milvus 2.5 vector fields cannot be null, so a document
  without a vector stores zeros and ``has_vector == false``; dense search skips it;
* ``sparse`` -- ``SPARSE_FLOAT_VECTOR``, the output of Milvus' BM25 function over ``text``.

The configuration record (model id, dims, task scheme, precision, analyzer, index
type, schema version) is the collection's description, as JSON, written when the
collection is created and checked on every open.

Example:
    >>> MilvusConfig(dim=4, precision="binary").bits_dim
    8
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from ogma.errors import StoreError, StoreMismatchError
from ogma.store.config import check_settings

__all__ = [
    "DEFAULT_ANALYZER",
    "INDEX_TYPES",
    "PRECISIONS",
    "SCHEMA_VERSION",
    "MilvusConfig",
    "MilvusPrecision",
    "check_collection_name",
    "check_compatible",
    "check_index_type",
]

SCHEMA_VERSION: Final = 1
MARKER: Final = "ogma-store"

MilvusPrecision = Literal["float32", "binary"]
PRECISIONS: Final[tuple[MilvusPrecision, ...]] = ("float32", "binary")

INDEX_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "float32": ("FLAT", "AUTOINDEX", "HNSW", "IVF_FLAT"),
    "binary": ("BIN_FLAT", "AUTOINDEX", "BIN_IVF_FLAT"),
}
"""Index types of the searched vector field, by precision (the first is the default).

Milvus Lite 2.5 (the embedded engine behind ``uri="./file.db"``) accepts FLAT, IVF_FLAT and
AUTOINDEX for float vectors and only BIN_FLAT for binary ones; HNSW, BIN_IVF_FLAT and a binary
AUTOINDEX need a Milvus server (Milvus Lite refuses them, and the store says so)."""

DEFAULT_ANALYZER: Final[dict[str, Any]] = {
    "tokenizer": "standard",
    "filter": ["lowercase", "asciifolding", {"type": "stemmer", "language": "english"}],
}
"""BM25 analyzer: like the SQLite store's ``porter unicode61 remove_diacritics 2``."""

MAX_VARCHAR: Final = 65_535
"""Bytes one Milvus ``VARCHAR`` holds: the limit of a document's text and id."""

_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


@dataclass(frozen=True)
class MilvusConfig:
    """The configuration record of one collection.

    Attributes:
        model_id: Embedding model id (``None``: unknown, not checked).
        dim: Dimension of the stored vectors (``None`` until the first vectors; the
            collection is created then).
        full_dim: The model's own dimension (``dim`` is smaller after Matryoshka truncation).
        task_scheme: The encoder's task scheme name, if any.
        precision: ``"float32"`` or ``"binary"``.
        index_type: Index of the searched vector field.
        analyzer: The BM25 analyzer parameters.
        schema_version: Layout version of the collection.
        created_with: The ogma-core version that created it.
    """

    model_id: str | None = None
    dim: int | None = None
    full_dim: int | None = None
    task_scheme: str | None = None
    precision: MilvusPrecision = "float32"
    index_type: str = "FLAT"
    analyzer: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ANALYZER))
    schema_version: int = SCHEMA_VERSION
    created_with: str = ""

    @property
    def bits_dim(self) -> int:
        """The binary field's dimension: ``dim`` rounded up to whole bytes (Milvus needs a multiple of 8)."""
        return -(-int(self.dim or 0) // 8) * 8

    def to_description(self) -> str:
        """The record as the collection description (JSON)."""
        return json.dumps({MARKER: asdict(self)}, sort_keys=True)

    @classmethod
    def from_description(cls, text: str, collection: str) -> MilvusConfig:
        """Read the record back; a collection not made by Ogma is refused.

        Raises:
            StoreError: The description is not an Ogma record.
        """
        try:
            record = json.loads(text)[MARKER]
            return cls(**record)
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                f"collection {collection!r} exists but was not created by Ogma (its description holds no "
                "Ogma configuration record); choose another collection name"
            ) from exc


def check_compatible(found: MilvusConfig, *, model_id: str | None, dim: int | None, precision: str | None) -> None:
    """Compare what the caller asked for with the collection's record (``None`` matches anything).

    Raises:
        StoreMismatchError: Naming the setting, both values and the fix.
    """
    check_settings(
        [
            ("model id", model_id, found.model_id),
            ("dimension", dim, found.dim),
            ("precision", precision, found.precision),
        ],
        container="collection",
    )
    if found.schema_version > SCHEMA_VERSION:
        raise StoreMismatchError(
            f"this collection has schema version {found.schema_version}, newer than this Ogma "
            f"({SCHEMA_VERSION}); upgrade ogma-core"
        )


def check_index_type(index_type: str | None, precision: str) -> str:
    """The index type to build, validated for the precision.

    Raises:
        ValueError: Unknown for this precision (the message lists the valid ones).

    Example:
        >>> check_index_type(None, "binary")
        'BIN_FLAT'
        >>> check_index_type("hnsw", "float32")
        'HNSW'
    """
    valid = INDEX_TYPES[precision]
    if index_type is None:
        return valid[0]
    if not isinstance(index_type, str) or index_type.upper() not in valid:
        raise ValueError(
            f"index_type must be one of {', '.join(valid)} for precision={precision!r}; got {index_type!r}"
        )
    return index_type.upper()


def check_collection_name(name: Any) -> str:
    """A valid Milvus collection name (letters, digits, underscores; not starting with a digit).

    Raises:
        TypeError: Not a string.
        ValueError: Not a valid name.
    """
    if not isinstance(name, str):
        raise TypeError(f"collection must be a str, got {type(name).__name__}")
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"collection {name!r} is not a valid Milvus collection name: use letters, digits and underscores, "
            "starting with a letter or underscore, at most 255 characters (e.g. 'ogma_notes')"
        )
    return name


def index_build_params(index_type: str) -> dict[str, Any]:
    """Build parameters for an index type (Milvus defaults otherwise)."""
    if index_type == "HNSW":
        return {"M": 16, "efConstruction": 200}
    if index_type in ("IVF_FLAT", "BIN_IVF_FLAT"):
        return {"nlist": 128}
    return {}


def search_params(index_type: str, metric: str, limit: int) -> dict[str, Any]:
    """Search parameters for one request (HNSW's ``ef`` and IVF's ``nprobe`` scale with ``limit``)."""
    params: dict[str, Any] = {}
    if index_type == "HNSW":
        params["ef"] = max(limit, 64)
    elif index_type in ("IVF_FLAT", "BIN_IVF_FLAT"):
        params["nprobe"] = 16
    return {"metric_type": metric, "params": params}


def build_schema(config: MilvusConfig, *, bm25: bool = True, multi_vector: bool = True) -> tuple[Any, Any]:
    """The collection schema and index parameters for ``config``.

    ``bm25=False`` (a server before Milvus 2.5): no analyzer, no ``sparse`` field and no
    BM25 function, so the collection holds no lexical index (dense and binary search only).
    ``multi_vector=False`` (a server before Milvus 2.4, one vector field per collection): a
    binary store keeps its float vectors in a ``JSON`` field ``vector`` (exact float32
    values, read back to rescore the Hamming candidates in Ogma) instead of a second vector field.
    """
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    if config.dim is None:  # pragma: no cover - callers create the collection once the dim is known
        raise StoreError("a collection needs the vector dimension")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False, description=config.to_description())
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_VARCHAR)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_VARCHAR)
    if bm25:
        schema.add_field(
            "text", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params=config.analyzer
        )
    else:
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("has_text", DataType.BOOL)
    schema.add_field("metadata", DataType.JSON)
    schema.add_field("facets", DataType.JSON)
    schema.add_field("seq", DataType.INT64)
    schema.add_field("has_vector", DataType.BOOL)
    floats_in_json = config.precision == "binary" and not multi_vector
    if floats_in_json:
        schema.add_field("vector", DataType.JSON)
    else:
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=config.dim)
    if config.precision == "binary":
        schema.add_field("bits", DataType.BINARY_VECTOR, dim=config.bits_dim)
    if bm25:
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="ogma_bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
    index = MilvusClient.prepare_index_params()
    if config.precision == "binary":
        index.add_index(
            "bits", index_type=config.index_type, metric_type="HAMMING", params=index_build_params(config.index_type)
        )
        if not floats_in_json:
            index.add_index("vector", index_type="FLAT", metric_type="COSINE")
    else:
        index.add_index(
            "vector", index_type=config.index_type, metric_type="COSINE", params=index_build_params(config.index_type)
        )
    if bm25:
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return schema, index
