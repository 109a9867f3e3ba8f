"""Tokenisation for the encoder: task schemes and padding-aware batch planning.

Two recipes:

* **BERT-family** (prefix or symmetric models): the model's ``tokenizer.json`` with
  its own special tokens, truncated to ``max_length``; the task prefix (e.g.
  ``"query: "``) is prepended to the text first.
* **Ogma** (``[QRY]/[DOC]/[SYM]`` task tokens), exactly as the model card does it:
  encode with ``tokenizer.json``, strip a leading ``[CLS]``/``<s>`` and a trailing
  ``[SEP]``/``</s>``, shift every id by 7 (Ogma's special tokens), wrap in BOS=2 …
  EOS=3, then cut the whole sequence to ``max_length`` (so a truncated text loses
  its EOS, as in the reference code). The task itself is passed to the model as a
  separate input (:data:`TASK_IDS`), which prepends its learnable task token.

Texts far longer than the window are cut (in characters) before tokenising, so a
100 MB string costs no more memory than a window's worth; the cut is checked to
keep at least a full window of tokens, so results equal tokenising the whole text.

Example:
    >>> from ogma.tokenize import plan_batches
    >>> plan_batches([5, 50, 6, 48], batch_size=2, max_batch_tokens=1000)
    [[0, 2], [3, 1]]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding, Tokenizer

from ogma.errors import ModelFileError
from ogma.registry import TaskScheme

__all__ = [
    "BATCH_OVERHEAD_TOKENS",
    "OGMA_BOS",
    "OGMA_EOS",
    "OGMA_N_SPECIAL",
    "OGMA_PAD",
    "TASK_IDS",
    "Batch",
    "TextTokenizer",
    "plan_batches",
]

logger = logging.getLogger(__name__)

OGMA_N_SPECIAL = 7
OGMA_PAD, OGMA_BOS, OGMA_EOS = 0, 2, 3
TASK_IDS: dict[str, int] = {"query": 0, "document": 1, "symmetric": 2}
"""Task ids of the ``task`` input of exported Ogma graphs."""

_LEADING_SPECIAL = frozenset({"[CLS]", "<s>"})
_TRAILING_SPECIAL = frozenset({"[SEP]", "</s>"})
_CHARS_PER_TOKEN_CAP = 32  # pre-cut texts at max_length * this many characters
_CUT_MARGIN_CHARS = 64  # window tokens must end this far before the cut to be unaffected

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Batch:
    """One padded model input.

    Attributes:
        indices: Positions of these rows in the caller's input list.
        input_ids: ``(rows, seq)`` int64.
        attention_mask: ``(rows, seq)`` int64, 1 for real tokens.
        token_type_ids: ``(rows, seq)`` int64 zeros (BERT-family inputs).
    """

    indices: list[int]
    input_ids: IntArray
    attention_mask: IntArray
    token_type_ids: IntArray


BATCH_OVERHEAD_TOKENS = 32
"""Cost of one extra model call, in padded tokens, when :func:`plan_batches` weighs
padding against more (smaller) batches. On all-MiniLM-L6-v2 (2 threads, DBpedia
passages) 16-64 all gave the same speed, 0 (many tiny batches) and 512 were slower."""


def plan_batches(
    lengths: npt.ArrayLike,
    *,
    batch_size: int,
    max_batch_tokens: int | None = None,
    batch_overhead: int = BATCH_OVERHEAD_TOKENS,
) -> list[list[int]]:
    """Group row indices into batches that spend as little compute as possible on padding.

    Rows are sorted by length and cut into runs of at most ``batch_size`` rows whose
    padded size (rows × longest row) stays within ``max_batch_tokens``. Among all such
    cuts the one with the fewest padded tokens plus ``batch_overhead`` per batch is
    chosen (dynamic programming, ``O(rows × batch_size)``): rows of equal length share a
    batch, and a few long rows run on their own instead of inflating a full batch.
    On all-MiniLM-L6-v2 this was 5-15% faster than cutting every ``batch_size`` rows.
    A single row longer than ``max_batch_tokens`` still runs, alone.

    Args:
        lengths: Token count of each row.
        batch_size: Maximum rows per batch (≥ 1).
        max_batch_tokens: Maximum padded tokens per batch (``None``: no cap).
        batch_overhead: Cost of one more batch, in padded tokens.

    Returns:
        Lists of row indices, shortest rows first.

    Example:
        >>> plan_batches([7, 50, 7, 48, 7], batch_size=4)
        [[0, 2, 4], [3, 1]]
    """
    sizes = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = np.argsort(sizes, kind="stable")
    width = sizes[order].astype(np.float64)
    n = len(width)
    cap = np.inf if max_batch_tokens is None else float(max_batch_tokens)
    cost = np.zeros(n + 1)  # cost[j]: cheapest plan for the j shortest rows
    start = np.zeros(n + 1, dtype=np.int64)  # where the last batch of that plan starts
    for j in range(1, n + 1):
        first = max(0, j - batch_size)
        rows = np.arange(j - first, 0, -1)  # rows in a batch [i, j) for i = first..j-1
        padded = rows * width[j - 1]
        total = cost[first:j] + padded + batch_overhead
        total[(padded > cap) & (rows > 1)] = np.inf
        best = int(np.argmin(total))
        cost[j], start[j] = total[best], first + best
    plans: list[list[int]] = []
    j = n
    while j > 0:
        plans.append(order[start[j] : j].tolist())
        j = int(start[j])
    return plans[::-1]


class TextTokenizer:
    """Turns texts into model inputs for one model and task scheme.

    Args:
        tokenizer: A ``tokenizers.Tokenizer``.
        scheme: The model's :class:`~ogma.registry.TaskScheme`.
        max_length: Maximum tokens per input, special tokens included.

    Example:
        >>> from tokenizers import Tokenizer, models, pre_tokenizers
        >>> tok = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
        >>> tok.pre_tokenizer = pre_tokenizers.Whitespace()
        >>> TextTokenizer(tok, TaskScheme("ogma"), max_length=8).token_ids(["hello world"], "query")
        [[2, 8, 9, 3]]
    """

    def __init__(self, tokenizer: Tokenizer, scheme: TaskScheme, *, max_length: int) -> None:
        if max_length < 2:
            raise ValueError(f"max_length must be at least 2, got {max_length}")
        self.scheme = scheme
        self.max_length = max_length
        self._tokenizer = tokenizer
        self._tokenizer.no_padding()
        # Ogma: [CLS] + content + [SEP] is re-wrapped as BOS + content + EOS, then cut to
        # max_length; truncating to max_length + 1 here keeps exactly the tokens that survive.
        self._window = max_length + 1 if scheme.kind == "ogma" else max_length
        self._tokenizer.enable_truncation(self._window)
        pad = tokenizer.padding
        self.pad_id = int(pad["pad_id"]) if pad else 0
        if scheme.kind == "ogma":
            self.pad_id = OGMA_PAD

    @classmethod
    def from_file(cls, path: str | Path, scheme: TaskScheme, *, max_length: int) -> TextTokenizer:
        """Load ``tokenizer.json``.

        Raises:
            ModelFileError: The file is missing or not a valid tokenizer.
        """
        file = Path(path)
        if not file.is_file():
            raise ModelFileError(f"tokenizer file not found: {file}. The model folder needs a tokenizer.json.")
        try:
            tokenizer = Tokenizer.from_file(str(file))
        except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
            raise ModelFileError(
                f"{file} is not a valid tokenizer.json ({exc}). Delete it and re-download the model."
            ) from exc
        return cls(tokenizer, scheme, max_length=max_length)

    @property
    def tokenizer(self) -> Tokenizer:
        """The underlying ``tokenizers.Tokenizer`` (e.g. for chunking by tokens)."""
        return self._tokenizer

    def _precut(self, text: str) -> str:
        limit = self.max_length * _CHARS_PER_TOKEN_CAP
        return text if len(text) <= limit else text[:limit]

    def token_ids(self, texts: Sequence[str], task: str) -> list[list[int]]:
        """Token ids of each text for ``task`` (no padding)."""
        prefix = self.scheme.prefix_for(task)
        prepared = [prefix + self._precut(text) if prefix else self._precut(text) for text in texts]
        encodings = self._tokenizer.encode_batch(prepared)
        rows: list[list[int]] = []
        for text, prepped, enc in zip(texts, prepared, encodings, strict=True):
            if len(prepped) - len(prefix) < len(text) and self._cut_changed_window(enc, len(prepped)):
                enc = self._tokenizer.encode(prefix + text)
            rows.append(self._ogma_ids(enc.ids, enc.tokens) if self.scheme.kind == "ogma" else list(enc.ids))
        return rows

    def _cut_changed_window(self, enc: Encoding, cut_length: int) -> bool:
        """Whether the character cut may have changed the tokens inside the window."""
        if len(enc.ids) < self._window:
            return True  # the cut text did not even fill the window
        last_end = max((end for _, end in enc.offsets), default=0)
        return last_end > cut_length - _CUT_MARGIN_CHARS

    def _ogma_ids(self, ids: list[int], tokens: list[str]) -> list[int]:
        start, end = 0, len(ids)
        if end and tokens[0] in _LEADING_SPECIAL:
            start = 1
        if end > start and tokens[end - 1] in _TRAILING_SPECIAL:
            end -= 1
        shifted = [OGMA_BOS, *(i + OGMA_N_SPECIAL for i in ids[start:end]), OGMA_EOS]
        return shifted[: self.max_length]

    def batches(self, texts: Sequence[str], task: str, *, batch_size: int, max_batch_tokens: int) -> list[Batch]:
        """Tokenise ``texts`` and pack them into length-sorted, padded batches."""
        rows = self.token_ids(texts, task)
        plans = plan_batches([len(r) for r in rows], batch_size=batch_size, max_batch_tokens=max_batch_tokens)
        return [self.pad([rows[i] for i in indices], indices) for indices in plans]

    def pad(self, rows: Sequence[Sequence[int]], indices: list[int] | None = None) -> Batch:
        """Pack token-id rows (from :meth:`token_ids`) into one padded batch.

        Example:
            >>> from tokenizers import Tokenizer, models
            >>> tok = TextTokenizer(Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]")),
            ...                     TaskScheme("none"), max_length=8)
            >>> tok.pad([[5, 6, 7], [5]]).attention_mask.tolist()
            [[1, 1, 1], [1, 0, 0]]
        """
        width = max((len(row) for row in rows), default=0)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, row in enumerate(rows):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        return Batch(list(range(len(rows))) if indices is None else indices, ids, mask, np.zeros_like(ids))
