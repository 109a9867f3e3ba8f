"""Cross-encoder reranking with ONNX Runtime.

A cross-encoder reads the query and one candidate document together and returns a
relevance logit. It is far more precise than comparing two embeddings, and far slower,
so it is used as a second stage: a first-stage search returns a few dozen candidates
and the :class:`Reranker` reorders them.

Scores:
    * :meth:`Reranker.score` returns the raw logits, in input order.
    * :meth:`Reranker.rerank` adds a normalised score in ``[0, 1]`` (``"sigmoid"`` by
      default, or the ``"linear"`` rescale of a fixed logit range, clipped) and, when
      first-stage scores and ``alpha`` are given, a blended score (:func:`blend_scores`).

Blending (the default of ``Store.search(rerank=...)``) is defined in :mod:`ogma.blend`, and its
names are re-exported here: the cross-encoder side is the linear rescale of the logit whatever
``normalize``, which only sets the reported ``score``.

Classifiers with several output logits (``num_labels > 1``) are reduced to one raw
score per pair: the log-odds of the LAST class against all the others,
``logit[-1] - logsumexp(logit[:-1])``. For the usual two-class relevance head this is
``logit[1] - logit[0]``, and its sigmoid is exactly the softmax probability of class 1.

Example:
    >>> from ogma.rerank import linear_rescale
    >>> linear_rescale([-12.0, -3.0, 6.0, 9.0]).tolist()
    [0.0, 0.5, 1.0, 1.0]
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding, Tokenizer

from ogma.blend import (
    DEFAULT_LINEAR_RANGE,
    DEFAULT_RERANK_ALPHA,
    FirstStageKind,
    blend_scores,
    first_stage_for_blend,
    first_stage_relevance,
    is_blend,
    linear_rescale,
)
from ogma.errors import ModelFileError, ModelNotFoundError
from ogma.hub import ResolvedModel, check_model_name, resolve_model
from ogma.model_config import position_limit, read_json_object
from ogma.registry import CrossEncoderSpec, get_cross_encoder_spec
from ogma.runtime import create_session
from ogma.tokenize import plan_batches
from ogma.validation import check_unicode

if TYPE_CHECKING:
    import onnxruntime as ort

__all__ = [
    "DEFAULT_LINEAR_RANGE",
    "DEFAULT_RERANKER",
    "DEFAULT_RERANK_ALPHA",
    "FirstStageKind",
    "Normalize",
    "RerankResult",
    "Reranker",
    "blend_scores",
    "first_stage_for_blend",
    "first_stage_relevance",
    "is_blend",
    "linear_rescale",
    "rerank_scored",
    "reranker_argument",
    "sigmoid",
]

logger = logging.getLogger(__name__)

Normalize = Literal["sigmoid", "linear", "none"]
"""How raw cross-encoder logits are mapped to the ``score`` of a :class:`RerankResult`."""

NORMALIZE_OPTIONS: tuple[Normalize, ...] = get_args(Normalize)
DEFAULT_RERANKER = "cross-encoder/ms-marco-MiniLM-L-6-v2"
_FALLBACK_MAX_LENGTH = 512
_MAX_QUERY_RESERVE = 64

FloatArray = npt.NDArray[np.float32]


def sigmoid(scores: npt.ArrayLike) -> FloatArray:
    """The logistic function, computed without overflow.

    Example:
        >>> sigmoid([0.0]).tolist()
        [0.5]
    """
    x = np.asarray(scores, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out.astype(np.float32)


@dataclass(frozen=True)
class RerankResult:
    """One reranked candidate.

    Attributes:
        index: Position of the document in the list passed to :meth:`Reranker.rerank`.
        document: The document text.
        score: The normalised cross-encoder score (see ``normalize``).
        raw_score: The raw cross-encoder logit.
        blended_score: :func:`blend_scores` of the logit and the first-stage score when
            first-stage scores and a blending ``alpha`` (below 1) were given, else ``None``.

    Example:
        >>> r = RerankResult(index=2, document="Paris", score=0.9, raw_score=2.2)
        >>> r.final_score
        0.9
    """

    index: int
    document: str
    score: float
    raw_score: float
    blended_score: float | None = None

    @property
    def final_score(self) -> float:
        """The score results are ranked by: the blended score when present, else ``score``."""
        return self.score if self.blended_score is None else self.blended_score


class Reranker:
    """An ONNX cross-encoder that scores and reorders (query, document) pairs.

    Args:
        model: A hub id (``"cross-encoder/ms-marco-MiniLM-L-6-v2"``), a short name, or a
            local folder holding ``model.onnx`` (or ``onnx/model.onnx``) and ``tokenizer.json``.
        device: ``"cpu"`` or ``"cuda"`` (falls back to CPU with a warning).
        threads: ONNX Runtime intra-op threads; ``None`` uses all cores.
        quantized: Use an int8 model: a shipped int8 file when there is one, else the fp32
            file is quantized (dynamic int8) once and cached next to it.
        max_length: Token window per pair; defaults to the model's own limit.
        batch_size: Pairs per ONNX Runtime call. With a dynamically quantized (int8) model a
            pair's score moves slightly with its batch-mates (activations share one scale per
            batch); ``1`` makes every score independent of the others, at some speed cost
            (``docs/benchmarks.md`` measures both).
        normalize: ``"sigmoid"`` (default), ``"linear"`` (rescale of ``linear_range``,
            clipped) or ``"none"`` (raw logits).
        linear_range: ``(low, high)`` logits mapped to 0 and 1 by ``normalize="linear"``.
        cache_dir: Hub cache folder (for hub ids).
        local_files_only: Never contact the hub (for hub ids); ``None`` uses the default.

    Raises:
        ModelNotFoundError: ``model`` is neither a usable local folder nor resolvable.
        ModelFileError: The folder lacks the ONNX model or ``tokenizer.json``, a config file is
            corrupt, or the model is not a cross-encoder (its output is not one logit per
            pair, e.g. an embedding model); the message names the folder.
        ValueError: An option has an invalid value.

    Example:
        >>> reranker = Reranker(model_dir)  # doctest: +SKIP
        >>> [r.index for r in reranker.rerank("capital of France", ["Berlin", "Paris"])]  # doctest: +SKIP
        [1, 0]
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_RERANKER,
        *,
        device: str = "cpu",
        threads: int | None = None,
        quantized: bool = False,
        max_length: int | None = None,
        batch_size: int = 32,
        normalize: Normalize = "sigmoid",
        linear_range: tuple[float, float] = DEFAULT_LINEAR_RANGE,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool | None = None,
    ) -> None:
        _check_options(batch_size=batch_size, normalize=normalize, linear_range=linear_range, max_length=max_length)
        check_model_name(model)
        name = os.fspath(model)
        spec = get_cross_encoder_spec(name)
        resolved = resolve_model(
            spec.model_id if spec is not None else name,
            kind="cross-encoder",
            quantized=quantized,
            cache_dir=None if cache_dir is None else os.fspath(cache_dir),
            local_files_only=local_files_only,
        )
        self._setup(
            resolved,
            spec=spec,
            device=device,
            threads=threads,
            quantized=quantized,
            max_length=max_length,
            batch_size=batch_size,
            normalize=normalize,
            linear_range=linear_range,
        )

    @classmethod
    def from_folder(
        cls,
        folder: str | os.PathLike[str],
        *,
        device: str = "cpu",
        threads: int | None = None,
        quantized: bool = False,
        max_length: int | None = None,
        batch_size: int = 32,
        normalize: Normalize = "sigmoid",
        linear_range: tuple[float, float] = DEFAULT_LINEAR_RANGE,
    ) -> Reranker:
        """Open an already-resolved model folder, without any hub lookup.

        Args:
            folder: Holds ``model.onnx`` or ``onnx/model.onnx`` and ``tokenizer.json``.
            device: See :class:`Reranker`.
            threads: See :class:`Reranker`.
            quantized: See :class:`Reranker`.
            max_length: See :class:`Reranker`.
            batch_size: See :class:`Reranker`.
            normalize: See :class:`Reranker`.
            linear_range: See :class:`Reranker`.

        Example:
            >>> reranker = Reranker.from_folder("models/my-cross-encoder", threads=2)  # doctest: +SKIP
        """
        _check_options(batch_size=batch_size, normalize=normalize, linear_range=linear_range, max_length=max_length)
        path = Path(folder)
        if not path.is_dir():
            raise ModelNotFoundError(f"Cross-encoder folder not found: {path}. Pass an existing folder.")
        reranker = cls.__new__(cls)
        reranker._setup(
            resolve_model(path, kind="cross-encoder", quantized=quantized),
            spec=None,
            device=device,
            threads=threads,
            quantized=quantized,
            max_length=max_length,
            batch_size=batch_size,
            normalize=normalize,
            linear_range=linear_range,
        )
        return reranker

    def _setup(
        self,
        resolved: ResolvedModel,
        *,
        spec: CrossEncoderSpec | None,
        device: str,
        threads: int | None,
        quantized: bool,
        max_length: int | None,
        batch_size: int,
        normalize: Normalize,
        linear_range: tuple[float, float],
    ) -> None:
        folder, onnx_file, model_id = resolved.folder, resolved.onnx_path, resolved.model_id
        self.model_id = model_id
        self.folder = folder
        self.batch_size = batch_size
        self.normalize: Normalize = normalize
        self.linear_range = (float(linear_range[0]), float(linear_range[1]))
        self.quantized = quantized
        self.onnx_path = onnx_file
        self._session: ort.InferenceSession = create_session(onnx_file, device=device, threads=threads)
        self._tokenizer = _load_tokenizer(folder)
        self.max_length = _model_max_length(folder, spec, onnx_file, max_length)
        self._num_special = self._tokenizer.num_special_tokens_to_add(True)
        if self.max_length <= self._num_special:
            raise ValueError(
                f"max_length must leave room for the query and document beyond the {self._num_special} "
                f"special tokens, got {self.max_length}; use at least {self._num_special + 2}"
            )
        self._pad_id = _pad_id(self._tokenizer)
        inputs = {i.name: i.type for i in self._session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - inputs.keys()
        if missing:
            raise ModelFileError(
                f"{onnx_file} is not a BERT-style cross-encoder: it lacks the input(s) {sorted(missing)} "
                f"(has {sorted(inputs)}). Convert the checkpoint with ogma.convert."
            )
        unknown = set(inputs) - {"input_ids", "attention_mask", "token_type_ids"}
        if unknown:
            why = f"its graph needs inputs a cross-encoder does not have: {sorted(unknown)}"
            raise _not_a_cross_encoder(folder, onnx_file, why)
        self._input_types = {name: (np.int32 if kind == "tensor(int32)" else np.int64) for name, kind in inputs.items()}
        self._output = _classifier_output(self._session, folder, onnx_file)
        self._check_one_score_per_pair()
        logger.debug("Reranker %s: %s, max_length=%d", model_id, onnx_file, self.max_length)

    def _check_one_score_per_pair(self) -> None:
        """Run two tiny pairs once: the output must be one logit (or one row of class logits) per pair."""
        pairs = self._encode_pairs("a", ["b", "c d"])
        logits = self._run_batch(pairs, max(len(p.ids) for p in pairs), reduce=False)
        labels = _config_num_labels(self.folder)
        width = 1 if logits.ndim == 1 else int(np.prod(logits.shape[1:]))
        if logits.shape[:1] == (2,) and (width == 1 or (logits.ndim == 2 and width == labels)):
            return
        raise _not_a_cross_encoder(self.folder, self.onnx_path, f"its output {self._output!r} has shape {logits.shape}")

    def __repr__(self) -> str:
        return (
            f"Reranker({self.model_id!r}, quantized={self.quantized}, max_length={self.max_length}, "
            f"normalize={self.normalize!r})"
        )

    # ------------------------------------------------------------------ scoring

    def score(
        self,
        query: str,
        documents: Sequence[str],
        *,
        show_progress: bool | None = False,
    ) -> FloatArray:
        """Raw cross-encoder logits for ``(query, document)`` pairs, in input order.

        Pairs are tokenised as ``[CLS] query [SEP] document [SEP]``; only the document
        is truncated to fit ``max_length`` (a query too long to leave room for the
        document is cut with a warning). Pairs are sorted by length and batched so
        each batch is padded only to its own longest pair (see :func:`ogma.tokenize.plan_batches`),
        the query is tokenised once, and duplicate documents are scored once.

        Args:
            query: The search query.
            documents: Candidate texts.
            show_progress: Show a progress bar (``None``: when stderr is a terminal).

        Returns:
            A float32 array of shape ``(len(documents),)``; empty for no documents.

        Raises:
            TypeError: ``query`` is not a string, ``documents`` is not a list of strings, or a
                document is not a string (the message names its index).
            ValueError: The query or a document is not valid Unicode (a lone surrogate).

        Example:
            >>> reranker.score("capital of France", ["Paris is the capital", "Bananas"])  # doctest: +SKIP
            array([ 8.1, -11.2], dtype=float32)
        """
        docs = _check_inputs(query, documents)
        if not docs:
            return np.zeros(0, dtype=np.float32)
        unique: dict[str, int] = {}
        positions = [unique.setdefault(doc, len(unique)) for doc in docs]
        scores = self._score_unique(query, list(unique), show_progress=show_progress)
        return scores[np.asarray(positions, dtype=np.int64)]

    def normalize_scores(self, raw: npt.ArrayLike) -> FloatArray:
        """Apply this reranker's ``normalize`` option to raw logits.

        Example:
            >>> reranker.normalize_scores([0.0])  # doctest: +SKIP
            array([0.5], dtype=float32)
        """
        if self.normalize == "sigmoid":
            return sigmoid(raw)
        if self.normalize == "linear":
            return linear_rescale(raw, low=self.linear_range[0], high=self.linear_range[1])
        return np.asarray(raw, dtype=np.float32)

    def rerank(
        self,
        query: str,
        documents: Sequence[str],
        top_k: int | None = None,
        *,
        first_stage_scores: Sequence[float] | npt.ArrayLike | None = None,
        alpha: float | None = None,
        show_progress: bool | None = False,
    ) -> list[RerankResult]:
        """Score and sort candidates, best first.

        Args:
            query: The search query.
            documents: Candidate texts (e.g. the first-stage hits).
            top_k: Keep this many results (``None``: all; larger than the list: all).
            first_stage_scores: One score per document from the first stage, already on
                a ``[0, 1]`` scale (e.g. cosine similarity; :func:`first_stage_relevance`
                puts BM25 there); needs ``alpha``.
            alpha: Weight of the cross-encoder in the blend
                ``alpha * linear_rescale(logit) + (1 - alpha) * first_stage``
                (:func:`blend_scores`, whatever ``normalize``; :data:`DEFAULT_RERANK_ALPHA`
                had the best worst case over five sets in docs/benchmarks.md); ``1.0``
                ranks by the cross-encoder alone; needs ``first_stage_scores``.
            show_progress: Show a progress bar (``None``: when stderr is a terminal).

        Returns:
            Results sorted by ``final_score`` descending; ties by raw score, then input order.

        Raises:
            TypeError: A non-string query or document, or ``documents`` is a single string.
            ValueError: Bad ``top_k``, ``alpha`` or ``first_stage_scores``, or a text that is
                not valid Unicode.

        Example:
            >>> best = reranker.rerank("capital of France", ["Bananas", "Paris"], top_k=1)  # doctest: +SKIP
            >>> best[0].index, best[0].document  # doctest: +SKIP
            (1, 'Paris')
        """
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
            raise ValueError(f"top_k must be None or a non-negative integer, got {top_k!r}")
        docs = _check_inputs(query, documents)
        first = _check_blend(first_stage_scores, alpha, len(docs))
        raw = self.score(query, docs, show_progress=show_progress)
        norm = self.normalize_scores(raw)
        blended = (
            blend_scores(raw, first, alpha, linear_range=self.linear_range)
            if first is not None and alpha is not None and is_blend(alpha)
            else None
        )
        final = norm.astype(np.float64) if blended is None else blended
        order = sorted(range(len(raw)), key=lambda i: (-final[i], -float(raw[i]), i))
        if top_k is not None:
            order = order[:top_k]
        return [
            RerankResult(
                index=i,
                document=docs[i],
                score=float(norm[i]),
                raw_score=float(raw[i]),
                blended_score=None if blended is None else float(blended[i]),
            )
            for i in order
        ]

    # ------------------------------------------------------------------ internals

    def _encode_pairs(self, query: str, documents: list[str]) -> list[Encoding]:
        tok = self._tokenizer
        query_enc = tok.encode(query, add_special_tokens=False)
        room = self.max_length - self._num_special
        reserve = min(_MAX_QUERY_RESERVE, room // 2)
        query_budget = room - reserve
        if len(query_enc.ids) > query_budget:
            logger.warning(
                "The query is %d tokens long, too long for the %d-token window of %s; it is cut to %d tokens "
                "to leave %d for each document.",
                len(query_enc.ids),
                self.max_length,
                self.model_id,
                query_budget,
                reserve,
            )
            query_enc.truncate(query_budget)
        doc_budget = room - len(query_enc.ids)
        pairs = []
        for doc_enc in tok.encode_batch(documents, add_special_tokens=False):
            if len(doc_enc.ids) > doc_budget:
                doc_enc.truncate(doc_budget)
            pairs.append(tok.post_process(query_enc, doc_enc, add_special_tokens=True))
        return pairs

    def _score_unique(self, query: str, documents: list[str], *, show_progress: bool | None) -> FloatArray:
        if query == "":
            logger.warning("Reranking with an empty query: the scores carry no query information.")
        pairs = self._encode_pairs(query, documents)
        lengths = np.fromiter((len(p.ids) for p in pairs), dtype=np.int64, count=len(pairs))
        out = np.empty(len(pairs), dtype=np.float32)
        batches = plan_batches(lengths, batch_size=self.batch_size)
        for idx in _progress(batches, show_progress=show_progress, desc="Reranking"):
            batch = [pairs[i] for i in idx]
            out[idx] = self._run_batch(batch, int(lengths[idx].max()))
        return out

    def _run_batch(self, batch: list[Encoding], width: int, *, reduce: bool = True) -> FloatArray:
        ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        types = np.zeros((len(batch), width), dtype=np.int64)
        for row, enc in enumerate(batch):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
            types[row, :n] = enc.type_ids
        arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feed = {
            name: arrays[name].astype(dtype, copy=False) for name, dtype in self._input_types.items() if name in arrays
        }
        (logits,) = self._session.run([self._output], feed)
        out = np.asarray(logits, dtype=np.float32)
        return _reduce_logits(out, len(batch)) if reduce else out


# ---------------------------------------------------------------------- helpers


def rerank_scored(
    reranker: Any,
    query: str,
    documents: Sequence[str],
    scores: Sequence[object],
    *,
    alpha: float | None = DEFAULT_RERANK_ALPHA,
    explicit: bool = False,
    top_k: int | None = None,
    **options: Any,
) -> list[Any]:
    """Rerank documents that may carry first-stage scores: the frameworks' rerankers call this.

    It blends when :func:`first_stage_for_blend` says the scores can be blended and the
    reranker can blend (it has a ``linear_range``, as :class:`Reranker` does); otherwise it
    ranks by the cross-encoder alone. Results are :class:`RerankResult` (``final_score`` is
    what they are ranked by).

    Args:
        reranker: A :class:`Reranker` (or any object with ``rerank(query, documents, top_k)``).
        query: The query.
        documents: The texts.
        scores: One first-stage score per document (``None`` where there is none).
        alpha: The blend weight (``None`` or ``1``: the cross-encoder alone).
        explicit: ``alpha`` was asked for: scores that cannot be blended raise ``ValueError``.
        top_k: Keep this many results.
        **options: Passed to ``reranker.rerank`` (e.g. ``show_progress``).

    Example:
        >>> results = rerank_scored(reranker, "capital of France", ["Paris", "Rome"], [0.8, 0.7])  # doctest: +SKIP
    """
    blends = getattr(reranker, "linear_range", None) is not None
    first = first_stage_for_blend(scores, alpha, explicit=explicit and blends) if blends else None
    if first is None:
        return list(reranker.rerank(query, documents, top_k=top_k, **options))
    return list(reranker.rerank(query, documents, top_k=top_k, first_stage_scores=first, alpha=alpha, **options))


def reranker_argument(
    reranker: object, model: str, *, model_arg: str = "model", default_model: str = DEFAULT_RERANKER
) -> tuple[Any, str]:
    """The adapters' ``reranker=`` argument: a loaded cross-encoder, or a model name or folder.

    LangChain's ``OgmaReranker`` and LlamaIndex's ``OgmaRerank`` take both ``reranker=`` (an
    object) and a model option; this one rule decides what a given ``reranker`` means, at
    construction (not at the first query): ``None`` keeps the model option; a ``str`` or
    path names the model to load (as the model option would); an object needs a callable
    ``rerank`` method (:class:`Reranker` has it).

    Args:
        reranker: The ``reranker=`` value.
        model: The model option's value.
        model_arg: The model option's name, for messages.
        default_model: The model option's default (a name given twice is only refused when
            the model option was changed too).

    Returns:
        ``(loaded, model)``: the object to use (``None``: load ``model``) and the model name.

    Raises:
        TypeError: ``reranker`` is neither ``None``, a name or path, nor an object with ``rerank``.
        ValueError: ``reranker`` names one model and ``model_arg`` another.

    Example:
        >>> reranker_argument("cross-encoder/ms-marco-TinyBERT-L-2-v2", DEFAULT_RERANKER)
        (None, 'cross-encoder/ms-marco-TinyBERT-L-2-v2')
        >>> reranker_argument(3, DEFAULT_RERANKER)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: reranker must be a loaded ogma.Reranker (...), a model name or a folder path; got int 3
    """
    if reranker is None:
        return None, model
    if isinstance(reranker, str | os.PathLike):
        name = os.fspath(reranker)
        if not name:
            raise ValueError("reranker is an empty string; give a cross-encoder name or folder, or leave it None")
        if model not in (default_model, name):
            raise ValueError(
                f"reranker={name!r} and {model_arg}={model!r} name two cross-encoders; give one of them "
                f"(a name or folder in {model_arg}=, or a loaded ogma.Reranker in reranker=)"
            )
        return None, name
    if not callable(getattr(reranker, "rerank", None)):
        raise TypeError(
            "reranker must be a loaded ogma.Reranker (or an object with the same rerank(query, texts, ...) method), "
            f"a model name or a folder path; got {type(reranker).__name__} {reranker!r:.80}"
        )
    return reranker, model


def _check_options(
    *,
    batch_size: int,
    normalize: str,
    linear_range: tuple[float, float],
    max_length: int | None,
) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if normalize not in NORMALIZE_OPTIONS:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZE_OPTIONS)}; got {normalize!r}")
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1):
        raise ValueError(f"max_length must be None or a positive integer, got {max_length!r}")
    if len(linear_range) != 2 or not float(linear_range[1]) > float(linear_range[0]):
        raise ValueError(f"linear_range must be (low, high) with high > low, got {linear_range!r}")


