"""Input checks for the store's public methods, with errors that name the culprit.

Example:
    >>> check_texts(["a", "b"])
    ['a', 'b']
    >>> check_k(0)
    0
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from json import encoder as json_encoder
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.errors import StoreMismatchError
from ogma.validation import check_texts

__all__ = [
    "check_embeddings",
    "check_ids",
    "check_k",
    "check_metadatas",
    "check_texts",
    "encode_text",
]

FloatArray = npt.NDArray[np.float32]

_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def _metadata_encoder() -> Callable[[Any], str]:
    """``_JSON.encode`` without its per-call set-up, when the C accelerator allows it.

    ``JSONEncoder.encode`` builds a new C encoder on every call, which is most of its
    cost for small dicts (a third of ``Store.add`` time on 100k documents). This builds
    it once, without circular-reference markers (so it is thread-safe; a circular dict
    ends in ``RecursionError``, reported by the caller), and checks that it writes the
    same text as ``_JSON.encode``; otherwise ``_JSON.encode`` is used.
    """
    make = getattr(json_encoder, "c_make_encoder", None)
    if make is None:
        return _JSON.encode
    try:
        encode_one = make(None, _JSON.default, json_encoder.encode_basestring, None, ": ", ", ", False, False, False)
        sample = {"a": [1, 2.5, None, True, "é\n"], "b": {"c": -3}}
        if "".join(encode_one(sample, 0)) != _JSON.encode(sample):
            return _JSON.encode
    except Exception:  # a Python whose private encoder API differs: use the public one
        return _JSON.encode

    def encode(obj: Any) -> str:
        return "".join(encode_one(obj, 0))

    return encode


_encode_metadata = _metadata_encoder()


def encode_text(text: str, index: int) -> bytes:
    """UTF-8 bytes of one text; lone surrogates (undecodable input) raise ``ValueError`` naming the index."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"texts[{index}] is not valid Unicode (it contains a lone surrogate at position {exc.start}); "
            "decode the source with the right encoding, or errors='replace'"
        ) from exc


def check_metadatas(metadatas: Any, count: int) -> list[str]:
    """Serialise metadatas to JSON text (``None`` entries become ``{}``).

    Raises:
        ValueError: Length differs from the texts.
        TypeError: An entry is not a dict with string keys, or is not JSON-serialisable.
    """
    if metadatas is None:
        return ["{}"] * count
    if isinstance(metadatas, (str, bytes, Mapping)) or not isinstance(metadatas, Sequence):
        raise TypeError(f"metadatas must be a list of dicts (one per text), got {type(metadatas).__name__}")
    if len(metadatas) != count:
        raise ValueError(f"got {len(metadatas)} metadatas for {count} texts; pass one dict (or None) per text")
    if all(type(meta) is dict for meta in metadatas) and all(type(key) is str for meta in metadatas for key in meta):
        try:  # the common case (plain dicts, str keys) in one pass; any error is located below
            return [_encode_metadata(meta) for meta in metadatas]
        except (TypeError, ValueError, RecursionError):
            pass
    return [_metadata_json(meta, index) for index, meta in enumerate(metadatas)]


def _metadata_json(meta: Any, index: int) -> str:
    """One entry of :func:`check_metadatas`, with an error that names it."""
    if meta is None:
        return "{}"
    if type(meta) is not dict:
        if not isinstance(meta, Mapping):
            raise TypeError(f"metadatas[{index}] must be a dict, got {type(meta).__name__}")
        meta = dict(meta)
    bad = [key for key in meta if not isinstance(key, str)]
    if bad:
        raise TypeError(f"metadatas[{index}] has a non-string key {bad[0]!r}; metadata keys must be str")
    try:
        return _encode_metadata(meta)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadatas[{index}] is not JSON-serialisable: {exc}") from exc
    except RecursionError as exc:
        raise TypeError(f"metadatas[{index}] is not JSON-serialisable: it contains itself (or nests too deep)") from exc


def check_ids(ids: Any, count: int) -> list[str]:
    """Ids as strings: generated (uuid4 hex) when ``None``.

    Raises:
        ValueError: Length mismatch, empty id, or the same id twice in one call.
        TypeError: A non-string id.
    """
    if ids is None:
        return [uuid.uuid4().hex for _ in range(count)]
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence):
        raise TypeError(f"ids must be a list of strings, got {type(ids).__name__}")
    if len(ids) != count:
        raise ValueError(f"got {len(ids)} ids for {count} texts; pass one id per text (or none)")
    if all(type(doc_id) is str and doc_id for doc_id in ids) and len(set(ids)) == len(ids):
        return list(ids)
    seen: dict[str, int] = {}
    for index, doc_id in enumerate(ids):
        if not isinstance(doc_id, str):
            raise TypeError(f"ids[{index}] must be a str, got {type(doc_id).__name__}")
        if not doc_id:
            raise ValueError(f"ids[{index}] is empty; ids must be non-empty strings")
        if doc_id in seen:
            raise ValueError(
                f"id {doc_id!r} appears twice in one call (ids[{seen[doc_id]}] and ids[{index}]); "
                "ids must be unique within a call"
            )
        seen[doc_id] = index
    return list(ids)


def check_embeddings(embeddings: Any, count: int, dims: Sequence[int], *, what: str = "embeddings") -> FloatArray:
    """A finite float32 ``(count, d)`` matrix with ``d`` among ``dims``.

    Raises:
        StoreMismatchError: Wrong dimension (names expected and got).
        ValueError: Wrong row count, or NaN/inf values (names the first bad row).
    """
    array = np.asarray(embeddings, dtype=np.float32)
    if array.ndim == 1 and count == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (one row per text), got shape {array.shape}")
    if array.shape[0] != count:
        raise ValueError(f"got {array.shape[0]} {what} for {count} texts")
    if dims and array.shape[1] not in dims:
        expected = " or ".join(str(d) for d in dict.fromkeys(dims))
        raise StoreMismatchError(
            f"{what} have dimension {array.shape[1]}, but this store expects {expected}; "
            "use the model the store was built with, or a new store file"
        )
    finite = np.isfinite(array).all(axis=1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"{what}[{bad}] contains NaN or infinite values")
    return array


def check_k(k: Any, name: str = "k") -> int:
    """A non-negative integer.

    Example:
        >>> check_k(5)
        5
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(k).__name__}")
    if k < 0:
        raise ValueError(f"{name} must be >= 0, got {k}")
    return int(k)
