"""Store settings on Milvus: a small side collection beside the store's own.

The collection's description holds the configuration record, written once at creation
(Milvus Lite 2.5 cannot alter collection properties), so settings
(:mod:`ogma.store.settings`) live in a collection named ``<collection>__ogma_settings``:
``key`` (``VARCHAR`` primary key), ``value`` (``VARCHAR``), and a 2-d placeholder vector
(Milvus requires one vector field per collection). It is created on the first write and
dropped with the store.

The first value written stands: a write first reads the key, under the store's lock, and
Milvus' strong consistency makes the read see every earlier write. Two processes
writing the same key at the same moment can still both write (Milvus has no
transactions); which value a read then returns is Milvus' choice (the row with the
smallest ``seq`` when both are returned).

Example:
    >>> settings_collection("notes")
    'notes__ogma_settings'
"""

from __future__ import annotations

import time
from typing import Any, Final

from ogma.errors import StoreError
from ogma.store.milvus.client import pymilvus
from ogma.store.milvus.expressions import literal

__all__ = ["MAX_VALUE_BYTES", "SUFFIX", "drop_settings", "read_setting", "settings_collection", "write_setting"]

SUFFIX: Final = "__ogma_settings"
MAX_VALUE_BYTES: Final = 65_535
"""Bytes one setting value holds (a Milvus ``VARCHAR``)."""


def settings_collection(collection: str) -> str:
    """The name of a store's settings collection.

    Raises:
        StoreError: The store's collection name is too long to take the suffix.
    """
    name = collection + SUFFIX
    if len(name) > 255:
        raise StoreError(
            f"collection {collection!r} is too long to keep settings beside it ({len(name)} > 255 characters "
            f"with {SUFFIX!r}); use a collection name of at most {255 - len(SUFFIX)} characters"
        )
    return name


def read_setting(client: Any, collection: str, key: str) -> str | None:
    """The value of ``key``, or ``None`` (also when no setting was ever written)."""
    name = settings_collection(collection)
    if not client.has_collection(name):
        return None
    rows = client.query(name, filter=f"key == {literal(key)}", output_fields=["value", "seq"])
    if not rows:
        return None
    return str(min(rows, key=lambda row: int(row["seq"]))["value"])


def write_setting(client: Any, collection: str, key: str, value: str) -> None:
    """Insert ``key`` (the caller has checked that it is unset).

    Raises:
        ValueError: ``value`` is longer than :data:`MAX_VALUE_BYTES` in UTF-8.
    """
    size = len(value.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        raise ValueError(f"setting {key!r} is {size} bytes; a Milvus store keeps at most {MAX_VALUE_BYTES} per value")
    name = settings_collection(collection)
    if not client.has_collection(name):
        _create(client, name)
    client.insert(name, [{"key": key, "value": value, "seq": time.time_ns(), "placeholder": [0.0, 1.0]}])


def drop_settings(client: Any, collection: str) -> None:
    """Drop the settings collection, if any."""
    name = settings_collection(collection)
    if client.has_collection(name):
        client.drop_collection(name)


def _create(client: Any, name: str) -> None:
    data_type = pymilvus().DataType
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False, description="ogma store settings")
    schema.add_field("key", data_type.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("value", data_type.VARCHAR, max_length=MAX_VALUE_BYTES)
    schema.add_field("seq", data_type.INT64)
    schema.add_field("placeholder", data_type.FLOAT_VECTOR, dim=2)
    index = client.prepare_index_params()
    index.add_index("placeholder", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    client.load_collection(name)
