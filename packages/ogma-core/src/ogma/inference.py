"""Inference backends: run token ids through a model and get token states or sentence vectors.

A backend has ``output_kind`` (``"tokens"``: ``(batch, seq, hidden)`` states to pool;
``"sentence"``: ``(batch, dim)`` embeddings) and
``run(input_ids, attention_mask, *, token_type_ids=None, task_id=None) -> ndarray``.
:class:`OnnxBackend` is the default; ``ogma.backends.torch_ogma.TorchOgmaBackend``
runs Ogma checkpoints directly with PyTorch.

Example:
    >>> import numpy as np
    >>> states = np.ones((1, 3, 2), dtype=np.float32)
    >>> pool(states, np.array([[1, 1, 0]]), "mean").tolist()
    [[1.0, 1.0]]
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from ogma.errors import ModelFileError

__all__ = ["Backend", "OnnxBackend", "pool"]

OutputKind = Literal["tokens", "sentence"]
_SYMMETRIC = 2  # the task id used when none is given (Ogma's [SYM])
FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


class Backend(Protocol):
    """What the encoder needs from a model runtime."""

    output_kind: OutputKind

    def run(
        self,
        input_ids: IntArray,
        attention_mask: IntArray,
        *,
        token_type_ids: IntArray | None = None,
        task_id: int | None = None,
    ) -> FloatArray:
        """Run one padded batch."""
        ...


class OnnxBackend:
    """Runs an ONNX embedding graph.

    Understands the graphs Ogma writes and the common hub exports: inputs
    ``input_ids``, ``attention_mask``, optional ``token_type_ids`` and (Ogma
    exports) ``task``; output ``sentence_embedding`` (2-D, used as is) or token
    states (``last_hidden_state`` / ``token_embeddings`` / the first 3-D output).

    Args:
        session: An open ``onnxruntime.InferenceSession``.

    Raises:
        ModelFileError: The graph lacks ``input_ids`` or a usable output.
    """

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        inputs = {i.name: i for i in session.get_inputs()}
        if "input_ids" not in inputs:
            raise ModelFileError(
                f"the ONNX graph has inputs {sorted(inputs)}; an embedding model needs 'input_ids' "
                "(and usually 'attention_mask'). Is this an embedding model exported for ONNX Runtime?"
            )
        self._has_mask = "attention_mask" in inputs
        self._has_types = "token_type_ids" in inputs
        self._has_task = "task" in inputs
        self._task_rank = len(inputs["task"].shape) if self._has_task else 0
        outputs = session.get_outputs()
        by_name = {o.name: o for o in outputs}
        if "sparse_weights" in by_name and len(outputs) == 1:
            raise ModelFileError(
                "the ONNX graph is a SPLADE (learned-sparse) model: its output 'sparse_weights' holds one weight per "
                "vocabulary term, not an embedding. TextEncoder needs a dense embedding model (e.g. "
                "sentence-transformers/all-MiniLM-L6-v2); run a SPLADE graph with onnxruntime directly."
            )
        chosen = None
        for name in ("sentence_embedding", "last_hidden_state", "token_embeddings"):
            if name in by_name:
                chosen = by_name[name]
                break
        if chosen is None:
            chosen = next((o for o in outputs if len(o.shape) in (2, 3)), None)
        if chosen is None:
            raise ModelFileError(f"the ONNX graph has no 2-D or 3-D float output (outputs: {sorted(by_name)})")
        self._output = chosen.name
        self.output_kind: OutputKind = "sentence" if len(chosen.shape) == 2 else "tokens"

    @property
    def needs_task(self) -> bool:
        """Whether the graph takes a ``task`` input (Ogma task tokens)."""
        return self._has_task

    def run(
        self,
        input_ids: IntArray,
        attention_mask: IntArray,
        *,
        token_type_ids: IntArray | None = None,
        task_id: int | None = None,
    ) -> FloatArray:
        """Run one padded batch and return the chosen output."""
        feed: dict[str, np.ndarray] = {"input_ids": input_ids}
        if self._has_mask:
            feed["attention_mask"] = attention_mask
        if self._has_types:
            feed["token_type_ids"] = token_type_ids if token_type_ids is not None else np.zeros_like(input_ids)
        if self._has_task:
            chosen = _SYMMETRIC if task_id is None else task_id
            task = np.full((input_ids.shape[0],) if self._task_rank else (), chosen, dtype=np.int64)
            feed["task"] = task
        (out,) = self.session.run([self._output], feed)
        return np.asarray(out, dtype=np.float32)


def pool(states: FloatArray, attention_mask: IntArray, how: str) -> FloatArray:
    """Pool token states into sentence vectors.

    Args:
        states: ``(batch, seq, hidden)``.
        attention_mask: ``(batch, seq)``; padding is excluded from the mean.
        how: ``"mean"`` or ``"cls"``.
    """
    if how == "cls":
        return np.ascontiguousarray(states[:, 0])
    mask = attention_mask.astype(np.float32)
    summed = np.einsum("bsh,bs->bh", states, mask)
    counts = np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
    return (summed / counts).astype(np.float32)
