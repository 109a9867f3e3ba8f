"""Recognising the embedder a store's vectors came from.

A store records its model id when it is built with an :class:`ogma.TextEncoder`, but
framework embeddings (LangChain's, for example) often carry no id at all, and two
objects of the same class can be different models. So a store can also keep an
*embedder fingerprint* as a store setting (key ``embedder``, written once through
:meth:`~ogma.store.protocol.StoreProtocol.write_setting_once`, so it works on every backend):

* an identity: the class and whatever names the model on the object (``model_name``,
  ``model``, ``size``, ...), for messages, and as a shortcut when it names the model;
* a probe vector: the embedding of :data:`PROBE_TEXT` as a document.

:func:`check_embedder` compares an embedder with that record: equal identities that
name the model pass at once; otherwise the probe text is embedded once and the two
probe vectors must have a cosine of at least ``min_cosine``. The same model at another
precision (int8 against float32) stays above 0.99; a different model lands near 0. A
store without a record is checked against its own data instead: one stored document
is embedded again and compared with its stored vector.

Example:
    >>> import numpy as np
    >>> from ogma.store import Store
    >>> def embed(texts):
    ...     return [[len(t) % 7 + 1.0, 1.0, float(t.count("a"))] for t in texts]
    >>> store = Store(":memory:", dim=3)
    >>> _ = store.add(["banana"], ids=["b"], embeddings=embed(["banana"]))
    >>> record_fingerprint(store, fingerprint(embed, identity="toy(size=3)"))
    True
    >>> check_embedder(store, embed, identity="toy(size=3)") is None
    True
"""

from __future__ import annotations

import inspect
import itertools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ogma.errors import StoreError, StoreMismatchError

if TYPE_CHECKING:
    from ogma.store.document import Document
    from ogma.store.protocol import StoreProtocol

