"""Alternative inference backends for the encoder.

The encoder normally runs ONNX graphs; a backend here has the same call shape,
``run(input_ids, attention_mask, *, task_id) -> (batch, d_output) float32``, and an
``output_kind`` telling the encoder whether it returns sentence embeddings
(``"sentence"``) or token states to pool. Importing this package never imports torch.

Example:
    >>> from ogma.backends import TorchOgmaBackend
    >>> TorchOgmaBackend.output_kind
    'sentence'
"""

from __future__ import annotations

from ogma.backends.ogma_code import TASK_IDS
from ogma.backends.torch_ogma import TorchOgmaBackend

__all__ = ["TASK_IDS", "TorchOgmaBackend"]
