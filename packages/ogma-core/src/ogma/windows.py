"""Windows of long texts: what lets a model with a short token window read a long text whole.

An embedding model reads at most its window (all-MiniLM-L6-v2: 256 tokens, special
tokens included); a longer text would be cut and the rest unfindable. Instead, a long
text is split into overlapping windows that each fit (token-exact, cut at paragraph,
sentence or word boundaries by :mod:`ogma.chunking`), each window is embedded, and the
vectors are combined:

* the store keeps every window's vector and a document scores by its best window
  (``"best"``; see :mod:`ogma.store.windows`); its windows are finer (:class:`FineWindows`):
  the first full-width window, then whole sentences packed up to 64 tokens and again up to
  32 tokens, never across a blank line;
* where one vector per text is asked for, the windows' mean (``long_text="mean"``).

A text that fits is its own single window, so short texts embed exactly as before.

Example:
    >>> plan = plan_windows(["short", "one two three four five six"], None, max_tokens=4, overlap=1)
    >>> plan.texts, plan.owners, plan.long
    (['short', 'one two three four', 'four five six'], [0, 1, 1], 1)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, get_args

import numpy as np
import numpy.typing as npt

from ogma.chunking import (
    _NONE,
    _PARAGRAPH,
    _SENTENCE,
    _WORD,
    _WORD_RE,
    TokenizerLike,
    _boundary,
    _plain_tokenizer,
    _token_spans,
    iter_chunks,
    whitespace_token_count,
)

__all__ = [
    "DEFAULT_LONG_TEXT",
    "DEFAULT_WINDOW_OVERLAP",
    "LONG_TEXT_MODES",
    "STORE_FINE_WINDOWS",
    "FineSpec",
    "FineWindows",
    "LongText",
    "WindowPlan",
    "fine_sizes",
    "long_indices",
    "mean_of_windows",
    "plan_windows",
    "sentence_windows",
]

logger = logging.getLogger(__name__)

LongText = Literal["mean", "truncate", "error"]
"""What a one-vector-per-text call does with a text longer than the window."""
LONG_TEXT_MODES: Final[tuple[str, ...]] = get_args(LongText)
DEFAULT_LONG_TEXT: Final[LongText] = "mean"
"""The default of ``long_text`` everywhere (see docs/benchmarks.md, "Long documents")."""

DEFAULT_WINDOW_OVERLAP: Final = 32
"""Tokens shared by consecutive windows (see docs/benchmarks.md, "Long documents")."""

_CHARS_PER_TOKEN_CAP: Final = 32  # a text this many characters per window token long is surely long


@dataclass(frozen=True)
class FineWindows:
    """Windows smaller than the model's that a store keeps for a long text.

    A long text's windows are then its first full-width window (the document's own vector)
    followed by these, which cover the whole text.

    Attributes:
        tokens: Most tokens of text per window.
        overlap: Tokens consecutive windows share (about; a window starts at a word).
        boundaries: ``"tokens"``: windows of ``tokens`` tokens cut at a paragraph, sentence
            or word boundary when that keeps them at least half full (:mod:`ogma.chunking`);
            ``"sentences"``: whole sentences packed up to ``tokens`` (:func:`sentence_windows`);
            ``"paragraphs"``: the same, but a window ends at a blank line and the next one
            starts after it (no window spans two paragraphs).

    Example:
        >>> FineWindows(tokens=64, overlap=16).boundaries
        'tokens'
    """

    tokens: int
    overlap: int = 0
    boundaries: Literal["tokens", "sentences", "paragraphs"] = "tokens"

    def __post_init__(self) -> None:
        if isinstance(self.tokens, bool) or not isinstance(self.tokens, int) or self.tokens < 1:
            raise ValueError(f"FineWindows.tokens must be a positive integer, got {self.tokens!r}")
        if isinstance(self.overlap, bool) or not isinstance(self.overlap, int) or self.overlap < 0:
            raise ValueError(f"FineWindows.overlap must be a non-negative integer, got {self.overlap!r}")
        if self.boundaries not in ("tokens", "sentences", "paragraphs"):
            raise ValueError(
                f"FineWindows.boundaries must be 'tokens', 'sentences' or 'paragraphs', got {self.boundaries!r}"
            )


FineSpec: TypeAlias = FineWindows | Sequence[FineWindows]
"""One size of fine windows, or several (each covers the whole text; their windows are all kept)."""

STORE_FINE_WINDOWS: Final[tuple[FineWindows, ...]] = (
    FineWindows(tokens=64, overlap=16, boundaries="paragraphs"),
    FineWindows(tokens=32, overlap=8, boundaries="paragraphs"),
)
"""The fine windows a store keeps for a long text: whole sentences within a paragraph, packed up to
64 tokens and, again, up to 32 (see docs/benchmarks.md, "Long documents")."""


def fine_sizes(fine: FineSpec | None) -> tuple[FineWindows, ...]:
    """``fine`` as a tuple of :class:`FineWindows` (empty for None), checked.

    Raises:
        TypeError: ``fine`` is neither a :class:`FineWindows`, a sequence of them, nor None.

    Example:
        >>> [f.tokens for f in fine_sizes(STORE_FINE_WINDOWS)]
        [64, 32]
    """
    if fine is None:
        return ()
    if isinstance(fine, FineWindows):
        return (fine,)
    if isinstance(fine, (list, tuple)) and all(isinstance(f, FineWindows) for f in fine):
        return tuple(fine)
    raise TypeError(
        f"fine must be an ogma.windows.FineWindows, a list or tuple of them, or None, got {type(fine).__name__}"
    )


@dataclass(frozen=True)
class WindowPlan:
    """The windows of a list of texts.

    Attributes:
        texts: Every window's text, the windows of one input text consecutive and in order.
        owners: For each window, the index of the input text it belongs to.
        long: How many input texts needed more than one window.

    Example:
        >>> WindowPlan(texts=["a"], owners=[0], long=0).owners
        [0]
    """

    texts: list[str]
    owners: list[int]
    long: int

    def first_long(self) -> int | None:
        """The index of the first input text with more than one window (None: none).

        Example:
            >>> WindowPlan(["a", "b", "c"], [0, 1, 1], 1).first_long()
            1
        """
        for a, b in zip(self.owners, self.owners[1:], strict=False):
            if a == b:
                return a
        return None


def plan_windows(
    texts: Sequence[str],
    tokenizer: TokenizerLike | Callable[[str], int] | None,
    *,
    max_tokens: int,
    overlap: int = DEFAULT_WINDOW_OVERLAP,
    fine: FineSpec | None = None,
) -> WindowPlan:
    """Split each text that is longer than ``max_tokens`` tokens into overlapping windows.

    Args:
        texts: The texts.
        tokenizer: The model's ``tokenizers.Tokenizer`` (token-exact), a token counter, or
            None to count whitespace-separated words (as :func:`ogma.chunking.chunk_text`).
        max_tokens: Tokens of text one window holds (the model's window less its special
            tokens and prefix: :attr:`ogma.TextEncoder.max_tokens`).
        overlap: Tokens shared by consecutive windows; smaller than ``max_tokens`` (a larger
            value is lowered to ``max_tokens // 2``).
        fine: Smaller windows that replace a long text's full-width windows after its
            first (what a store keeps, :data:`STORE_FINE_WINDOWS`); several sizes each cover
            the whole text, a window an earlier size planned is not repeated; None:
            full-width windows only. A text that fits is one window either way.

    Returns:
        The :class:`WindowPlan`; a text that fits (or has no tokens) is its own only window.

    Raises:
        ValueError: ``max_tokens`` is not a positive integer or ``overlap`` is negative.
        TypeError: ``fine`` is not a :class:`FineWindows`, a sequence of them, or None.

    Example:
        >>> plan_windows(["a b c"], None, max_tokens=2, overlap=0).texts
        ['a b', 'c']
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive integer, got {max_tokens!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
        raise ValueError(f"overlap must be a non-negative integer, got {overlap!r}")
    overlap = overlap if overlap < max_tokens else max_tokens // 2
    fines = [f for f in fine_sizes(fine) if f.tokens < max_tokens]  # a size the window holds adds nothing
    source: TokenizerLike | Callable[[str], int] | None = tokenizer
    if tokenizer is not None and hasattr(tokenizer, "encode"):
        source = _plain_tokenizer(tokenizer)
    fits = _fits(texts, source, max_tokens)
    out_texts: list[str] = []
    owners: list[int] = []
    long = 0
    for index, (text, fit) in enumerate(zip(texts, fits, strict=True)):
        windows = (
            [text]
            if fit
            else [c.text for c in iter_chunks([text], max_tokens=max_tokens, overlap=overlap, tokenizer=source)]
        )
        if not windows:
            windows = [text]
        if fines and len(windows) > 1:
            # the first full-width window stays the text's own; each size of fine windows covers all of it
            windows = windows[:1]
            for size in fines:  # a window an earlier size already planned is not repeated
                seen = set(windows)
                windows += [w for w in _fine_windows(text, source, size, size.tokens) if w not in seen]
        long += len(windows) > 1
        out_texts.extend(windows)
        owners.extend([index] * len(windows))
    return WindowPlan(out_texts, owners, long)


def _fine_windows(
    text: str, source: TokenizerLike | Callable[[str], int] | None, fine: FineWindows, size: int
) -> list[str]:
    """The fine windows of one long text, ``size`` tokens at most."""
    overlap = min(fine.overlap, size // 2)
    if fine.boundaries == "tokens":
        return [c.text for c in iter_chunks([text], max_tokens=size, overlap=overlap, tokenizer=source)]
    if source is not None and hasattr(source, "encode"):
        spans = _token_spans(text, source)
    else:  # words are the units; a token counter sizes them as words (a close, cheap bound)
        spans = [m.span() for m in _WORD_RE.finditer(text)]
    ranges = sentence_windows(text, spans, size=size, overlap=overlap, paragraphs=fine.boundaries == "paragraphs")
    return [text[spans[i][0] : spans[j - 1][1]] for i, j in ranges]


def long_indices(
    texts: Sequence[str], tokenizer: TokenizerLike | Callable[[str], int] | None, *, max_tokens: int
) -> list[int]:
    """Indices of the texts longer than ``max_tokens`` tokens (counted as in :func:`plan_windows`).

    Example:
        >>> long_indices(["a b", "a b c"], None, max_tokens=2)
        [1]
    """
    source: TokenizerLike | Callable[[str], int] | None = tokenizer
    if tokenizer is not None and hasattr(tokenizer, "encode"):
        source = _plain_tokenizer(tokenizer)
    return [i for i, fit in enumerate(_fits(texts, source, max_tokens)) if not fit]


def _fits(texts: Sequence[str], source: TokenizerLike | Callable[[str], int] | None, max_tokens: int) -> list[bool]:
    """Whether each text has at most ``max_tokens`` tokens (very long texts are not tokenised here)."""
    cap = max_tokens * _CHARS_PER_TOKEN_CAP
    fits = [False] * len(texts)
    check = [i for i, t in enumerate(texts) if len(t) <= cap]
    if source is None:
        for i in check:
            fits[i] = whitespace_token_count(texts[i]) <= max_tokens
    elif hasattr(source, "encode_batch"):
        encodings = source.encode_batch([texts[i] for i in check], add_special_tokens=False)
        for i, enc in zip(check, encodings, strict=True):
            fits[i] = len(enc.ids) <= max_tokens
    elif hasattr(source, "encode"):
        for i in check:
            fits[i] = len(source.encode(texts[i], add_special_tokens=False).offsets) <= max_tokens
    else:
        for i in check:
            fits[i] = source(texts[i]) <= max_tokens
    return fits


def mean_of_windows(vectors: npt.NDArray[np.float32], owners: Sequence[int], count: int) -> npt.NDArray[np.float32]:
    """One vector per text: the mean of its windows' vectors (a text with one window keeps its vector).

    The result is not re-normalised here; the encoder normalises when the model does.

    Example:
        >>> mean_of_windows(np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32), [0, 0, 1], 2).tolist()
        [[0.5, 0.5], [1.0, 1.0]]
    """
    index = np.asarray(owners, dtype=np.int64)
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, index, vectors)
    counts = np.bincount(index, minlength=count).astype(np.float32)
    return (sums / np.maximum(counts, np.float32(1.0))[:, None]).astype(np.float32)


def sentence_windows(
    text: str, spans: Sequence[tuple[int, int]], *, size: int, overlap: int, paragraphs: bool
) -> list[tuple[int, int]]:
    """Windows of whole sentences: ``(first token, end token)`` ranges of at most ``size`` tokens.

    ``spans`` are the text's token character spans. Sentences are packed greedily: a window
    ends at the last sentence end (or paragraph break) that keeps it within ``size`` tokens,
    else at the last word boundary, else at ``size`` tokens. With ``paragraphs`` a window
    also ends at the first paragraph break (a blank line) it reaches. The next window starts
    at the earliest sentence start (else word start, after a cut inside a sentence) among
    the last ``overlap`` tokens, or where this one ended; never across a paragraph break
    with ``paragraphs``.

    Example:
        >>> import re
        >>> text = "One two. Three four five. Six."
        >>> sentence_windows(text, [m.span() for m in re.finditer(r"\\S+", text)], size=4, overlap=0, paragraphs=False)
        [(0, 2), (2, 6)]
    """
    n = len(spans)
    classes = [_NONE] + [_boundary(text, spans[j - 1][1], spans[j][0]) for j in range(1, n)]
    out: list[tuple[int, int]] = []
    i, end = 0, 0
    while i < n:
        j = _sentence_cut(classes, i, n, size, paragraphs)
        if j <= end:  # inside the previous window: start where it ended instead
            i = end
            j = _sentence_cut(classes, i, n, size, paragraphs)
        out.append((i, j))
        end = j
        if j >= n:
            break
        next_i = j
        if overlap > 0 and not (paragraphs and classes[j] >= _PARAGRAPH):
            lowest = _SENTENCE if classes[j] >= _SENTENCE else _WORD
            next_i = next((k for k in range(max(i + 1, j - overlap), j) if classes[k] >= lowest), j)
        i = next_i
    return out


def _sentence_cut(classes: Sequence[int], i: int, n: int, size: int, paragraphs: bool) -> int:
    """Where a window of whole sentences starting at token ``i`` ends (see :func:`sentence_windows`)."""
    j_max = min(n, i + size)
    if paragraphs:
        j = next((k for k in range(i + 1, j_max) if classes[k] >= _PARAGRAPH), j_max)
        if j < j_max:
            return j
    if j_max < n:
        for wanted in (_SENTENCE, _WORD):
            cut = next((k for k in range(j_max, i, -1) if classes[k] >= wanted), None)
            if cut is not None:
                return cut
    return j_max
