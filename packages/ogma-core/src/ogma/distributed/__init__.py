"""Beyond one machine: encode a corpus on Ray Data, write Parquet, import it into a store.

Needs the optional extra ``pip install 'ogma-core[ray]'`` (Ray Data and pyarrow);
without it, the functions raise :class:`~ogma.errors.MissingExtraError` with that fix.
Importing this package does not import Ray.

* :func:`embed_dataset` — a Ray Dataset of texts (with ids) → embeddings, by an actor
  pool of :class:`~ogma.TextEncoder` s.
* :func:`embed_to_parquet` — the same from JSONL/Parquet files (or a Dataset) to a
  folder of Parquet files (layout: :mod:`ogma.distributed.files`).
* :func:`ogma.store.parquet.import_parquet` (``ogma import``) loads such files into a
  store without re-encoding.

Example:
    >>> from ogma.distributed import init_ray, embed_to_parquet              # doctest: +SKIP
    >>> init_ray(num_cpus=4)                                                # doctest: +SKIP
    >>> embed_to_parquet("corpus.jsonl", "vectors/", model="all-MiniLM-L6-v2", num_actors=4)  # doctest: +SKIP
"""

from __future__ import annotations

from ogma.distributed.files import EmbeddingInfo, embedding_table, read_embedding_info
from ogma.distributed.ray_data import (
    EncodeOptions,
    EncoderActor,
    embed_dataset,
    embed_to_parquet,
    init_ray,
    read_texts,
)

__all__ = [
    "EmbeddingInfo",
    "EncodeOptions",
    "EncoderActor",
    "embed_dataset",
    "embed_to_parquet",
    "embedding_table",
    "init_ray",
    "read_embedding_info",
    "read_texts",
]