def _check_inputs(query: object, documents: object) -> list[str]:
    if not isinstance(query, str):
        raise TypeError(f"query must be a string, got {type(query).__name__}")
    check_unicode(query, "query")
    if isinstance(documents, str | bytes) or not isinstance(documents, Sequence):
        raise TypeError(
            f"documents must be a list of strings, got {type(documents).__name__}; wrap a single document in a list"
        )
    for i, doc in enumerate(documents):
        if not isinstance(doc, str):
            raise TypeError(f"documents[{i}] must be a string, got {type(doc).__name__}; drop or convert it")
        check_unicode(doc, f"documents[{i}]")
    return list(documents)


def _check_blend(first_stage: object, alpha: float | None, n_docs: int) -> npt.NDArray[np.float64] | None:
    if first_stage is None and alpha is None:
        return None
    if first_stage is None:
        raise ValueError("alpha was given without first_stage_scores; pass both to blend, or neither")
    if alpha is None:
        raise ValueError("first_stage_scores were given without alpha; pass alpha in [0, 1] (e.g. alpha=0.6)")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    try:
        values = np.asarray(first_stage, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError("first_stage_scores must be a list of numbers, one per document") from exc
    if values.shape[0] != n_docs:
        raise ValueError(
            f"first_stage_scores has {values.shape[0]} values but there are {n_docs} documents; pass one per document"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("first_stage_scores must be finite numbers (found NaN or infinity)")
    return values


_EMBEDDING_OUTPUTS = frozenset({"last_hidden_state", "sentence_embedding", "token_embeddings", "pooler_output"})
_ENCODER_ONLY_SUFFIXES = ("Model", "ForMaskedLM", "ForPreTraining", "ForCausalLM", "ForTokenClassification")


def _not_a_cross_encoder(folder: Path, onnx_file: Path, why: str) -> ModelFileError:
    return ModelFileError(
        f"{folder} is not a cross-encoder: {why} (model file {onnx_file.name}). A reranker needs a sequence "
        "classifier whose ONNX output is one relevance logit per (query, document) pair, shape [batch, 1] "
        "or [batch] (e.g. cross-encoder/ms-marco-MiniLM-L-6-v2). Embedding models belong in "
        "ogma.TextEncoder, not ogma.Reranker."
    )


def _config_num_labels(folder: Path) -> int | None:
    config = _read_json(folder / "config.json")
    labels = config.get("num_labels")
    if isinstance(labels, int) and not isinstance(labels, bool):
        return labels
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        return len(id2label)
    architectures = config.get("architectures")
    if isinstance(architectures, list) and any(
        isinstance(a, str) and a.endswith("ForSequenceClassification") for a in architectures
    ):
        return 2  # transformers leaves its default of two labels out of config.json
    return None


def _classifier_output(session: ort.InferenceSession, folder: Path, onnx_file: Path) -> str:
    """The name of the logits output, or ``ModelFileError`` when the graph is not a sequence classifier.

    Refuses graphs whose output is token states or sentence embeddings (by name or by rank), a static
    width other than one that ``config.json`` does not declare as its number of labels, and folders whose
    ``config.json`` names only a bare encoder architecture (``BertModel``, ``XLMRobertaModel``, ...).
    """
    outputs = {o.name: o for o in session.get_outputs()}
    name = "logits" if "logits" in outputs else next(iter(outputs))
    shape = list(outputs[name].shape)
    if name in _EMBEDDING_OUTPUTS:
        raise _not_a_cross_encoder(folder, onnx_file, f"its output is {name!r} {shape}, an embedding")
    if len(shape) not in (1, 2):
        raise _not_a_cross_encoder(folder, onnx_file, f"its output {name!r} has rank {len(shape)} {shape}")
    config = _read_json(folder / "config.json")
    architectures = config.get("architectures")
    if (
        isinstance(architectures, list)
        and architectures
        and all(isinstance(a, str) and a.endswith(_ENCODER_ONLY_SUFFIXES) for a in architectures)
    ):
        why = f"config.json names the architecture {architectures}, not a sequence classifier"
        raise _not_a_cross_encoder(folder, onnx_file, why)
    width = shape[1] if len(shape) == 2 else 1
    labels = _config_num_labels(folder)
    if isinstance(width, int) and width != 1 and width != labels:
        declared = "declares no number of labels" if labels is None else f"declares num_labels={labels}"
        why = f"its output {name!r} has {width} values per pair and config.json {declared}"
        raise _not_a_cross_encoder(folder, onnx_file, why)
    return name


def _reduce_logits(logits: FloatArray, batch: int) -> FloatArray:
    """One raw score per pair: the logit itself, or last-class log-odds for multi-logit heads."""
    if logits.ndim == 1:
        return logits
    logits = logits.reshape(batch, -1)
    if logits.shape[1] == 1:
        return logits[:, 0]
    rest = logits[:, :-1].astype(np.float64)
    peak = rest.max(axis=1, keepdims=True)
    lse = peak[:, 0] + np.log(np.exp(rest - peak).sum(axis=1))
    return (logits[:, -1] - lse).astype(np.float32)


def _load_tokenizer(folder: Path) -> Tokenizer:
    file = folder / "tokenizer.json"
    if not file.is_file():
        raise ModelFileError(
            f"tokenizer.json not found in {folder}. Save the tokenizer with a fast (Rust) tokenizer, e.g. "
            "AutoTokenizer.from_pretrained(...).save_pretrained(folder)."
        )
    try:
        tokenizer = Tokenizer.from_file(str(file))
    except Exception as exc:  # tokenizers raises a bare Exception for bad files
        raise ModelFileError(f"Could not read {file}: {exc}") from exc
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _pad_id(tokenizer: Tokenizer) -> int:
    for token in ("[PAD]", "<pad>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return int(found)
    return 0


def _read_json(file: Path) -> dict[str, Any]:
    """The JSON object in ``file`` (empty when absent); ``ModelFileError`` naming a corrupt file."""
    return read_json_object(file) or {}


def _model_max_length(folder: Path, spec: CrossEncoderSpec | None, onnx_file: Path, requested: int | None) -> int:
    """The pair window: the model's own limit, or ``requested`` when it fits the position table."""
    positions = position_limit(folder, onnx_file)
    if requested is not None:
        if positions is not None and requested > positions:
            raise ValueError(
                f"max_length must be at most {positions} for {folder} (its position table), got {requested}"
            )
        return requested
    limits = [spec.max_length] if spec is not None else []
    if positions is not None:
        limits.append(positions)
    tok_max = _read_json(folder / "tokenizer_config.json").get("model_max_length")
    if isinstance(tok_max, int) and not isinstance(tok_max, bool) and 0 < tok_max < 1_000_000:
        limits.append(tok_max)
    return min(limits) if limits else _FALLBACK_MAX_LENGTH


def _progress(items: Sequence[Any], *, show_progress: bool | None, desc: str) -> Any:
    enabled = sys.stderr.isatty() if show_progress is None else show_progress
    if not enabled or len(items) < 2:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="batch")
