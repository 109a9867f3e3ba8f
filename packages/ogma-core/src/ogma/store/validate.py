"""Input checks for the store's public methods, with errors that name the culprit.

Example:
    >>> check_texts(["a", "b"])
    ['a', 'b']
    >>> check_k(0)
    0
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from json import encoder as json_encoder
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ogma.errors import StoreMismatchError
from ogma.store.protocol import ON_CONFLICT
from ogma.validation import (
    check_count,
    check_id_list,
    check_str,
    check_strings,
    check_texts,
    check_unicode,
    check_unicode_texts,
)

__all__ = [
    "AddArgs",
    "check_add_args",
    "check_embeddings",
    "check_field_name",
    "check_ids",
    "check_k",
    "check_lookup_ids",
    "check_metadatas",
    "check_no_nul",
    "check_optional_embeddings",
    "check_store_texts",
    "check_texts",
    "encode_text",
    "lexical_query",
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
    except UnicodeEncodeError:
        check_unicode(text, f"texts[{index}]")
        raise  # pragma: no cover - check_unicode raised


MAX_METADATA_DEPTH = 64
"""How deep dicts and lists may nest inside one document's metadata."""

MAX_VALUE_BYTES = 1_000_000_000
"""SQLite's default limit on one string or blob (``SQLITE_MAX_LENGTH``): a text or a metadata dict as JSON."""


def check_no_nul(texts: Sequence[str | None], name: str = "texts") -> None:
    """Refuse a document text holding a NUL character (``"\\x00"``), naming it and the position.

    Backends do not agree on the words after a NUL: SQLite's full-text index reads past
    it, Milvus' BM25 analyzer stops there. Rather than store a text that one backend would
    search differently (or change it), every backend refuses it, through this one check.

    Raises:
        ValueError: ``texts[i] holds a NUL character at position p`` with the fix.

    Example:
        >>> check_no_nul(["a", None])
        >>> check_no_nul(["a", "b\\x00c"])
        Traceback (most recent call last):
        ...
        ValueError: texts[1] holds a NUL character ('\\x00') at position 1; ...
    """
    for index, text in enumerate(texts):
        if text is not None and "\x00" in text:
            raise ValueError(
                f"{name}[{index}] holds a NUL character ('\\x00') at position {text.index(chr(0))}; "
                "document texts cannot hold one (search backends disagree on the words after it). "
                "Remove or replace it first, e.g. text.replace('\\x00', ' ')"
            )


def lexical_query(query: str) -> str:
    """A lexical query as every backend reads it: a NUL character separates words, like a space.

    Example:
        >>> lexical_query("fox\\x00dog")
        'fox dog'
    """
    return query.replace("\x00", " ")


