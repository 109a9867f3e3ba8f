"""Token-aware text chunking with overlap, preferring paragraph and sentence boundaries.

:func:`chunk_text` splits a text into chunks of at most ``max_tokens`` tokens whose
consecutive chunks share about ``overlap`` tokens. Tokens are counted with

* a ``tokenizers.Tokenizer`` (or anything whose ``encode(text, add_special_tokens=False)``
  returns an object with ``.offsets``): the text is encoded once and chunks are cut on
  token offsets, so limits are exact and chunking is fast;
* a callable ``count_tokens(text) -> int``: chunks are grown word by word, checking
  the count with a binary search;
* nothing: whitespace-separated words are the tokens.

Inside each window the cut is made at the last paragraph break, else the last sentence
end, else the last space, provided that keeps the chunk at least half full; otherwise
at the token limit. Every chunk records its character offsets in the original text, so
``text[chunk.start:chunk.end] == chunk.text``.

Example:
    >>> text = "First sentence here. Second one follows.\\n\\nA new paragraph starts."
    >>> [c.text for c in chunk_text(text, max_tokens=7, overlap=0)]
    ['First sentence here. Second one follows.', 'A new paragraph starts.']
    >>> chunk_text(text, max_tokens=7, overlap=0)[1].start
    42
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

__all__ = ["DEFAULT_WINDOW_CHARS", "Chunk", "TokenizerLike", "chunk_text", "iter_chunks", "whitespace_token_count"]

logger = logging.getLogger(__name__)

_WORD_RE: Final = re.compile(r"\S+")
_PARAGRAPH_RE: Final = re.compile(r"\n[^\S\n]*\n")
_SENTENCE_END: Final = frozenset(".!?…。！？")
_CLOSERS: Final = frozenset("\"')]}»”’")
_PARAGRAPH, _SENTENCE, _WORD, _NONE = 3, 2, 1, 0


@runtime_checkable
class TokenizerLike(Protocol):
    """Anything with ``encode(text, add_special_tokens=False)`` returning an object with ``offsets``.

    ``tokenizers.Tokenizer`` satisfies it.
    """

    def encode(self, sequence: str, *args: Any, **kwargs: Any) -> Any:
        """Encode one text; the result has ``offsets``: ``(start, end)`` character spans."""
        ...


@dataclass(frozen=True)
class Chunk:
    """One chunk of a text.

    Attributes:
        text: The chunk's text, ``original[start:end]``.
        start: Character offset of the chunk's first character in the original text.
        end: Character offset just past the chunk's last character.
        index: Position of the chunk in the text (0, 1, ...).
        tokens: Number of tokens in the chunk, as counted by the tokenizer or counter.

    Example:
        >>> Chunk(text="hello", start=0, end=5, index=0, tokens=1).end
        5
    """

    text: str
    start: int
    end: int
    index: int
    tokens: int


def whitespace_token_count(text: str) -> int:
    """Count whitespace-separated words: the fallback token counter.

    Args:
        text: Any text.

    Returns:
        The number of words.

    Example:
        >>> whitespace_token_count("  two words ")
        2
    """
    return len(_WORD_RE.findall(text))


def _plain_tokenizer(tokenizer: TokenizerLike) -> TokenizerLike:
    """The tokenizer itself, or a copy with truncation and padding off (the caller's is untouched)."""
    if getattr(tokenizer, "truncation", None) or getattr(tokenizer, "padding", None):
        to_str = getattr(tokenizer, "to_str", None)
        from_str = getattr(type(tokenizer), "from_str", None)
        if to_str is not None and from_str is not None:
            logger.debug("copying the tokenizer to switch off truncation and padding for chunking")
            tokenizer = from_str(to_str())
            tokenizer.no_truncation()  # type: ignore[attr-defined]
            tokenizer.no_padding()  # type: ignore[attr-defined]
    return tokenizer


def _token_spans(text: str, tokenizer: TokenizerLike) -> list[tuple[int, int]]:
    encoding = tokenizer.encode(text, add_special_tokens=False)
    offsets = getattr(encoding, "offsets", None)
    if offsets is None:
        raise TypeError(
            f"The tokenizer's encode() returned {type(encoding).__name__} without 'offsets'; pass a "
            "tokenizers.Tokenizer, or a callable count_tokens(text) -> int as `tokenizer`."
        )
    return [(int(s), int(e)) for s, e in offsets if e > s]


def _boundary(text: str, prev_end: int, next_start: int) -> int:
    """Classify the cut between a unit ending at ``prev_end`` and one starting at ``next_start``."""
    gap = text[prev_end:next_start]
    if not gap or not gap.isspace():
        return _NONE
    if _PARAGRAPH_RE.search(gap):
        return _PARAGRAPH
    last = prev_end - 1
    while last > 0 and text[last] in _CLOSERS:
        last -= 1
    if text[last] in _SENTENCE_END or "\n" in gap:
        return _SENTENCE
    return _WORD


class _Units:
    """Token units of one text with a monotone size function over unit ranges."""

    def __init__(self, text: str, spans: Sequence[tuple[int, int]], counter: Callable[[str], int] | None) -> None:
        self.text = text
        self.spans = spans
        self.counter = counter

    def size(self, i: int, j: int) -> int:
        if self.counter is None:
            return j - i
        return self.counter(self.text[self.spans[i][0] : self.spans[j - 1][1]])

    def furthest(self, i: int, limit: int, n: int) -> int:
        """Largest ``j`` in ``(i, n]`` (at least ``i + 1``) with ``size(i, j) <= limit``."""
        if self.counter is None:
            return min(n, i + max(limit, 1))
        lo, hi = i + 1, n
        if self.size(i, hi) <= limit:
            return hi
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.size(i, mid) <= limit:
                lo = mid
            else:
                hi = mid - 1
        if lo == i + 1 and self.size(i, lo) > limit:
            logger.debug("a single word of %d characters exceeds the token limit", self.spans[i][1] - self.spans[i][0])
        return lo

    def boundary_before(self, j: int) -> int:
        return _boundary(self.text, self.spans[j - 1][1], self.spans[j][0])

    def starts_word(self, k: int) -> bool:
        return k == 0 or self.boundary_before(k) != _NONE


def _step(units: _Units, i: int, n: int, max_tokens: int, overlap: int, *, final: bool) -> tuple[int, int] | None:
    """The chunk starting at unit ``i``: ``(end unit j, next chunk's first unit)``.

    ``n`` is the number of units known. When ``final`` is False more units may follow,
    and None is returned if the decision could depend on them (the caller reads more).
    """
    j_max = units.furthest(i, max_tokens, n)
    if j_max >= n and not final:
        return None
    j = j_max
    if j_max < n:
        floor = i + max(1, (j_max - i + 1) // 2)
        best_class, best_j = _NONE, j_max
        for candidate in range(j_max, floor - 1, -1):
            kind = units.boundary_before(candidate)
            if kind > best_class:
                best_class, best_j = kind, candidate
                if kind == _PARAGRAPH:
                    break
        j = best_j
    if j >= n:
        return j, j
    next_i = j
    if overlap > 0:
        k = j - 1
        while k > i + 1 and units.size(k - 1, j) <= overlap:
            k -= 1
        while k < j and not units.starts_word(k):
            k += 1
        next_i = k if i < k < j else j
    return j, next_i


def _check_limits(max_tokens: int, overlap: int) -> None:
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive integer, got {max_tokens!r}.")
    if not isinstance(overlap, int) or not 0 <= overlap < max_tokens:
        raise ValueError(
            f"overlap must be an integer in [0, max_tokens) = [0, {max_tokens}), got {overlap!r}; "
            "a common choice is max_tokens // 8."
        )


def _span_source(
    tokenizer: TokenizerLike | Callable[[str], int] | None,
) -> tuple[Callable[[str], list[tuple[int, int]]], Callable[[str], int] | None]:
    """``(text -> unit spans, token counter or None)`` for a tokenizer argument."""
    if tokenizer is None:
        return _word_spans, None
    if hasattr(tokenizer, "encode"):
        plain = _plain_tokenizer(tokenizer)
        return (lambda text: _token_spans(text, plain)), None
    if callable(tokenizer):
        return _word_spans, tokenizer
    raise TypeError(
        f"tokenizer must be a tokenizers.Tokenizer, a callable count_tokens(text) -> int or None; "
        f"got {type(tokenizer).__name__}."
    )


def _word_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _WORD_RE.finditer(text)]


def chunk_text(
    text: str,
    *,
    max_tokens: int = 256,
    overlap: int = 32,
    tokenizer: TokenizerLike | Callable[[str], int] | None = None,
) -> list[Chunk]:
    """Split ``text`` into overlapping chunks of at most ``max_tokens`` tokens.

    The whole text is tokenised at once; for long texts (a file of megabytes) use
    :func:`iter_chunks`, which reads and tokenises a bounded window at a time.

    Args:
        text: The text to split.
        max_tokens: Most tokens per chunk (without special tokens such as ``[CLS]``;
            leave room for them below the model's limit).
        overlap: Tokens shared by consecutive chunks (approximately: the overlap starts
            at a word boundary); 0 for none. Must be smaller than ``max_tokens``.
        tokenizer: A ``tokenizers.Tokenizer`` (exact, fast), a callable returning the token
            count of a string, or None to count whitespace-separated words. With a callable,
            a single word longer than ``max_tokens`` becomes a chunk of its own.

    Returns:
        The chunks in order; empty when the text has no tokens.

    Raises:
        ValueError: If ``max_tokens`` < 1 or ``overlap`` is not in ``[0, max_tokens)``.
        TypeError: If ``tokenizer`` is neither a tokenizer with offsets nor a callable.

    Example:
        >>> chunks = chunk_text("one two three four five six", max_tokens=4, overlap=1)
        >>> [(c.text, c.start, c.end) for c in chunks]
        [('one two three four', 0, 18), ('four five six', 14, 27)]
    """
    _check_limits(max_tokens, overlap)
    spans_of, counter = _span_source(tokenizer)
    spans = spans_of(text)
    units = _Units(text, spans, counter)
    n = len(spans)
    chunks: list[Chunk] = []
    i = 0
    while i < n:
        step = _step(units, i, n, max_tokens, overlap, final=True)
        if step is None:  # pragma: no cover - final=True always decides
            break
        j, next_i = step
        start, end = spans[i][0], spans[j - 1][1]
        chunks.append(Chunk(text=text[start:end], start=start, end=end, index=len(chunks), tokens=units.size(i, j)))
        i = next_i
    return chunks


DEFAULT_WINDOW_CHARS: Final = 1 << 16
"""Characters :func:`iter_chunks` tokenises at a time (grown only when one chunk needs more)."""
_MARGIN: Final = 2  # units at the end of a window never decided on (they may still change)
_SCAN: Final = 4096  # how far back a window edge looks for whitespace


def _last_space_run(text: str) -> int:
    """Start of the last whitespace run in the final ``_SCAN`` characters, else ``len(text)``."""
    stop = max(0, len(text) - _SCAN)
    k = len(text) - 1
    while k >= stop and not text[k].isspace():
        k -= 1
    if k < stop:
        return len(text)
    while k > 0 and text[k - 1].isspace():
        k -= 1
    return k


def _word_start(text: str, pos: int) -> int:
    """The start of the word containing ``pos`` (looking back at most ``_SCAN`` characters)."""
    stop = max(0, pos - _SCAN)
    k = pos
    while k > stop and not text[k - 1].isspace():
        k -= 1
    return k if k > stop or stop == 0 else pos


def iter_chunks(
    pieces: Iterable[str],
    *,
    max_tokens: int = 256,
    overlap: int = 32,
    tokenizer: TokenizerLike | Callable[[str], int] | None = None,
    window_chars: int = DEFAULT_WINDOW_CHARS,
) -> Iterator[Chunk]:
    """Chunk a text given as consecutive pieces, in bounded memory.

    Equivalent to ``chunk_text("".join(pieces), ...)``, but only a window of about
    ``window_chars`` characters is held and tokenised at a time: each window ends
    before a whitespace run (so the tokens inside it are those of the whole text), and
    the next window restarts at the start of the word holding the next chunk's first
    token. The chunks are the same as :func:`chunk_text`'s except where a window edge
    falls inside a run of more than 4,096 characters without whitespace.

    Args:
        pieces: The text in order, in pieces of any size (for example blocks read from a file).
        max_tokens: As in :func:`chunk_text`.
        overlap: As in :func:`chunk_text`.
        tokenizer: As in :func:`chunk_text`.
        window_chars: Characters tokenised at a time (the window grows when a single
            chunk needs more, for example in long whitespace runs).

    Yields:
        The chunks in order, with ``start``/``end`` offsets into the whole text.

    Raises:
        ValueError: If ``max_tokens`` < 1, ``overlap`` is not in ``[0, max_tokens)`` or
            ``window_chars`` < 1.
        TypeError: If ``tokenizer`` is neither a tokenizer with offsets nor a callable.

    Example:
        >>> pieces = ["one two th", "ree four five six"]
        >>> [(c.text, c.start) for c in iter_chunks(pieces, max_tokens=4, overlap=1)]
        [('one two three four', 0), ('four five six', 14)]
    """
    _check_limits(max_tokens, overlap)
    if isinstance(window_chars, bool) or not isinstance(window_chars, int) or window_chars < 1:
        raise ValueError(f"window_chars must be a positive integer, got {window_chars!r}.")
    spans_of, counter = _span_source(tokenizer)
    source = iter(pieces)
    buffer, base, target, index = "", 0, 0, 0
    want, eof = window_chars, False
    while True:
        parts = [buffer]
        held = len(buffer)
        while not eof and held - target < want:
            piece = next(source, None)
            if piece is None:
                eof = True
            else:
                parts.append(piece)
                held += len(piece)
        buffer = "".join(parts)
        limit = min(len(buffer), target + want)  # tokenise a bounded window, whatever the pieces' size
        final = eof and limit == len(buffer)
        cut = len(buffer) if final else _last_space_run(buffer[:limit])
        window = buffer[:cut]
        spans = spans_of(window)
        units = _Units(window, spans, counter)
        n = len(spans)
        bound = n if final else max(0, n - _MARGIN)
        i = bisect.bisect_left(spans, (target, -1))
        first = i
        while i < bound:
            step = _step(units, i, bound, max_tokens, overlap, final=final)
            if step is None:
                break
            j, next_i = step
            start, end = spans[i][0], spans[j - 1][1]
            yield Chunk(
                text=window[start:end], start=base + start, end=base + end, index=index, tokens=units.size(i, j)
            )
            index += 1
            if j >= n and final:
                return
            i = next_i
        if final:
            return
        if i < n:
            target = spans[i][0]
            keep = _word_start(buffer, target)
        else:  # no tokens left before the cut: drop the text (all of it when it is only whitespace)
            keep = limit if cut == 0 and buffer[:limit].isspace() else cut
            target = keep
        want = want * 2 if i == first and keep == 0 else window_chars
        buffer = buffer[keep:]
        base += keep
        target -= keep
