"""``backend="torch"``: run an Ogma checkpoint with its own PyTorch code, no ONNX export.

Example:
    >>> from ogma.backends.torch_ogma import resolve_torch_device
    >>> resolve_torch_device("cpu")
    'cpu'
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.backends.ogma_code import TASK_IDS, import_torch, open_ogma_checkpoint, require_trusted
from ogma.inference import OutputKind

__all__ = ["TorchOgmaBackend", "resolve_torch_device"]

logger = logging.getLogger(__name__)

_PURPOSE = "Running an Ogma checkpoint with backend='torch'"


def resolve_torch_device(device: str, *, torch: Any = None) -> str:
    """The torch device to use for ``device``; warns and falls back to CPU when CUDA is missing.

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        torch: The torch module (imported when needed and not given).

    Returns:
        ``device``, or ``"cpu"`` when CUDA was asked for but is not available.

    Raises:
        ValueError: Unknown device.
        MissingExtraError: CUDA was asked for and torch is not installed.
    """
    if device == "cpu":
        return device
    if device != "cuda" and not device.startswith("cuda:"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N'; got {device!r}")
    torch_mod = torch if torch is not None else import_torch(_PURPOSE)
    if torch_mod.cuda.is_available():
        return device
    warnings.warn(
        f"device={device!r} was asked for but this PyTorch build cannot use CUDA (torch.cuda.is_available() "
        f"is False; torch {torch_mod.__version__}); running on the CPU instead. For the GPU, install a CUDA "
        "build of PyTorch (https://pytorch.org/get-started/locally/) and check the NVIDIA driver.",
        RuntimeWarning,
        stacklevel=3,
    )
    return "cpu"


class TorchOgmaBackend:
    """Runs an Ogma checkpoint's ``OgmaModel.encode`` with PyTorch.

    Loading imports the checkpoint's own ``ogma_model.py``/``config.py`` in isolation
    (a pre-existing ``config`` module is left untouched) and checks their API. Code
    the model imports lazily while encoding is resolved normally, not from the
    checkpoint folder.

    Args:
        checkpoint_dir: Folder with ``ogma_model.py``, ``config.py`` and the weights.
        device: ``"cpu"`` or ``"cuda"``/``"cuda:N"`` (falls back to CPU with a warning).
        threads: ``torch.set_num_threads(threads)`` when given. This setting is
            process-wide in PyTorch.
        trust_remote_code: Must be ``True``: the checkpoint's Python code is run.

    Attributes:
        output_kind: ``"sentence"``: :meth:`run` returns sentence embeddings.
        device: The device in use.
        dim: Output dimension.
        normalized: Whether the model returned unit-norm rows when probed.

    Raises:
        TrustRemoteCodeError: ``trust_remote_code`` is not ``True`` (no code is run).
        MissingExtraError: torch is not installed.
        ConversionError: The checkpoint's code is missing, fails or has a different API.
        ValueError: Bad ``device`` or ``threads``.

    Example:
        >>> backend = TorchOgmaBackend("ogma-mini", trust_remote_code=True)  # doctest: +SKIP
        >>> ids = np.array([[2, 40, 41, 3]]); mask = np.ones_like(ids)  # doctest: +SKIP
        >>> backend.run(ids, mask, task_id=TASK_IDS["query"]).shape  # doctest: +SKIP
        (1, 256)
    """

    output_kind: OutputKind = "sentence"

    def __init__(
        self,
        checkpoint_dir: str | os.PathLike[str],
        *,
        device: str = "cpu",
        threads: int | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        folder = Path(checkpoint_dir)
        require_trusted(trust_remote_code, folder, action=_PURPOSE)
        torch = import_torch(_PURPOSE)
        self.device = resolve_torch_device(device, torch=torch)
        if threads is not None:
            torch.set_num_threads(threads)
        with open_ogma_checkpoint(folder, device=self.device, trust_remote_code=True) as loaded:
            self._loaded = loaded
        self._torch = torch
        self._members = {task_id: loaded.tasks[name] for name, task_id in TASK_IDS.items()}
        self.dim = loaded.d_output
        self.normalized = loaded.normalized
        logger.info("Loaded %s with PyTorch on %s (d_output=%d)", loaded.folder, self.device, self.dim)

    def run(
        self,
        input_ids: npt.ArrayLike,
        attention_mask: npt.ArrayLike,
        *,
        token_type_ids: npt.ArrayLike | None = None,
        task_id: int | None = None,
    ) -> npt.NDArray[np.float32]:
        """Embed one padded batch.

        Args:
            input_ids: ``(batch, seq)`` Ogma token ids (BOS … EOS, shifted by 7, 0-padded).
            attention_mask: ``(batch, seq)``, 1 for real tokens.
            token_type_ids: Ignored (Ogma models have none); accepted for the common backend signature.
            task_id: A value of :data:`~ogma.backends.TASK_IDS` (query 0, document 1,
                symmetric 2); ``None`` means symmetric, the model's own default.

        Returns:
            ``(batch, d_output)`` float32 embeddings.

        Raises:
            ValueError: Unknown ``task_id`` or inputs of different or non-2-D shapes.
        """
        del token_type_ids
        if task_id is None:
            task_id = TASK_IDS["symmetric"]
        valid = isinstance(task_id, int | np.integer) and not isinstance(task_id, bool)
        member = self._members.get(int(task_id)) if valid else None
        if member is None:
            raise ValueError(f"task_id must be one of {TASK_IDS} (by value) or None; got {task_id!r}")
        ids = np.asarray(input_ids, dtype=np.int64)
        mask = np.asarray(attention_mask, dtype=np.int64)
        if ids.ndim != 2 or ids.shape != mask.shape:
            raise ValueError(
                f"input_ids and attention_mask must be 2-D arrays of one shape; got {ids.shape} and {mask.shape}"
            )
        if ids.shape[0] == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        torch = self._torch
        with torch.inference_mode():
            out = self._loaded.model.encode(
                torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device), task=member
            )
            result: npt.NDArray[np.float32] = out.float().cpu().numpy()
        return result