def check_size(value: str, where: str) -> None:
    """``ValueError`` if ``value`` is longer in UTF-8 than SQLite stores in one value."""
    if len(value) * 4 > MAX_VALUE_BYTES and len(value.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
        raise ValueError(
            f"{where} is larger than {MAX_VALUE_BYTES:,} bytes as UTF-8, the most SQLite stores in one value; "
            "split it into smaller documents"
        )


def check_metadatas(metadatas: Any, count: int) -> list[str]:
    """Serialise metadatas to JSON text (``None`` entries become ``{}``).

    Every dict key at every level must be a ``str`` (JSON would silently turn ``1`` into
    ``"1"``), numbers must be finite, strings valid Unicode, and dicts and lists may nest at
    most :data:`MAX_METADATA_DEPTH` levels.

    Raises:
        ValueError: Length differs from the texts; a NaN or infinite number, a lone
            surrogate, nesting deeper than :data:`MAX_METADATA_DEPTH`, or a value too large
            for SQLite (the message names the entry and the key path).
        TypeError: An entry is not a dict, has a non-string key, contains itself, or holds a
            value that is not JSON-serialisable.
    """
    if metadatas is None:
        return ["{}"] * count
    if isinstance(metadatas, (str, bytes, Mapping)) or not isinstance(metadatas, Sequence):
        raise TypeError(f"metadatas must be a list of dicts (one per text), got {type(metadatas).__name__}")
    if len(metadatas) != count:
        raise ValueError(f"got {len(metadatas)} metadatas for {count} texts; pass one dict (or None) per text")
    # Plain dicts whose keys are all plain str, checked at C speed: the types of the entries, and
    # the types of the distinct keys (a bulk load repeats a few keys across every entry).
    if set(map(type, metadatas)) <= {dict} and set(map(type, set(chain.from_iterable(metadatas)))) <= {str}:
        try:  # the common case (plain dicts, str keys) in one pass; any error is located below
            out = [_encode_metadata(meta) for meta in metadatas]
        except (TypeError, ValueError, RecursionError):
            pass
        else:
            if max(map(len, out), default=0) * 4 <= MAX_VALUE_BYTES:
                # One "{" per entry means no nested dict (whose keys need checking), few "[" mean
                # shallow lists: then one pass over all entries suffices. Otherwise the entries that
                # might be nested, or hold invalid Unicode, are checked one by one.
                joined = "".join(out)
                if joined.count("{") == len(out) and joined.count("[") <= MAX_METADATA_DEPTH and _valid_utf8(joined):
                    return out
                for index, text in enumerate(out):
                    if text.count("{") != 1 or text.count("[") > MAX_METADATA_DEPTH or not _valid_utf8(text):
                        out[index] = _metadata_json(metadatas[index], index)
                return out
    return [_metadata_json(meta, index) for index, meta in enumerate(metadatas)]


def _valid_utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _path(index: int, keys: Sequence[Any]) -> str:
    return f"metadatas[{index}]" + "".join(f"[{key!r}]" for key in keys)


def _check_tree(meta: Mapping[Any, Any], index: int) -> None:
    """Walk one metadata dict without recursion; raise an error that names the key path."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(meta, ())]
    while stack:
        node, keys = stack.pop()
        if len(keys) > MAX_METADATA_DEPTH:
            raise ValueError(
                f"{_path(index, keys[:3])}... nests more than {MAX_METADATA_DEPTH} levels deep (or contains itself); "
                "flatten it: metadata is for filtering, not for whole documents"
            )
        if isinstance(node, Mapping):
            for key, value in node.items():
                if not isinstance(key, str):
                    where = f"metadatas[{index}]" if not keys else _path(index, keys)
                    raise TypeError(f"{where} has a non-string key {key!r}; metadata keys must be str")
                _check_unicode_at(key, index, f"a key of {_path(index, keys)}")
                stack.append((value, (*keys, key)))
        elif isinstance(node, (list, tuple)):
            stack.extend((value, (*keys, position)) for position, value in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            raise TypeError(
                f"metadatas[{index}] is not JSON-serialisable: {_path(index, keys)} is {node!r}; "
                "JSON cannot store NaN or infinity: use None or a string"
            )
        elif isinstance(node, str):
            _check_unicode_at(node, index, _path(index, keys))


def _check_unicode_at(text: str, index: int, where: str) -> None:
    """:func:`check_unicode` for a metadata key or value, naming the entry and where in it."""
    try:
        check_unicode(text, f"metadatas[{index}]")
    except ValueError as exc:
        raise ValueError(f"{exc} (in {where})") from exc


def _metadata_json(meta: Any, index: int) -> str:
    """One entry of :func:`check_metadatas`, with an error that names it."""
    if meta is None:
        return "{}"
    if type(meta) is not dict:
        if not isinstance(meta, Mapping):
            raise TypeError(f"metadatas[{index}] must be a dict, got {type(meta).__name__}")
        meta = dict(meta)
    _check_tree(meta, index)
    try:
        text = _encode_metadata(meta)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadatas[{index}] is not JSON-serialisable: {exc}") from exc
    except RecursionError as exc:  # pragma: no cover - _check_tree bounds the depth first
        raise TypeError(f"metadatas[{index}] is not JSON-serialisable: it contains itself (or nests too deep)") from exc
    check_size(text, f"metadatas[{index}]")
    return text


def check_ids(ids: Any, count: int) -> list[str]:
    """Ids as strings: generated (uuid4 hex) when ``None``.

    Raises:
        ValueError: Length mismatch, empty id, the same id twice in one call, or an id
            that is not valid Unicode.
        TypeError: A single string instead of a list, or a non-string id.
    """
    if ids is None:
        return [uuid.uuid4().hex for _ in range(count)]
    doc_ids = check_strings(ids, "ids")
    if len(doc_ids) != count:
        raise ValueError(f"got {len(doc_ids)} ids for {count} texts; pass one id per text (or none)")
    check_unicode_texts(doc_ids, "ids")
    if all(doc_ids) and len(set(doc_ids)) == len(doc_ids):
        return doc_ids
    seen: dict[str, int] = {}
    for index, doc_id in enumerate(doc_ids):
        if not doc_id:
            raise ValueError(f"ids[{index}] is empty; ids must be non-empty strings")
        if doc_id in seen:
            raise ValueError(
                f"id {doc_id!r} appears twice in one call (ids[{seen[doc_id]}] and ids[{index}]); "
                "ids must be unique within a call"
            )
        seen[doc_id] = index
    return doc_ids


def check_lookup_ids(ids: Any) -> list[str]:
    """Ids to look up or delete: valid-Unicode strings (duplicates allowed).

    Any iterable of strings is accepted (a set, ``dict.keys()``, a generator, an array),
    except a single ``str`` or ``bytes`` (``"ab"`` is not ``["a", "b"]``) and a mapping.

    Raises:
        TypeError: A single string instead of a list, or a non-string id.
        ValueError: An id that is not valid Unicode.

    Example:
        >>> check_lookup_ids(("a", "b"))
        ['a', 'b']
    """
    return check_id_list(ids, "ids")


def check_embeddings(embeddings: Any, count: int, dims: Sequence[int], *, what: str = "embeddings") -> FloatArray:
    """A finite float32 ``(count, d)`` matrix with ``d`` among ``dims``.

    Raises:
        StoreMismatchError: Wrong dimension (names expected and got).
        ValueError: Wrong row count, ragged rows, or NaN/inf values (names the first bad row).
        TypeError: Not numbers (strings, objects, complex numbers).
    """
    if isinstance(embeddings, (str, bytes)):
        raise TypeError(f"{what} must be an array of numbers, got {type(embeddings).__name__}")
    try:
        raw = np.asarray(embeddings)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{what} must be a rectangular array (one row of equal length per text): {exc}") from exc
    if raw.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must be real numbers, got an array of dtype {raw.dtype} "
            "(complex, text and object arrays are refused rather than converted)"
        )
    array = raw.astype(np.float32, copy=False)
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


def check_store_texts(texts: Any) -> list[str | None]:
    """Document texts for :meth:`ogma.store.Store.add`: strings, or ``None`` for a document without content.

    Each text is also checked for valid Unicode and for SQLite's size limit.

    Raises:
        TypeError: ``texts`` is a single string or not a sequence, or an item is neither
            ``str`` nor ``None`` (the message names ``texts[i]``).
        ValueError: A text is not valid Unicode, holds a NUL character, or is too large (names it).

    Example:
        >>> check_store_texts(["a", None])
        ['a', None]
        >>> check_store_texts(["a", 3])
        Traceback (most recent call last):
        ...
        TypeError: texts[1] must be a str or None, got int; convert or drop it first
    """
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        check_texts(texts)  # raises the error for a single string or a non-sequence
    items = list(texts)
    if set(map(type, items)) <= {str}:  # the common case: no None, no subclasses
        check_unicode_texts(items, "texts")  # all str
        check_no_nul(items)
        if items:
            lengths = list(map(len, items))
            longest = lengths.index(max(lengths))
            check_size(items[longest], f"texts[{longest}]")
        return items
    present: list[str] = []
    for index, text in enumerate(items):
        if text is None:
            continue
        if type(text) is not str:
            if not isinstance(text, str):
                hint = " (decode bytes first)" if isinstance(text, (bytes, bytearray)) else ""
                raise TypeError(
                    f"texts[{index}] must be a str or None, got {type(text).__name__}{hint}; convert or drop it first"
                )
            items[index] = text = str.__str__(text)  # a str subclass: plain str
        present.append(text)
    if len(present) != len(items):
        for index, text in enumerate(items):
            if text is not None:
                check_unicode(text, f"texts[{index}]")
    else:
        check_unicode_texts(present, "texts")
    check_no_nul(items)
    if present:
        longest = max(range(len(items)), key=lambda i: len(items[i] or ""))
        check_size(items[longest] or "", f"texts[{longest}]")
    return items


def _embedding_rows(embeddings: Any) -> list[Any] | None:
    """The rows of ``embeddings`` when some are ``None``; otherwise ``None`` (a plain matrix)."""
    if isinstance(embeddings, np.ndarray):
        if embeddings.dtype != object or embeddings.ndim == 0:
            return None
        rows = list(embeddings)
    elif isinstance(embeddings, (list, tuple)):
        rows = list(embeddings)
    else:
        return None
    return rows if any(row is None for row in rows) else None


def check_optional_embeddings(embeddings: Any, count: int, dims: Sequence[int]) -> tuple[FloatArray, list[int] | None]:
    """Like :func:`check_embeddings`, but a row may be ``None`` (that document gets no vector).

    Returns:
        ``(matrix, positions)``: the present rows as a float32 matrix, and their positions
        in the input (``None`` when every row is present, so ``matrix`` has ``count`` rows).

    Raises:
        StoreMismatchError: A row of the wrong dimension (names ``embeddings[i]``).
        ValueError: Wrong number of rows, a row that is not a vector, NaN/inf (names the row).
        TypeError: Rows that are not numbers.

    Example:
        >>> matrix, positions = check_optional_embeddings([[1.0, 0.0], None], 2, [2])
        >>> matrix.shape, positions
        ((1, 2), [0])
    """
    rows = _embedding_rows(embeddings)
    if rows is None:
        return check_embeddings(embeddings, count, dims), None
    if len(rows) != count:
        raise ValueError(f"got {len(rows)} embeddings for {count} texts")
    positions = [i for i, row in enumerate(rows) if row is not None]
    if not positions:
        return np.zeros((0, dims[0] if dims else 0), dtype=np.float32), []
    present = [np.asarray(rows[i].tolist() if isinstance(rows[i], np.ndarray) else rows[i]) for i in positions]
    try:
        return check_embeddings(np.stack(present), len(positions), dims), positions
    except (ValueError, TypeError) as exc:
        # locate the culprit so the message names its position in the caller's input
        first: int | None = None
        for position, row in zip(positions, present):
            if row.ndim != 1:
                raise ValueError(
                    f"embeddings[{position}] must be a vector (1-D) or None, got shape {row.shape}"
                ) from exc
            if row.dtype.kind in "biuf" and not np.isfinite(row).all():
                raise ValueError(f"embeddings[{position}] contains NaN or infinite values") from exc
            check_embeddings(row, 1, dims, what=f"embeddings[{position}]")
            if first is None:
                first = row.shape[0]
            elif row.shape[0] != first:
                raise StoreMismatchError(
                    f"embeddings[{position}] has dimension {row.shape[0]}, but embeddings[{positions[0]}] has "
                    f"{first}; give every vector of one call the same dimension"
                ) from exc
        raise


def check_k(k: Any, name: str = "k") -> int:
    """A non-negative integer, clamped to the largest count SQLite can bind.

    Example:
        >>> check_k(5)
        5
        >>> check_k(2**80) == 2**63 - 1
        True
    """
    return check_count(k, name, minimum=0)


class AddArgs(NamedTuple):
    """The checked arguments of an ``add()`` call (see :func:`check_add_args`)."""

    texts: list[str | None]
    metadatas: list[str]
    ids: list[str]
    batch_size: int


def check_add_args(
    texts: Any, metadatas: Any = None, ids: Any = None, *, batch_size: Any = 1000, on_conflict: Any = "replace"
) -> AddArgs:
    """Every check of an ``add()`` call's arguments, before anything is embedded or written.

    Stores run it first; adapters call it before they embed, so bad input costs no
    embedding call and gets the same error everywhere.

    Returns:
        The texts, the metadata as JSON text, the ids (generated where ``ids`` is ``None``)
        and the batch size.

    Raises:
        TypeError: A text, id or metadata entry of the wrong type (the message names its index).
        ValueError: Length mismatch, duplicate ids, invalid Unicode, ``batch_size`` below 1 or
            an unknown ``on_conflict``.

    Example:
        >>> check_add_args(["a", None], [{"k": 1}, None], ["1", "2"])
        AddArgs(texts=['a', None], metadatas=['{"k": 1}', '{}'], ids=['1', '2'], batch_size=1000)
        >>> check_add_args(["a"], on_conflict="merge")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: on_conflict must be one of 'replace', 'skip', 'fail', got 'merge'
    """
    items = check_store_texts(texts)
    metas = check_metadatas(metadatas, len(items))
    doc_ids = check_ids(ids, len(items))
    size = check_count(batch_size, "batch_size")
    if on_conflict not in ON_CONFLICT:
        raise ValueError(f"on_conflict must be one of {', '.join(map(repr, ON_CONFLICT))}, got {on_conflict!r}")
    return AddArgs(items, metas, doc_ids, size)


def check_field_name(field: Any) -> str:
    """A top-level metadata key for ``metadata_values``/``metadata_range``: a non-empty ``str``.

    Example:
        >>> check_field_name("year")
        'year'
    """
    check_str(field, "field")
    if not field:
        raise ValueError("field must be a non-empty metadata key")
    return str(field)
