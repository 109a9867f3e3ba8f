"""``TextEncoder``: task-aware text embeddings from small ONNX models, no torch needed.

Example:
    >>> from ogma import TextEncoder                                  # doctest: +SKIP
    >>> encoder = TextEncoder("sentence-transformers/all-MiniLM-L6-v2")  # doctest: +SKIP
    >>> encoder.encode_queries(["capital of France"]).shape           # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ogma.compress import Int8Ranges, normalize, quantize, truncate
from ogma.errors import LicenseWarning
from ogma.hub import ResolvedModel, check_model_name, resolve_model, resolve_ogma_checkpoint
from ogma.inference import Backend, OnnxBackend, pool
from ogma.model_config import declared_spec, position_limit, read_json_object, spec_from_folder
from ogma.registry import DEFAULT_MODEL, ModelSpec, get_model_spec
from ogma.runtime import create_session
from ogma.tokenize import TASK_IDS, Batch, TextTokenizer
from ogma.types import TASKS, Precision, Task
from ogma.validation import check_dim, check_encode_inputs, check_texts, check_unicode, check_unicode_texts
from ogma.windows import (
    DEFAULT_LONG_TEXT,
    DEFAULT_WINDOW_OVERLAP,
    LONG_TEXT_MODES,
    STORE_FINE_WINDOWS,
    FineSpec,
    LongText,
    WindowPlan,
    fine_sizes,
    long_indices,
    mean_of_windows,
    plan_windows,
)

__all__ = ["TextEncoder", "license_notice"]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
DEFAULT_MAX_BATCH_TOKENS = 8192
TOKENIZE_WINDOW = 8192
"""Texts tokenised, length-sorted and batched together; bounds memory on huge inputs."""


def _show_progress(flag: bool | None) -> bool:
    return sys.stderr.isatty() if flag is None else flag


class TextEncoder:
    """Embed texts with a small ONNX model, queries and documents each their own way.

    The model is resolved by name or path (see :func:`ogma.hub.resolve_model`): a
    registry model (``ogma models``), any hub id with ONNX files, or a local folder
    (ONNX + tokenizer.json, or a BERT-family checkpoint that is converted once).

    Queries and documents are marked as the model was trained: Ogma models get the
    ``[QRY]``/``[DOC]``/``[SYM]`` task token, prefix models (E5, BGE, mxbai) get their
    prefixes, symmetric models nothing.

    Args:
        model: Model name, hub id or local folder. Default:
            :data:`ogma.registry.DEFAULT_MODEL` (``sentence-transformers/all-MiniLM-L6-v2``,
            Apache-2.0); the Ogma family is ``"ogma-mini"`` etc. (CC-BY-NC-4.0).
        device: ``"cpu"`` or ``"cuda"`` (falls back to CPU with a warning when
            onnxruntime-gpu is not installed).
        threads: Intra-op threads (``None``: all cores).
        quantized: Run an int8 ONNX model (quantized locally if the repo has none).
        max_length: Token window (default: the model's). Longer texts are read in windows
            (see ``long_text`` in :meth:`encode`, and :meth:`encode_windows`).
        batch_size: Maximum texts per forward pass.
        max_batch_tokens: Maximum padded tokens per forward pass (bounds memory).
        backend: ``"onnx"`` (default) or ``"torch"`` (Ogma checkpoints run directly
            with PyTorch; needs ``ogma-core[torch]``).
        cache_dir: Hugging Face cache folder.
        local_files_only: Never contact the hub (default: ``HF_HUB_OFFLINE``).
        revision: Hub revision.
        token: Hub token.
        trust_remote_code: Allow running a model repository's own Python code (needed
            to export Ogma checkpoints to ONNX, and for ``backend="torch"``).
        show_progress: Progress bars (default: when stderr is a terminal).
        model_id: Declare which registry model a local folder holds (e.g.
            ``"intfloat/e5-small-v2"``): the folder then gets that model's query/document
            prefixes or instruction, pooling and window. Without it an unregistered folder
            is read from its own configs (symmetric mean pooling when they say nothing).

    Example:
        >>> encoder = TextEncoder("all-MiniLM-L6-v2")                       # doctest: +SKIP
        >>> docs = encoder.encode_documents(["Paris is in France.", "Cats purr."])  # doctest: +SKIP
        >>> query = encoder.encode_queries(["Where is Paris?"])          # doctest: +SKIP
        >>> (query @ docs.T).argmax()                                    # doctest: +SKIP
        0
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        device: Literal["cpu", "cuda"] = "cpu",
        threads: int | None = None,
        quantized: bool = False,
        max_length: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        backend: Literal["onnx", "torch"] = "onnx",
        cache_dir: str | Path | None = None,
        local_files_only: bool | None = None,
        revision: str | None = None,
        token: str | bool | None = None,
        trust_remote_code: bool = False,
        show_progress: bool | None = None,
        model_id: str | None = None,
    ) -> None:
        if backend not in ("onnx", "torch"):
            raise ValueError(f"backend must be 'onnx' or 'torch', got {backend!r}")
        if model_id is not None and (backend == "torch" or not Path(model).expanduser().is_dir()):
            raise ValueError(
                f"model_id declares which registry model a local ONNX folder holds, but {str(model)!r} is not a "
                "folder"
                + (" (backend='torch' reads Ogma checkpoints)" if backend == "torch" else "")
                + "; pass the folder, or leave model_id out"
            )
        check_model_name(model)
        hub_args: dict[str, Any] = {
            "cache_dir": cache_dir,
            "local_files_only": local_files_only,
            "revision": revision,
            "token": token,
        }
        runner: Backend
        if backend == "torch":
            from ogma.backends.torch_ogma import TorchOgmaBackend

            folder = resolve_ogma_checkpoint(model, **hub_args)
            runner = TorchOgmaBackend(folder, device=device, threads=threads, trust_remote_code=trust_remote_code)
            resolved = ResolvedModel(_model_id(model, folder), folder, folder / "model.safetensors", "torch")
            dim = runner.dim
            spec = _ogma_torch_spec(resolved.model_id, folder, dim)
        else:
            resolved = resolve_model(model, quantized=quantized, trust_remote_code=trust_remote_code, **hub_args)
            runner = OnnxBackend(create_session(resolved.onnx_path, device=device, threads=threads))
            dim = _output_dim(runner, resolved.folder)
            spec_id, registered = declared_spec(resolved.model_id, model_id, dim=dim)
            spec = spec_from_folder(spec_id, resolved.folder, registered, dim=dim)
        onnx_path = resolved.onnx_path if backend == "onnx" and spec.pooling != "model" else None
        window = _window(spec, resolved.folder, onnx_path, max_length)
        tokenizer = TextTokenizer.from_file(resolved.folder / "tokenizer.json", spec.task_scheme, max_length=window)
        self._setup(runner, tokenizer, spec, batch_size=batch_size, max_batch_tokens=max_batch_tokens)
        license_notice(spec)
        self.source = resolved.source
        self.show_progress = show_progress
        logger.info("Loaded %s (%s, %d-d) from %s", spec.model_id, backend, spec.dim, resolved.source)

    @classmethod
    def from_components(
        cls,
        backend: Backend,
        tokenizer: TextTokenizer,
        spec: ModelSpec,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        show_progress: bool | None = None,
    ) -> TextEncoder:
        """Build an encoder from an open backend, a tokenizer and a spec (no resolution, no I/O).

        Example:
            >>> # encoder = TextEncoder.from_components(OnnxBackend(session), tokenizer, spec)
        """
        self = cls.__new__(cls)
        self._setup(backend, tokenizer, spec, batch_size=batch_size, max_batch_tokens=max_batch_tokens)
        self.source = "components"
        self.show_progress = show_progress
        return self

    def _setup(
        self, backend: Backend, tokenizer: TextTokenizer, spec: ModelSpec, *, batch_size: int, max_batch_tokens: int
    ) -> None:
        for name, value in (("batch_size", batch_size), ("max_batch_tokens", max_batch_tokens)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self._backend = backend
        self._tokenizer = tokenizer
        self.spec = spec
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self._plain: Any = None

    # -- properties -----------------------------------------------------------------
    @property
    def model_id(self) -> str:
        """The canonical model id (hub id or folder path)."""
        return self.spec.model_id

    @property
    def dim(self) -> int:
        """Full output dimension."""
        return self.spec.dim

    @property
    def matryoshka_dims(self) -> tuple[int, ...]:
        """Dims the model was trained to be truncated to (empty: none)."""
        return self.spec.matryoshka_dims

    @property
    def max_length(self) -> int:
        """The model's token window, special tokens included (see :attr:`max_tokens`)."""
        return self._tokenizer.max_length

    @property
    def max_tokens(self) -> int:
        """Tokens of document text one model input holds: the window less special tokens and prefix.

        Size a framework's text splitter with it (counting tokens with :attr:`tokenizer`)
        so that every chunk is read whole by one model input. Longer texts are read in
        overlapping windows of this many tokens (:meth:`encode_windows`).

        Example:
            >>> TextEncoder("all-MiniLM-L6-v2").max_tokens  # doctest: +SKIP
            254
        """
        return self._budget("document")

    def text_token_ids(self, text: str) -> list[int]:
        """The token ids of ``text`` alone: no special tokens, no prefix, never truncated.

        ``len(encoder.text_token_ids(chunk)) <= encoder.max_tokens`` means one model input reads
        the chunk whole: the length function for a text splitter sized with :attr:`max_tokens`.

        Example:
            >>> len(TextEncoder("all-MiniLM-L6-v2").text_token_ids("Hello world"))  # doctest: +SKIP
            2
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        check_unicode(text, "text")
        return list(self._plain_tokenizer().encode(text, add_special_tokens=False).ids)

    def _budget(self, task: str) -> int:
        overhead = len(self._tokenizer.token_ids([""], task)[0])
        return max(1, self.max_length - overhead)

    def _plain_tokenizer(self) -> Any:
        """The model's tokenizer without truncation (built once), for counting and windows."""
        if self._plain is None:
            from ogma.chunking import _plain_tokenizer

            self._plain = _plain_tokenizer(self._tokenizer.tokenizer)
        return self._plain

    @property
    def task_scheme_name(self) -> str:
        """How queries and documents are marked (recorded in stores)."""
        return self.spec.task_scheme.name

    @property
    def tokenizer(self) -> TextTokenizer:
        """The tokenizer (e.g. for token-aware chunking)."""
        return self._tokenizer

    def count_tokens(self, texts: Sequence[str], *, task: Task = "document") -> list[int]:
        """Tokens each text takes (after truncation to ``max_length``)."""
        return [len(ids) for ids in self._tokenizer.token_ids(check_unicode_texts(check_texts(texts)), task)]

    # -- encoding -------------------------------------------------------------------
    def encode(
        self,
        texts: Sequence[str] | str,
        *,
        task: Task = "symmetric",
        dim: int | None = None,
        precision: Precision = "float32",
        int8_ranges: Int8Ranges | Literal["unit"] = "unit",
        batch_size: int | None = None,
        show_progress: bool | None = None,
        long_text: LongText = DEFAULT_LONG_TEXT,
    ) -> npt.NDArray[Any]:
        """Embed texts, one vector per text; rows come back in input order.

        Args:
            texts: A list of strings (or one string, giving a 1-D vector). Empty
                strings give a valid vector.
            task: ``"query"``, ``"document"`` or ``"symmetric"``.
            dim: Matryoshka truncation (re-normalised); warns for dims the model was
                not trained for.
            precision: ``"float32"``, ``"int8"``, ``"uint8"``, ``"binary"`` or
                ``"ubinary"`` (see :mod:`ogma.compress` for the exact formats).
            int8_ranges: For int8/uint8: ``"unit"`` (fixed [-1, 1], sqlite-vec's mode)
                or calibrated :class:`~ogma.compress.Int8Ranges`.
            batch_size: Override the encoder's batch size for this call.
            show_progress: Progress bar (default: the encoder's setting, else when
                stderr is a terminal).
            long_text: A text longer than the window (:attr:`max_tokens` tokens of text):
                ``"mean"`` (default) reads it whole in overlapping windows and returns the
                mean of their vectors; ``"truncate"`` keeps only its first window and logs
                one warning per call that counts the texts cut; ``"error"`` raises. Texts
                that fit embed the same under every mode. For search over long documents a
                store keeps every window's vector instead (see docs/store.md).

        Returns:
            ``(len(texts), dim)`` array of the requested precision.

        Raises:
            TypeError: ``texts`` is not a string or a list of strings (the message names
                the index of a bad item).
            ValueError: Unknown task, precision or ``long_text``, a bad ``dim``, a text that is
                not valid Unicode (a lone surrogate; the message names its index), or with
                ``long_text="error"`` a text longer than the window (the message names it).

        Example:
            >>> vectors = encoder.encode(["a", "b"], task="document", dim=128)  # doctest: +SKIP
        """
        items, single = check_encode_inputs(texts, task, precision)
        check_dim(dim, self.dim, self.matryoshka_dims)
        if long_text not in LONG_TEXT_MODES:
            raise ValueError(f"long_text must be one of {', '.join(LONG_TEXT_MODES)}; got {long_text!r}")
        size = self._batch_size(batch_size)
        if long_text == "mean":
            plan = self.window_plan(items, task=task)
            vectors = self.join_windows(self._embed(plan.texts, task, size, show_progress), plan, dim=dim)
        else:
            self._check_long(items, task, long_text)
            vectors = self.join_windows(self._embed(items, task, size, show_progress), None, dim=dim)
        out = quantize(vectors, precision, ranges=int8_ranges) if precision != "float32" else vectors
        return out[0] if single else out

    def encode_windows(
        self,
        texts: Sequence[str],
        *,
        task: Task = "document",
        overlap: int = DEFAULT_WINDOW_OVERLAP,
        fine: FineSpec | None = STORE_FINE_WINDOWS,
        batch_size: int | None = None,
        show_progress: bool | None = None,
    ) -> tuple[npt.NDArray[np.float32], list[int]]:
        """Embed every window of every text: one vector per window, long texts read whole.

        A text of at most :attr:`max_tokens` tokens is one window (the same vector
        :meth:`encode` gives). A longer one gets its first window of that size (its own
        vector in a store), then ``fine`` windows over all of it: whole sentences packed up
        to 64 tokens and again up to 32 by default, never across a blank line, which match
        one passage of a long document much better
        than a full window shared with unrelated text does. With ``fine=None`` it is split
        into overlapping full-width windows instead (cut at paragraph, sentence or word
        boundaries; what ``long_text="mean"`` averages). Stores keep every window and score
        a document by its best one.

        Args:
            texts: A list of strings.
            task: ``"query"``, ``"document"`` or ``"symmetric"``.
            overlap: Tokens shared by consecutive full-width windows (default 32).
            fine: The smaller windows of a long text after its first, one size or several
                (default :data:`ogma.windows.STORE_FINE_WINDOWS`); None: full-width windows only.
            batch_size: Override the encoder's batch size for this call.
            show_progress: Progress bar.

        Returns:
            ``(vectors, owners)``: float32 ``(windows, dim)`` and, for each window, the
            index of its text (a text's windows are consecutive and in order; its first
            window is its first full-width one).

        Example:
            >>> vectors, owners = encoder.encode_windows(["short", long_text])  # doctest: +SKIP
            >>> owners                                                         # doctest: +SKIP
            [0, 1, 1, 1, 1, 1, 1, 1]
        """
        items = check_unicode_texts(check_texts(texts))
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
        fine_sizes(fine)  # a clear TypeError for anything else
        plan = self.window_plan(items, task=task, overlap=overlap, fine=fine)
        return self._embed(plan.texts, task, self._batch_size(batch_size), show_progress), plan.owners

    def _batch_size(self, batch_size: int | None) -> int:
        size = self.batch_size if batch_size is None else batch_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        return size

    def window_plan(
        self,
        texts: Sequence[str],
        *,
        task: Task = "document",
        overlap: int = DEFAULT_WINDOW_OVERLAP,
        fine: FineSpec | None = None,
    ) -> WindowPlan:
        """How :meth:`encode_windows` would split ``texts``: every window's text and its owner.

        Texts of at most :attr:`max_tokens` tokens (for ``task``) are one window each;
        longer ones get overlapping full-width windows (and, with ``fine``, the finer
        windows after them, as stores keep them). Nothing is embedded: callers that embed the
        windows elsewhere (a batcher, a server) combine them as :meth:`encode` does with
        :func:`ogma.windows.mean_of_windows`.

        Example:
            >>> plan = encoder.window_plan(["short", long_text])  # doctest: +SKIP
            >>> plan.owners, plan.long  # doctest: +SKIP
            ([0, 1, 1, 1], 1)
        """
        return plan_windows(
            list(texts), self._plain_tokenizer(), max_tokens=self._budget(task), overlap=overlap, fine=fine
        )

    def join_windows(
        self, vectors: npt.NDArray[np.float32], plan: WindowPlan | None, *, dim: int | None = None
    ) -> npt.NDArray[np.float32]:
        """One vector per text from the vectors of its windows, as :meth:`encode` returns it.

        A text's windows (``plan``, from :meth:`window_plan`) are averaged and the mean
        re-normalised when the model normalises; then ``dim`` truncates (Matryoshka). With
        ``plan=None`` (or no long text in it) the rows already are one per text and only
        ``dim`` applies. For callers that embed windows elsewhere (a batcher, a server).

        Example:
            >>> plan = encoder.window_plan(["short", long_text])  # doctest: +SKIP
            >>> encoder.join_windows(vectors_of(plan.texts), plan).shape  # doctest: +SKIP
            (2, 384)
        """
        if plan is not None and plan.long:
            vectors = mean_of_windows(vectors, plan.owners, max(plan.owners) + 1)
            vectors = normalize(vectors) if self.spec.normalize else vectors
        if dim is not None and dim != vectors.shape[1]:
            vectors = truncate(vectors, dim, matryoshka_dims=self.matryoshka_dims, model_id=self.model_id)
        return vectors

    def _check_long(self, texts: list[str], task: str, long_text: str) -> None:
        """Raise (``"error"``) or warn (``"truncate"``) about texts longer than the window."""
        budget = self._budget(task)
        long = long_indices(texts, self._plain_tokenizer(), max_tokens=budget)
        if not long:
            return
        if long_text == "error":
            raise ValueError(
                f"texts[{long[0]}] is longer than the {budget}-token window of {self.model_id} "
                f"({len(long)} of {len(texts)} texts are); split it, or pass long_text='mean' to read it "
                "whole in windows or long_text='truncate' to keep its first window."
            )
        logger.warning(
            "%d of %d texts are longer than the %d-token window of %s and were cut to their first %d tokens "
            "(long_text='truncate'); long_text='mean' reads them whole, and a store keeps every window.",
            len(long),
            len(texts),
            budget,
            self.model_id,
            budget,
        )

    def _embed(self, texts: list[str], task: str, batch_size: int, show_progress: bool | None) -> npt.NDArray[Any]:
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return result
        task_id = TASK_IDS[task] if self.spec.task_scheme.kind == "ogma" else None
        flag = show_progress if show_progress is not None else self.show_progress
        bar = tqdm(
            total=len(texts), desc="Encoding", unit="text", disable=not _show_progress(flag) or len(texts) <= batch_size
        )
        with bar:
            # Tokenise and plan a window at a time: memory stays bounded on huge inputs,
            # and a window is large enough for length-sorted batches to carry little padding.
            for start in range(0, len(texts), TOKENIZE_WINDOW):
                window = texts[start : start + TOKENIZE_WINDOW]
                for batch in self._tokenizer.batches(
                    window, task, batch_size=batch_size, max_batch_tokens=self.max_batch_tokens
                ):
                    result[[start + i for i in batch.indices]] = self._forward(batch, task_id)
                    bar.update(len(batch.indices))
        return normalize(result) if self.spec.normalize else result

    def _forward(self, batch: Batch, task_id: int | None) -> npt.NDArray[np.float32]:
        out = self._backend.run(
            batch.input_ids, batch.attention_mask, token_type_ids=batch.token_type_ids, task_id=task_id
        )
        if self._backend.output_kind == "tokens":
            out = pool(out, batch.attention_mask, "cls" if self.spec.pooling == "cls" else "mean")
        return np.asarray(out, dtype=np.float32)

    def embed_token_ids(self, rows: Sequence[Sequence[int]], *, task: Task = "symmetric") -> npt.NDArray[np.float32]:
        """Embed token-id rows from ``encoder.tokenizer.token_ids(texts, task)`` in one model call.

        The primitive under :class:`ogma.batching.DynamicBatcher`, which tokenises and plans
        batches itself; :meth:`encode` is the method for texts. Rows must be tokenised for
        the same ``task`` (Ogma models take the task as a separate input).

        Returns:
            ``(len(rows), dim)`` float32, normalised as :meth:`encode` normalises.

        Example:
            >>> rows = encoder.tokenizer.token_ids(["a", "b"], "query")  # doctest: +SKIP
            >>> encoder.embed_token_ids(rows, task="query").shape  # doctest: +SKIP
            (2, 384)
        """
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        task_id = TASK_IDS[task] if self.spec.task_scheme.kind == "ogma" else None
        out = self._forward(self._tokenizer.pad(rows), task_id)
        return normalize(out) if self.spec.normalize else out

    def encode_queries(self, texts: Sequence[str], **kwargs: Any) -> npt.NDArray[Any]:
        """Embed search queries (``task="query"``); same options as :meth:`encode`."""
        return self.encode(texts, task="query", **kwargs)

    def encode_documents(self, texts: Sequence[str], **kwargs: Any) -> npt.NDArray[Any]:
        """Embed documents to be searched (``task="document"``); same options as :meth:`encode`."""
        return self.encode(texts, task="document", **kwargs)

    # -- the Embedder protocol used by ogma.Store ----------------------------------------
    def embed_documents(self, texts: list[str], *, long_text: LongText = DEFAULT_LONG_TEXT) -> npt.NDArray[np.float32]:
        """Float32 document embeddings (the store's embedder protocol); ``texts`` must be a list.

        ``long_text`` as in :meth:`encode` (default ``"mean"``).
        """
        return self.encode(check_texts(texts), task="document", long_text=long_text)

    def embed_query(self, text: str, *, long_text: LongText = DEFAULT_LONG_TEXT) -> npt.NDArray[np.float32]:
        """One float32 query embedding (the store's embedder protocol); ``long_text`` as in :meth:`encode`."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        check_unicode(text, "text")
        return self.encode([text], task="query", long_text=long_text)[0]

    def __repr__(self) -> str:
        return f"TextEncoder(model={self.model_id!r}, dim={self.dim}, max_length={self.max_length})"


_notified: set[str] = set()
_notified_lock = threading.Lock()


def license_notice(spec: ModelSpec) -> bool:
    """Warn, once per model per process, that a non-commercial model was loaded.

    The warning is a :class:`ogma.errors.LicenseWarning` (a ``UserWarning``); silence it
    with ``warnings.filterwarnings("ignore", category=LicenseWarning)``.

    Returns:
        Whether a warning was issued by this call.

    Example:
        >>> from ogma.registry import get_model_spec
        >>> license_notice(get_model_spec("all-MiniLM-L6-v2"))
        False
    """
    if not spec.non_commercial:
        return False
    with _notified_lock:
        if spec.model_id in _notified:
            return False
        _notified.add(spec.model_id)
    warnings.warn(
        f"{spec.model_id} is licensed {spec.license.upper()}: non-commercial use only. For commercial use, "
        f"pick a permissively licensed model such as {DEFAULT_MODEL} (Apache-2.0, Ogma's default; "
        f"`TextEncoder({DEFAULT_MODEL!r})`, `ogma ... -m all-MiniLM-L6-v2`). Silence this notice with "
        "warnings.filterwarnings('ignore', category=ogma.errors.LicenseWarning).",
        LicenseWarning,
        stacklevel=3,
    )
    return True


def _model_id(model: str | Path, folder: Path) -> str:
    return str(folder.resolve()) if Path(model).expanduser().is_dir() else str(model)


def _output_dim(backend: OnnxBackend, folder: Path) -> int:
    shape = backend.session.get_outputs()[0].shape
    for output in backend.session.get_outputs():
        if output.name in ("sentence_embedding", "last_hidden_state", "token_embeddings"):
            shape = output.shape
            break
    last = shape[-1] if shape else None
    if isinstance(last, int):
        return last
    for name, key in (("ogma_conversion.json", "d_output"), ("config.json", "hidden_size")):
        value = (read_json_object(folder / name) or {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    # Last resort: ask the model.
    probe = backend.run(np.array([[1, 2]], dtype=np.int64), np.ones((1, 2), dtype=np.int64), task_id=0)
    return int(probe.shape[-1])


def _window(spec: ModelSpec, folder: Path, onnx_path: Path | None, max_length: int | None) -> int:
    """The token window: the user's ``max_length``, else the model's, never past its position table."""
    positions = position_limit(folder, onnx_path)
    default = spec.max_length
    if positions is not None and default > positions:
        logger.info(
            "%s: the configured max_seq_length %d is longer than the model's %d positions; using %d",
            spec.model_id,
            default,
            positions,
            positions,
        )
        default = positions
    if max_length is None:
        return default
    limit = positions if positions is not None else spec.max_length
    if isinstance(max_length, bool) or not isinstance(max_length, int) or not 2 <= max_length <= limit:
        raise ValueError(f"max_length must be an integer between 2 and {limit} for {spec.model_id}, got {max_length!r}")
    return max_length


def _ogma_torch_spec(model_id: str, folder: Path, dim: int) -> ModelSpec:
    registered = get_model_spec(model_id)
    config = read_json_object(folder / "config.json") or {}
    dims = config.get("matryoshka_dims") or (registered.matryoshka_dims if registered else ())
    base = registered or ModelSpec(model_id=model_id, dim=dim, max_length=1024, license="cc-by-nc-4.0")
    from ogma.registry import OGMA_TASKS

    return base.with_overrides(
        model_id=model_id,
        dim=dim,
        pooling="model",
        task_scheme=OGMA_TASKS,
        matryoshka_dims=tuple(sorted((int(d) for d in dims if int(d) <= dim), reverse=True)),
    )
