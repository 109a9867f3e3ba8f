"""Adapting whatever embeds texts into one interface the store calls.

The store accepts an :class:`ogma.TextEncoder` (query/document asymmetry, model
id, Matryoshka dims), any :class:`ogma.types.Embedder` (``embed_documents`` /
``embed_query``), or a plain callable ``list[str] -> array`` (used for documents
and queries alike).

Example:
    >>> import numpy as np
    >>> enc = as_encoder(lambda texts: np.ones((len(texts), 3), dtype=np.float32))
    >>> enc.documents(["a", "b"]).shape, enc.query("q").shape, enc.model_id
    ((2, 3), (3,), None)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.errors import StoreError
from ogma.store.windows import ExtraWindows, split_windows

__all__ = ["StoreEncoder", "as_encoder", "model_record"]

FloatArray = npt.NDArray[np.float32]


class StoreEncoder:
    """The store's view of an encoder: documents, query, and what is known about the model.

    Args:
        documents: Embeds a list of documents into an ``(n, d)`` array.
        query: Embeds one query into a ``(d,)`` array.
        model_id: Recorded in the store file and checked on open (``None``: unknown, not checked).
        dim: The model's output dimension, if known before the first call.
        matryoshka_dims: The dims the model was trained to be truncated to.
        task_scheme: The encoder's task scheme name, if any.
        windows: Embeds a list of documents window by window: ``(vectors, owners)`` as
            :meth:`ogma.TextEncoder.encode_windows` returns them (``None``: the encoder gives
            one vector per document). Its second argument is False when only the full-width
            windows are wanted (no fine windows; what a one-vector backend averages).

    Example:
        >>> import numpy as np
        >>> StoreEncoder(lambda t: np.zeros((len(t), 2)), lambda q: np.zeros(2), model_id="m").model_id
        'm'
    """

    def __init__(
        self,
        documents: Callable[[list[str]], Any],
        query: Callable[[str], Any],
        *,
        model_id: str | None = None,
        dim: int | None = None,
        matryoshka_dims: Sequence[int] = (),
        task_scheme: str | None = None,
        windows: Callable[[list[str], bool], tuple[Any, Sequence[int]]] | None = None,
    ) -> None:
        self._documents = documents
        self._windows = windows
        self._query = query
        self.model_id = model_id
        self.dim = dim
        self.matryoshka_dims = tuple(matryoshka_dims)
        self.task_scheme = task_scheme

    def documents(self, texts: list[str]) -> FloatArray:
        """``(n, d)`` float32 document embeddings."""
        array = np.asarray(self._documents(texts), dtype=np.float32)
        if array.ndim == 1 and len(texts) == 1:
            array = array[None, :]
        if array.ndim != 2 or array.shape[0] != len(texts):
            raise ValueError(
                f"the encoder returned an array of shape {array.shape} for {len(texts)} texts; "
                "expected (number of texts, dimension)"
            )
        return array

    def windowed_documents(self, texts: list[str], *, fine: bool = True) -> tuple[FloatArray, ExtraWindows | None]:
        """Each document's first-window vector, and the other windows of long documents.

        ``fine=False`` leaves out the fine windows (full-width windows only). Encoders
        without windows give one vector per document and ``None``.
        """
        if self._windows is None:
            return self.documents(texts), None
        vectors, owners = self._windows(texts, fine)
        first, extra = split_windows(np.asarray(vectors, dtype=np.float32), owners, len(texts))
        return first, extra if extra.count else None

    def query(self, text: str) -> FloatArray:
        """``(d,)`` float32 query embedding."""
        array = np.asarray(self._query(text), dtype=np.float32)
        if array.ndim == 2 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 1:
            raise ValueError(
                f"the encoder returned an array of shape {array.shape} for one query; expected (dimension,)"
            )
        return array


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else None


def _windows_of(encoder: Any) -> Callable[[list[str], bool], tuple[Any, Sequence[int]]]:
    """``encode_windows`` with or without fine windows (an encoder without the option has none)."""
    try:
        takes_fine = "fine" in inspect.signature(encoder.encode_windows).parameters
    except (TypeError, ValueError):  # no signature to read: call it as it is
        takes_fine = False

    def windows(texts: list[str], fine: bool) -> tuple[Any, Sequence[int]]:
        if fine or not takes_fine:
            return encoder.encode_windows(texts)
        return encoder.encode_windows(texts, fine=None)

    return windows


def as_encoder(encoder: Any) -> StoreEncoder:
    """Wrap a TextEncoder, an Embedder or a plain callable.

    Raises:
        TypeError: ``encoder`` is none of those.
    """
    if isinstance(encoder, StoreEncoder):
        return encoder
    model_id = getattr(encoder, "model_id", None)
    model_id = model_id if isinstance(model_id, str) else None
    dim = _int_or_none(getattr(encoder, "dim", None))
    matryoshka = getattr(encoder, "matryoshka_dims", ()) or ()
    scheme = getattr(encoder, "task_scheme_name", None)
    scheme = scheme if isinstance(scheme, str) else None
    if hasattr(encoder, "encode_documents") and hasattr(encoder, "encode_queries"):
        return StoreEncoder(
            lambda texts: encoder.encode_documents(texts),
            lambda text: encoder.encode_queries([text])[0],
            model_id=model_id,
            dim=dim,
            matryoshka_dims=tuple(matryoshka),
            task_scheme=scheme,
            windows=_windows_of(encoder) if hasattr(encoder, "encode_windows") else None,
        )
    if hasattr(encoder, "embed_documents") and hasattr(encoder, "embed_query"):
        return StoreEncoder(
            lambda texts: encoder.embed_documents(texts),
            lambda text: encoder.embed_query(text),
            model_id=model_id,
            dim=dim,
            matryoshka_dims=tuple(matryoshka),
            task_scheme=scheme,
        )
    if callable(encoder):
        return StoreEncoder(
            lambda texts: encoder(texts), lambda text: np.asarray(encoder([text]))[0], model_id=model_id, dim=dim
        )
    raise TypeError(
        f"encoder must be an ogma.TextEncoder, an object with embed_documents/embed_query, or a callable "
        f"list[str] -> array; got {type(encoder).__name__}"
    )


def model_record(model_id: str | None, dim: int | None, task_scheme: str | None, *, origin: str) -> StoreEncoder:
    """An encoder stand-in that records a model in a new store and never encodes.

    For stores filled with vectors made elsewhere (``ogma import``, ``ogma migrate``): the
    store records ``model_id``, ``dim`` and ``task_scheme`` as if that model were given,
    so later opens are checked against it; asking it to embed raises a ``StoreError``
    that says where the vectors came from (``origin``).

    Example:
        >>> enc = model_record("org/m", 4, None, origin="imported")
        >>> enc.model_id, enc.dim
        ('org/m', 4)
        >>> enc.query("x")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ogma.errors.StoreError: this store holds vectors imported from model 'org/m': open it with that model ...
    """

    def refuse(_: Any) -> Any:
        raise StoreError(
            f"this store holds vectors {origin} from model {model_id!r}: open it with that model to embed new texts"
        )

    return StoreEncoder(refuse, refuse, model_id=model_id, dim=dim, task_scheme=task_scheme)