__all__ = [
    "DEFAULT_MIN_COSINE",
    "FINGERPRINT_KEY",
    "OGMA_MODEL_ATTRIBUTE",
    "PROBE_TEXT",
    "EmbedderFingerprint",
    "EmbedderGuard",
    "check_embedder",
    "describe_embedder",
    "fingerprint",
    "ogma_model_name",
    "read_fingerprint",
    "record_fingerprint",
    "recorded_model",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

FINGERPRINT_KEY = "embedder"
"""The configuration-record key holding the fingerprint (JSON)."""

PROBE_TEXT = "Ogma probe: the quick brown fox jumps over the lazy dog by the river in 1999."
"""The fixed text whose document embedding is the probe vector (never change it: stores keep its vector)."""

DEFAULT_MIN_COSINE = 0.9
"""Probe cosine below which two embedders count as different models."""

IDENTITY_ATTRIBUTES = ("model_id", "model_name", "model", "deployment", "dimensions", "dim", "size", "quantized")
"""Plain attributes that name an embedder's model, read without running properties."""


@dataclass(frozen=True)
class EmbedderFingerprint:
    """What a store remembers about the embedder of its vectors.

    Attributes:
        identity: Class and model-naming attributes, e.g. ``"pkg.Emb(model_name='m')"``.
        named: ``identity`` names the model (it has attributes beyond the class), so two
            equal identities mean the same model.
        probe: The unit-length document embedding of :data:`PROBE_TEXT`.
        model: The Ogma model name the embedder loads (``None`` for other embedders), so
            ``ogma search`` can embed queries with it (see :func:`ogma_model_name`).

    Example:
        >>> fp = EmbedderFingerprint("toy(size=2)", True, (0.6, 0.8))
        >>> EmbedderFingerprint.from_json(fp.to_json()) == fp
        True
    """

    identity: str
    named: bool
    probe: tuple[float, ...]
    model: str | None = None

    def to_json(self) -> str:
        """The record's JSON text."""
        record: dict[str, Any] = {"identity": self.identity, "named": self.named, "probe": list(self.probe)}
        if self.model is not None:
            record["model"] = self.model
        return json.dumps(record)

    @classmethod
    def from_json(cls, text: str) -> EmbedderFingerprint:
        """Parse a record written by :meth:`to_json`.

        Raises:
            StoreError: The record is not a fingerprint.
        """
        try:
            raw = json.loads(text)
            probe = tuple(float(x) for x in raw["probe"])
            model = raw.get("model")
            return cls(str(raw["identity"]), bool(raw["named"]), probe, None if model is None else str(model))
        except (ValueError, TypeError, KeyError) as exc:
            raise StoreError(f"the store's embedder record ({FINGERPRINT_KEY!r}) is corrupt: {exc}") from exc


def describe_embedder(embedder: Any) -> tuple[str, bool]:
    """The identity of an embedder, and whether it names the model.

    Only plain attributes are read (:func:`inspect.getattr_static`), so no property
    runs and nothing is loaded.

    Example:
        >>> class Emb:
        ...     def __init__(self):
        ...         self.model_name = "m"
        >>> describe_embedder(Emb())[0].endswith("Emb(model_name='m')")
        True
    """
    cls = type(embedder)
    params: list[str] = []
    for name in IDENTITY_ATTRIBUTES:
        value = inspect.getattr_static(embedder, name, None)
        if isinstance(value, (str, int, float)) and not (isinstance(value, str) and not value):
            params.append(f"{name}={value!r}")
    return f"{cls.__module__}.{cls.__qualname__}({', '.join(params)})", bool(params)


def _unit(vector: Any) -> FloatArray:
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def _embed_one(embed_documents: Callable[[list[str]], Any], text: str) -> FloatArray:
    rows = np.asarray(embed_documents([text]), dtype=np.float32)
    return _unit(rows[0] if rows.ndim == 2 else rows)


def _prefix_cosine(a: Sequence[float] | FloatArray, b: Sequence[float] | FloatArray) -> float:
    """Cosine of the common leading dimensions."""
    n = min(len(a), len(b))
    return float(_unit(np.asarray(a, dtype=np.float32)[:n]) @ _unit(np.asarray(b, dtype=np.float32)[:n]))


def fingerprint(
    embed_documents: Callable[[list[str]], Any], *, identity: str, named: bool = True, model: str | None = None
) -> EmbedderFingerprint:
    """Embed :data:`PROBE_TEXT` once and build the fingerprint.

    Example:
        >>> fingerprint(lambda texts: [[3.0, 4.0]], identity="toy").probe
        (0.6000000238418579, 0.800000011920929)
    """
    probe = _embed_one(embed_documents, PROBE_TEXT)
    return EmbedderFingerprint(identity, named, tuple(float(x) for x in probe), model)


OGMA_MODEL_ATTRIBUTE = "ogma_model_attribute"
"""Class attribute by which an Ogma embedder names the attribute that holds its model name."""


def ogma_model_name(embedder: Any) -> str | None:
    """The Ogma model name an embedder loads, when it is one of Ogma's own embedders.

    Ogma's embedders (LangChain's ``OgmaEmbeddings``, LlamaIndex's ``OgmaEmbedding``,
    Haystack's ``OgmaDocumentEmbedder``/``OgmaTextEmbedder``) declare, in the class
    attribute :data:`OGMA_MODEL_ATTRIBUTE`, which attribute holds their model name; it is
    read without running properties. Other embedders give ``None``: their model is not
    one :class:`ogma.TextEncoder` can load by that name.

    Example:
        >>> class Emb:
        ...     ogma_model_attribute = "model_name"
        ...     def __init__(self):
        ...         self.model_name = "all-MiniLM-L6-v2"
        >>> ogma_model_name(Emb()), ogma_model_name(object())
        ('all-MiniLM-L6-v2', None)
    """
    attribute = inspect.getattr_static(type(embedder), OGMA_MODEL_ATTRIBUTE, None)
    if not isinstance(attribute, str):
        return None
    value = inspect.getattr_static(embedder, attribute, None)
    return value if isinstance(value, str) and value else None


def recorded_model(store: StoreProtocol) -> str | None:
    """The embedding model a store records: its configured model id, else its fingerprint's Ogma model.

    A store built by ``ogma index`` (or with a :class:`ogma.TextEncoder`) records the model
    id; one written through an adapter with an Ogma embedder records the model in its
    embedder fingerprint. ``ogma search`` embeds queries with this model.

    Example:
        >>> from ogma.store import Store
        >>> recorded_model(Store(":memory:")) is None
        True
    """
    model_id = _model_id(store)
    if model_id:
        return model_id
    stored = read_fingerprint(store)
    return None if stored is None else stored.model


class EmbedderGuard:
    """The embedder check every adapter runs: compare with the store's record once, record on the first write.

    LangChain's vector store owns its embedder; LlamaIndex's and Haystack's stores receive
    vectors computed elsewhere, so they take the embedder as an option and pass it here.
    Either way the same three steps run, on every backend (the record is a store setting):

    * :meth:`check` — once per store: raise :class:`~ogma.errors.StoreMismatchError`
      (naming both embedders) when the store's vectors came from another model
      (see :func:`check_embedder`);
    * :meth:`recorded` — after a write: record the fingerprint if the store has none.

    Args:
        embedder: The embedder object (for its identity; nothing is run to describe it).
        embed_documents: Its document-embedding function (texts → vectors), run only when a
            probe is needed.
        fix: Advice appended to a mismatch error.
        embed_stored: How the embedder embeds a stored document (see :func:`check_embedder`).

    Example:
        >>> from ogma.store import Store
        >>> class Toy:
        ...     size = 2
        ...     def embed_documents(self, texts):
        ...         return [[1.0, float(len(t))] for t in texts]
        >>> toy = Toy()
        >>> store = Store(":memory:")
        >>> guard = EmbedderGuard(toy, toy.embed_documents)
        >>> guard.check(store)
        >>> _ = store.add(["a"], ids=["a"], embeddings=toy.embed_documents(["a"]))
        >>> guard.recorded(store)
        >>> read_fingerprint(store).identity.endswith("Toy(size=2)")
        True
    """

    def __init__(
        self,
        embedder: Any,
        embed_documents: Callable[[list[str]], Any],
        *,
        fix: str = "",
        embed_stored: Callable[[Document], Any] | None = None,
    ) -> None:
        self.identity, self.named = describe_embedder(embedder)
        self.model = ogma_model_name(embedder)
        self.embed_documents = embed_documents
        self.embed_stored = embed_stored
        self.fix = fix
        self._checked = False
        self._record = True

    def check(self, store: StoreProtocol) -> None:
        """Raise if the store's vectors came from another embedder (runs once; later calls return at once).

        Raises:
            StoreMismatchError: Naming the recorded embedder and this one.
        """
        if self._checked:
            return
        self._record = read_fingerprint(store) is None
        check_embedder(
            store,
            self.embed_documents,
            identity=self.identity,
            named=self.named,
            fix=self.fix,
            embed_stored=self.embed_stored,
        )
        self._checked = True

    def recorded(self, store: StoreProtocol) -> None:
        """After a write: record this embedder's fingerprint if the store has none yet."""
        if not self._record:
            return
        record_fingerprint(
            store, fingerprint(self.embed_documents, identity=self.identity, named=self.named, model=self.model)
        )
        self._record = False


def read_fingerprint(store: StoreProtocol) -> EmbedderFingerprint | None:
    """The store's recorded fingerprint (its :data:`FINGERPRINT_KEY` setting), or ``None``."""
    text = store.read_setting(FINGERPRINT_KEY)
    return None if text is None else EmbedderFingerprint.from_json(text)


def record_fingerprint(store: StoreProtocol, fp: EmbedderFingerprint) -> bool:
    """Record ``fp`` unless the store has a fingerprint already (the first one stands).

    Returns:
        Whether this call wrote it.
    """
    return store.write_setting_once(FINGERPRINT_KEY, fp.to_json())


def _store_name(store: Any) -> str:
    """How messages name a store: its path or URI when it has one, else its repr."""
    for attribute in ("path", "uri"):
        value = getattr(store, attribute, None)
        if isinstance(value, str) and value:
            return repr(value)
    return repr(store)


def _model_id(store: Any) -> str | None:
    model_id = getattr(getattr(store, "config", None), "model_id", None)
    return model_id if isinstance(model_id, str) else None


def check_embedder(
    store: StoreProtocol,
    embed_documents: Callable[[list[str]], Any],
    *,
    identity: str,
    named: bool = True,
    min_cosine: float = DEFAULT_MIN_COSINE,
    fix: str = "",
    embed_stored: Callable[[Document], Any] | None = None,
) -> float | None:
    """Raise if ``embed_documents`` is not the model the store's vectors came from.

    With a recorded fingerprint: an equal identity that names the model passes without
    embedding anything; otherwise :data:`PROBE_TEXT` is embedded once and compared with
    the recorded probe. Without one, the first stored document is embedded again and
    compared with its stored vector. An empty store passes.

    Args:
        store: The open store.
        embed_documents: The embedder's document function.
        identity: The embedder's identity (see :func:`describe_embedder`).
        named: ``identity`` names the model.
        min_cosine: The least cosine that counts as the same model.
        fix: Extra advice appended to the error message.
        embed_stored: How the embedder embeds a stored document, when it reads more than
            its text (LlamaIndex embeds a node's metadata with its text, Haystack's embedders
            chosen meta fields): used for the check against stored data instead of embedding
            the text alone.

    Returns:
        The cosine that was measured, or ``None`` when nothing had to be embedded.

    Raises:
        StoreMismatchError: Naming both embedders, the cosine and the fix.
    """
    stored = read_fingerprint(store)
    if stored is not None:
        if named and stored.named and stored.identity == identity:
            return None
        current = _embed_one(embed_documents, PROBE_TEXT)
        cosine = _prefix_cosine(stored.probe, current) if len(current) == len(stored.probe) else 0.0
        evidence = (
            f"the probe text embeds to {len(current)}-d, against the recorded {len(stored.probe)}-d, "
            f"with cosine {cosine:.3f}"
        )
        recorded = stored.identity
    else:
        documents = itertools.islice(store.iter_documents(batch_size=64, include_embeddings=True), 1000)
        sample = next((d for d in documents if d.embedding is not None and d.text is not None), None)
        if sample is None or sample.embedding is None or sample.text is None:
            return None
        current = _embed_one(embed_documents, sample.text) if embed_stored is None else _unit(embed_stored(sample))
        # A Matryoshka store keeps the leading dims of the model's vectors: compare those.
        cosine = _prefix_cosine(sample.embedding, current) if len(current) >= len(sample.embedding) else 0.0
        evidence = (
            f"document {sample.id!r} embeds to {len(current)}-d, against {len(sample.embedding)}-d stored, "
            f"with cosine {cosine:.3f}"
        )
        model_id = _model_id(store)
        recorded = f"model id {model_id!r}" if model_id else "an unrecorded embedder"
    if cosine < min_cosine:
        raise StoreMismatchError(
            f"{_store_name(store)} holds vectors made by {recorded}, but the embeddings given are {identity}: "
            f"{evidence} (at least {min_cosine} for the same model). Open the store with the embeddings it was "
            f"built with, or use a new store for these embeddings.{' ' + fix if fix else ''}"
        )
    logger.debug("embedder check passed for %s: %s", _store_name(store), evidence)
    return cosine
