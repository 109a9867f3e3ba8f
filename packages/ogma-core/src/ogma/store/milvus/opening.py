"""Opening a Milvus collection: check the configuration record of an existing one, or create it.

What the server's version allows is decided here too (:class:`Fields`): no BM25 field before
Milvus 2.5, and one vector field per collection before 2.4 (a binary store's float vectors
are then kept in a JSON field).

Example:
    >>> from ogma.store.milvus.schema import MilvusConfig
    >>> MilvusConfig(dim=4).index_type
    'FLAT'
    >>> new_fields("v2.3.5", MilvusConfig(dim=4, precision="binary"))
    Fields(bm25=False, float_field=False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ogma.errors import StoreError, StoreMismatchError
from ogma.store.config import check_encoder_dim
from ogma.store.encoding import StoreEncoder
from ogma.store.milvus.client import MULTI_VECTOR_SINCE, at_least, has_bm25
from ogma.store.milvus.schema import MilvusConfig, build_schema, check_compatible, check_index_type

__all__ = ["Fields", "create_collection", "described_config", "new_fields", "noted_fields", "open_collection"]


@dataclass(frozen=True)
class Fields:
    """What a collection holds beyond the documents.

    Attributes:
        bm25: A BM25 sparse field (lexical and hybrid search): Milvus >= 2.5 only.
        float_field: The float vectors are a vector field; ``False``: a JSON field (a binary
            store on a server before Milvus 2.4, where a collection has one vector field).
    """

    bm25: bool
    float_field: bool


def new_fields(version: str | None, config: MilvusConfig) -> Fields:
    """The fields a collection created now on a server of ``version`` gets (``None``: Milvus Lite)."""
    return Fields(
        bm25=has_bm25(version),
        float_field=at_least(version, MULTI_VECTOR_SINCE) or config.precision != "binary",
    )


def noted_fields(described: Mapping[str, Any], version: str | None) -> Fields:
    """What an existing collection has (made perhaps by an older server): its BM25 field, its float vector field."""
    fields = {str(f.get("name")): f for f in described.get("fields", [])}
    kind = fields.get("vector", {}).get("type")
    return Fields(
        bm25=has_bm25(version) and "sparse" in fields,
        float_field=getattr(kind, "name", str(kind)) != "JSON",
    )


def _ogma_version() -> str:
    try:
        from importlib.metadata import version

        return version("ogma-core")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "unknown"


def described_config(client: Any, collection: str, version: str | None) -> tuple[MilvusConfig, Fields]:
    """The configuration record of an existing collection (its description), and its fields."""
    described = client.describe_collection(collection)
    config = MilvusConfig.from_description(str(described.get("description", "")), collection)
    return config, noted_fields(described, version)


def open_collection(
    client: Any,
    collection: str,
    encoder: StoreEncoder | None,
    *,
    dim: int | None,
    precision: str | None,
    index_type: str | None,
    lite: bool,
    version: str | None,
) -> tuple[MilvusConfig, Fields]:
    """The configuration of ``collection`` and its fields: checked against the arguments if it exists, else created.

    A new collection is created only when its dimension is known (``dim`` or the encoder's);
    otherwise the first vectors written create it (the fields returned are then those it will get).
    ``version`` is the server's (``None``: Milvus Lite), see :func:`new_fields`.

    Raises:
        StoreMismatchError: The collection was built with another model, dimension, precision or index.
        ValueError: ``dim`` is larger than the encoder's dimension.
    """
    if client.has_collection(collection):
        config, fields = described_config(client, collection, version)
        check_compatible(
            config, model_id=encoder.model_id if encoder is not None else None, dim=dim, precision=precision
        )
        if index_type is not None and index_type != config.index_type:
            raise StoreMismatchError(
                f"this collection was built with index_type {config.index_type!r}, but {index_type!r} was "
                "requested; open it without index_type, or use a new collection"
            )
        encoder_dim = encoder.dim if encoder is not None else None
        check_encoder_dim(config.dim, config.full_dim, encoder_dim, container="collection")
        client.load_collection(collection)
        return config, fields
    full_dim = encoder.dim if encoder is not None else None
    if dim is not None and full_dim is not None and dim > full_dim:
        raise ValueError(f"dim {dim} is larger than the encoder's dimension {full_dim}")
    chosen = precision or "float32"
    config = MilvusConfig(
        model_id=encoder.model_id if encoder is not None else None,
        dim=dim if dim is not None else full_dim,
        full_dim=full_dim if full_dim is not None else dim,
        task_scheme=encoder.task_scheme if encoder is not None else None,
        precision=chosen,  # type: ignore[arg-type]
        index_type=index_type or check_index_type(None, chosen),
        created_with=_ogma_version(),
    )
    if config.dim is not None:
        return config, create_collection(client, collection, config, lite=lite, version=version)
    return config, new_fields(version, config)


def create_collection(client: Any, collection: str, config: MilvusConfig, *, lite: bool, version: str | None) -> Fields:
    """Create and load ``collection`` with the fields and index of ``config`` that a server of ``version`` has.

    Raises:
        StoreError: Milvus refused the index type (the collection is dropped again).
    """
    fields = new_fields(version, config)
    multi_vector = at_least(version, MULTI_VECTOR_SINCE)
    schema, index = build_schema(config, bm25=fields.bm25, multi_vector=multi_vector)
    client.create_collection(collection, schema=schema, consistency_level="Strong")
    try:
        # the collection is empty, so its indexes are built at once: no need to poll
        # for them (pymilvus would sleep 0.5 s per index)
        client.create_index(collection, index, sync=False)
    except Exception as exc:
        client.drop_collection(collection)
        where = "Milvus Lite" if lite else "this Milvus server"
        raise StoreError(
            f"{where} refused index_type {config.index_type!r} for collection {collection!r}: {exc}"
        ) from exc
    client.load_collection(collection)
    return fields
