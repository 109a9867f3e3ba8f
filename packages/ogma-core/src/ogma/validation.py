"""Input checks shared by the encoder, the store and the adapters.

One place says what a list of texts or ids is, what a positive count is, and what
"valid Unicode" means, so every surface raises the same error for the same mistake.

Example:
    >>> check_texts(("a", "b"))
    ['a', 'b']
    >>> check_count(5, "batch_size")
    5
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "MAX_COUNT",
    "check_count",
    "check_dim",
    "check_encode_inputs",
    "check_id_list",
    "check_str",
    "check_strings",
    "check_texts",
    "check_unicode",
    "check_unicode_texts",
    "record_id",
    "rename_arguments",
]

_SURROGATE = re.compile("[\ud800-\udfff]")
_INDEXED = re.compile(r"\b(texts|metadatas|ids|embeddings)\[(\d+)\]")

MAX_COUNT = 2**63 - 1
"""The largest count SQLite can bind (a signed 64-bit integer); larger counts are clamped to it."""


def check_strings(values: Any, name: str = "texts", *, any_iterable: bool = False) -> list[str]:
    """A list of strings, or ``TypeError`` naming the argument (and the first bad index).

    A bare ``str`` (or ``bytes``) is refused: iterating it would silently turn ``"ab"``
    into the two items ``"a"`` and ``"b"``.

    Args:
        values: The sequence to check (list, tuple, ...).
        name: The argument's name, for the message.
        any_iterable: Also accept sets, generators, ``dict.keys()`` and arrays (where order
            does not matter, or is the iteration order); a mapping is still refused.

    Returns:
        The strings as a new list.

    Raises:
        TypeError: ``values`` is a single string, not a sequence, or holds a non-string.

    Example:
        >>> check_strings("ab", "ids")
        Traceback (most recent call last):
        ...
        TypeError: ids must be a list of strings, got str (a single value); wrap it in a list: ['ab']
    """
    if isinstance(values, (str, bytes)):
        shown = repr(values[:40]) + ("..." if len(values) > 40 else "")
        raise TypeError(
            f"{name} must be a list of strings, got {type(values).__name__} (a single value); "
            f"wrap it in a list: [{shown}]"
        )
    iterable = any_iterable and isinstance(values, Iterable) and not isinstance(values, Mapping)
    if not (isinstance(values, Sequence) or iterable):
        raise TypeError(f"{name} must be a list of strings, got {type(values).__name__}")
    out = list(values)
    if all(type(value) is str for value in out):
        return out
    for index, value in enumerate(out):
        if not isinstance(value, str):
            hint = " (decode bytes first, e.g. value.decode('utf-8'))" if isinstance(value, (bytes, bytearray)) else ""
            raise TypeError(
                f"{name}[{index}] must be a str, got {type(value).__name__}{hint}; convert or drop it first"
            )
    return [value if type(value) is str else str.__str__(value) for value in out]  # str subclasses: plain str


def check_id_list(ids: Any, name: str = "ids", *, allow_none: bool = False) -> list[Any]:
    """Ids to look up, delete or write, from any iterable of valid-Unicode strings.

    The one check every surface runs on an argument that holds several ids (the store's
    ``get``/``delete``, LangChain's ``delete``/``get_by_ids``/``add_texts(ids=)``, LlamaIndex's
    ``delete_nodes``/``get_nodes``, Haystack's ``delete_documents``): a list, tuple, set,
    generator or ``dict.keys()`` is accepted; a bare ``str`` (``"ab"`` is not ``["a", "b"]``),
    ``bytes`` or a mapping is refused, and so is a non-string id.

    Args:
        ids: The ids.
        name: The argument's name, for the message (``"node_ids"``, ``"document_ids"``).
        allow_none: ``None`` entries may stand for "give this one an id".

    Returns:
        The ids as a new list.

    Raises:
        TypeError: ``ids`` is a single string, a mapping or not iterable, or holds a non-string.
        ValueError: An id is not valid Unicode.

    Example:
        >>> check_id_list({"a": 1}.keys())
        ['a']
        >>> check_id_list("ab", "node_ids")
        Traceback (most recent call last):
        ...
        TypeError: node_ids must be a list of strings, got str (a single value); wrap it in a list: ['ab']
    """
    if not allow_none or isinstance(ids, (str, bytes)):
        out: list[Any] = check_strings(ids, name, any_iterable=True)
        return check_unicode_texts(out, name)
    if not isinstance(ids, Iterable) or isinstance(ids, Mapping):
        raise TypeError(f"{name} must be a list of strings, got {type(ids).__name__}")
    out = list(ids)
    for index, value in enumerate(out):
        if value is None:
            continue
        if not isinstance(value, str):
            raise TypeError(f"{name}[{index}] must be a str or None, got {type(value).__name__}")
        check_unicode(value, f"{name}[{index}]")
    return out


def check_texts(texts: Any, name: str = "texts") -> list[str]:
    """A list of strings, or ``TypeError`` naming the first bad index (see :func:`check_strings`).

    Example:
        >>> check_texts(["x", None])
        Traceback (most recent call last):
        ...
        TypeError: texts[1] must be a str, got NoneType; convert or drop it first
    """
    return check_strings(texts, name)


def check_str(value: Any, name: str) -> str:
    """One string that is valid Unicode, or an error naming the argument.

    Raises:
        TypeError: Not a ``str``.
        ValueError: It contains a lone surrogate.

    Example:
        >>> check_str("hello", "query")
        'hello'
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    check_unicode(value, name)
    return value


def check_unicode(text: str, name: str) -> str:
    """``text`` itself, or ``ValueError`` when it holds a lone surrogate (not encodable as UTF-8).

    Such strings come from decoding bytes with ``errors="surrogateescape"`` (``os.listdir``,
    ``sys.argv`` on a non-UTF-8 file name) or from broken JSON escapes like ``"\\ud800"``.
    SQLite, tokenizers and JSON files cannot store them.

    Args:
        text: The string to check.
        name: How the caller names it in the message (``"texts[3]"``, ``"metadatas[0]['title']"``).

    Example:
        >>> check_unicode("caf\\u00e9", "query")
        'café'
        >>> check_unicode("a\\ud800", "texts[2]")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: texts[2] is not valid Unicode: it holds a lone surrogate ('\\ud800' at character 1), ...
    """
    if text.isascii():
        return text
    found = _SURROGATE.search(text)
    if found is not None:
        raise ValueError(
            f"{name} is not valid Unicode: it holds a lone surrogate ({found.group()!r} at character "
            f"{found.start()}), which cannot be encoded as UTF-8; decode the source with errors='replace' "
            "or drop the character"
        )
    return text


def check_unicode_texts(texts: list[str], name: str = "texts") -> list[str]:
    """``texts`` itself, or ``ValueError`` naming the first one that is not valid Unicode.

    Fast for the common case (all ASCII): one C-level pass.

    Example:
        >>> check_unicode_texts(["ok", "bad\\udc80"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: texts[1] is not valid Unicode: ...
    """
    if all(map(str.isascii, texts)):
        return texts
    for index, text in enumerate(texts):
        check_unicode(text, f"{name}[{index}]")
    return texts


def check_count(value: Any, name: str, *, minimum: int = 1) -> int:
    """An integer count ``>= minimum``, clamped to :data:`MAX_COUNT`.

    Args:
        value: The count.
        name: The argument's name, for the message.
        minimum: The smallest valid value (``0`` where "none" makes sense, such as ``k``).

    Returns:
        The count as a plain ``int``, at most :data:`MAX_COUNT`.

    Raises:
        TypeError: Not an integer (``bool``, ``float`` and ``str`` are refused).
        ValueError: Below ``minimum``.

    Example:
        >>> check_count(2**70, "k") == MAX_COUNT
        True
        >>> check_count(0, "batch_size")
        Traceback (most recent call last):
        ...
        ValueError: batch_size must be >= 1, got 0
    """
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    number = int(value.__index__())
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return min(number, MAX_COUNT)


def record_id(record: Mapping[str, Any], key: str = "id") -> str | None:
    """A JSON record's id as a string (``None`` when it has none): one rule for every JSONL reader.

    ``ogma index`` (:func:`iter_jsonl`) and ``ogma embed --ray``
    (:func:`ogma.distributed.read_texts`) both read ids with it. A string id is kept
    exactly as written (``"00123"`` stays ``"00123"``, ``"1e3"`` stays ``"1e3"``); a JSON
    integer becomes its decimal digits, exactly at any size (``123`` → ``"123"``); any other
    JSON value (a number with a fraction or an exponent such as ``1e3``, ``true``, an object)
    is refused, since its text cannot be kept. With ``key="id"`` BEIR's ``_id`` is read when
    there is no ``id``.

    Args:
        record: One decoded JSON object.
        key: The id's key.

    Returns:
        The id, or ``None`` when the record has none (or it is ``null``).

    Raises:
        ValueError: The id is not a string or an integer, or it is empty (the message
            names the key; the caller adds the file and line).

    Example:
        >>> record_id({"id": "00123"}), record_id({"_id": 18446744073709551617}), record_id({"text": "x"})
        ('00123', '18446744073709551617', None)
    """
    raw = record.get(key, record.get("_id")) if key == "id" else record.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        hint = ' (write it as a JSON string to keep its text, e.g. "1e3")' if isinstance(raw, float) else ""
        raise ValueError(f"{key!r} must be a string or an integer, got {type(raw).__name__} {raw!r}{hint}")
    doc_id = str(raw)
    if not doc_id.strip():
        raise ValueError(f"{key!r} is empty; give a non-empty id or leave it out")
    return doc_id


def rename_arguments(message: str, names: Mapping[str, Callable[[int], str]]) -> str:
    """A core error message with the store's argument names replaced by the caller's.

    The store's input checks name what they refuse by the argument and index of
    :meth:`ogma.Store.add` (``texts[3]``, ``metadatas[1]['when']``, ``ids[0]``,
    ``embeddings[2]``). An adapter whose users passed something else (Haystack's
    ``documents``, LlamaIndex's ``nodes``) maps each indexed name back to its own argument
    with this one function, so every surface names what its caller wrote.

    Args:
        message: The core error's message.
        names: For each core argument (``"texts"``, ``"metadatas"``, ``"ids"``,
            ``"embeddings"``), the caller's name of its ``i``-th entry.

    Returns:
        The message with every ``name[i]`` of ``names`` rewritten.

    Example:
        >>> rename_arguments("metadatas[1] is not JSON-serialisable",
        ...                  {"metadatas": lambda i: f"documents[{i}].meta"})
        'documents[1].meta is not JSON-serialisable'
    """

    def replace(found: re.Match[str]) -> str:
        rename = names.get(found.group(1))
        return found.group(0) if rename is None else rename(int(found.group(2)))

    return _INDEXED.sub(replace, message)


def check_encode_inputs(texts: Any, task: Any, precision: Any = "float32") -> tuple[list[str], bool]:
    """The texts of an encode call and whether one bare string was given; ``task`` and ``precision`` checked.

    Shared by :meth:`ogma.TextEncoder.encode`, :class:`ogma.RemoteEncoder` and the batcher.

    Raises:
        TypeError: ``texts`` is neither a string nor a list of strings.
        ValueError: An unknown task or precision, or a text that is not valid Unicode.

    Example:
        >>> check_encode_inputs("hi", "query")
        (['hi'], True)
    """
    from ogma.types import PRECISIONS, TASKS

    single = isinstance(texts, str)
    items = [check_unicode(texts, "texts")] if single else check_unicode_texts(check_texts(texts))
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    return items, single


def check_dim(dim: Any, full: int, matryoshka_dims: Sequence[int] = ()) -> None:
    """``None`` or a Matryoshka dimension in ``1..full`` (the message lists the trained dims).

    Example:
        >>> check_dim(0, 384, (384, 128))
        Traceback (most recent call last):
        ...
        ValueError: dim must be one of [384, 128] (the model outputs 384), got 0
    """
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= full):
        valid = f"one of {list(matryoshka_dims)}" if matryoshka_dims else f"1..{full}"
        raise ValueError(f"dim must be {valid} (the model outputs {full}), got {dim!r}")
