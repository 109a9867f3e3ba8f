"""Opening a Milvus collection: check the configuration record of an existing one, or create it.

Example:
    >>> from ogma.store.milvus.schema import MilvusConfig
    >>> MilvusConfig(dim=4).index_type
    'FLAT'
"""

from __future__ import annotations

from typing import Any

from ogma.errors import StoreError, StoreMismatchError
from ogma.store.config import check_encoder_dim
from ogma.store.encoding import StoreEncoder
from ogma.store.milvus.schema import MilvusConfig, build_schema, check_compatible, check_index_type

__all__ = ["create_collection", "described_config", "open_collection"]


def _ogma_version() -> str:
    try:
        from importlib.metadata import version

        return version("ogma-core")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "unknown"


def described_config(client: Any, collection: str) -> MilvusConfig:
    """The configuration record of an existing collection (its description)."""
    described = client.describe_collection(collection)
    return MilvusConfig.from_description(str(described.get("description", "")), collection)


def open_collection(
    client: Any,
    collection: str,
    encoder: StoreEncoder | None,
    *,
    dim: int | None,
    precision: str | None,
    index_type: str | None,
    lite: bool,
) -> MilvusConfig:
    """The configuration of ``collection``: checked against the arguments if it exists, else created.

    A new collection is created only when its dimension is known (``dim`` or the encoder's);
    otherwise the first vectors written create it.

    Raises:
        StoreMismatchError: The collection was built with another model, dimension, precision or index.
        ValueError: ``dim`` is larger than the encoder's dimension.
    """
    if client.has_collection(collection):
        config = described_config(client, collection)
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
        return config
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
        create_collection(client, collection, config, lite=lite)
    return config


def create_collection(client: Any, collection: str, config: MilvusConfig, *, lite: bool) -> None:
    """Create and load ``collection`` with the fields and index of ``config``.

    Raises:
        StoreError: Milvus refused the index type (the collection is dropped again).
    """
    schema, index = build_schema(config)
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
