"""Lexical query building for SQLite FTS5: safe MATCH expressions, snippets, highlights.

User text never reaches FTS5's query syntax as-is: :func:`build_fts_query` splits it
into words, quotes each one as an FTS5 string (so ``AND``, ``NEAR``, ``*``, ``"``,
``(``, ``:``, ``^`` and friends are just text) and joins them with ``OR`` (default) or
``AND``. English stop words are dropped unless the query is nothing but stop words,
which keeps ``OR`` queries from matching every document that says "the". An
identifier such as ``init.defaultBranch`` is also searched as a phrase of its words.

Example:
    >>> build_fts_query("What is the capital of France?")
    '"capital" OR "france"'
    >>> build_fts_query('AND OR NOT "(" *', mode="and")
    '"and" AND "or" AND "not"'
    >>> build_fts_query("  ?!  ") is None
    True
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Collection, Sequence
from typing import Final, Literal

from ogma.store.sqlite.sql import FTS, quote_identifier

__all__ = [
    "ENGLISH_STOPWORDS",
    "FtsMode",
    "bm25_sql",
    "build_fts_query",
    "fts_terms",
    "highlight_sql",
    "identifier_phrases",
    "quote_fts",
    "snippet",
    "snippet_sql",
]

logger = logging.getLogger(__name__)

FtsMode = Literal["or", "and"]
"""How query terms are combined: any term (``"or"``, ranked by BM25) or all terms (``"and"``)."""

ENGLISH_STOPWORDS: Final[frozenset[str]] = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves
    """.split()
)
"""A compact English stop-word list (function words only; no content words)."""

_WORD_RE: Final = re.compile(r"[^\W_]+")
_MAX_TERMS: Final = 256
_TOKEN_STRIP: Final = "\"'`()[]{}<>,;:!?"
_OPTION_RE: Final = re.compile(r"--?[^\W_]+(?:-[^\W_]+)*")  # --dry-run, -v
_JOINED_RE: Final = re.compile(r"[^\W_]+(?:[._\-/:#@]+[^\W_]+)+_*")  # words joined by . _ - / : # @
_JOINER_RE: Final = re.compile(r"[._/:#@]")  # a hyphen alone joins ordinary compounds ("city-state")


def quote_fts(term: str) -> str:
    """Quote a string as one FTS5 string literal (a phrase): wrap in ``"``, double inner ``"``.

    Args:
        term: Any text.

    Returns:
        The quoted FTS5 string.

    Example:
        >>> quote_fts('a"b')
        '"a""b"'
    """
    return '"' + term.replace('"', '""') + '"'


def fts_terms(text: str, *, stopwords: Collection[str] | None = ENGLISH_STOPWORDS) -> list[str]:
    """The searchable words of a user query, lower-cased, de-duplicated, in order.

    Words are runs of Unicode letters and digits (as FTS5's ``unicode61`` tokenizer
    sees them); punctuation, symbols and emoji separate words. Stop words are removed
    unless every word is a stop word.

    Args:
        text: The raw user query.
        stopwords: Words to drop (compared lower-cased); None or empty keeps every word.

    Returns:
        The terms; empty when there is nothing searchable.

    Example:
        >>> fts_terms("The Who")
        ['the', 'who']
        >>> fts_terms("the history of the Who")
        ['history']
    """
    if not isinstance(text, str):
        return []
    words = list(dict.fromkeys(w.casefold() for w in _WORD_RE.findall(unicodedata.normalize("NFC", text))))
    if stopwords:
        kept = [w for w in words if w not in stopwords]
        words = kept or words
    if len(words) > _MAX_TERMS:
        logger.debug("query has %d terms; keeping the first %d", len(words), _MAX_TERMS)
        words = words[:_MAX_TERMS]
    return words


def build_fts_query(
    text: str,
    *,
    mode: FtsMode = "or",
    stopwords: Collection[str] | None = ENGLISH_STOPWORDS,
    phrases: bool = True,
) -> str | None:
    """Turn free user text into a safe FTS5 MATCH expression.

    Every term is a quoted FTS5 string, so no input can raise an FTS5 syntax error or
    use FTS5 operators. Stop words are dropped unless the query is only stop words.
    In ``"or"`` mode, each identifier-like token (``init.defaultBranch``,
    ``max_seq_length``, ``--dry-run``) is also added as a phrase of its words (see
    :func:`identifier_phrases`), so documents with the exact identifier rank above
    documents that only share its parts.

    Args:
        text: The raw user query (any characters).
        mode: ``"or"`` matches documents with any term (BM25 ranks those with more and
            rarer terms first); ``"and"`` requires every term.
        stopwords: Words to drop; defaults to :data:`ENGLISH_STOPWORDS`; None keeps all.
        phrases: Add identifier phrases in ``"or"`` mode (default True).

    Returns:
        The MATCH expression, or None when the text has no searchable word.

    Raises:
        ValueError: If ``mode`` is not ``"or"`` or ``"and"``.

    Example:
        >>> build_fts_query("sqlite-vec: NEAR(fast, search)^2")
        '"sqlite" OR "vec" OR "near" OR "fast" OR "search" OR "2"'
        >>> build_fts_query("init.defaultBranch")
        '"init" OR "defaultbranch" OR "init defaultbranch"'
        >>> build_fts_query("the", stopwords=None)
        '"the"'
    """
    if mode not in ("or", "and"):
        raise ValueError(f"Unknown FTS mode {mode!r}; valid modes: 'or', 'and'.")
    terms = fts_terms(text, stopwords=stopwords)
    if not terms:
        return None
    clauses = [quote_fts(t) for t in terms]
    if phrases and mode == "or":
        clauses += [quote_fts(p) for p in identifier_phrases(text) if p not in terms][: max(0, _MAX_TERMS - len(terms))]
    return f" {mode.upper()} ".join(clauses)


def identifier_phrases(text: str) -> list[str]:
    """The multi-word tokens of a query, as phrases: ``init.defaultBranch`` -> ``"init defaultbranch"``.

    FTS5's ``unicode61`` tokenizer splits ``init.defaultBranch``, ``max_seq_length`` or
    ``--dry-run`` into separate words, so an ``OR`` of those words also matches
    documents that have them apart. Adding the whole token as a phrase (its words, in
    order, adjacent) gives documents with the exact identifier a second BM25 term.
    Words joined only by hyphens (``city-state``) are ordinary compounds and get no
    phrase, unless the token is a command-line option (``--dry-run``).

    Args:
        text: The raw user query.

    Returns:
        The phrases (words joined by one space, lower-cased), de-duplicated, in order.

    Example:
        >>> identifier_phrases("set init.defaultBranch or --dry-run")
        ['init defaultbranch', 'dry run']
    """
    if not isinstance(text, str):
        return []
    found: dict[str, None] = {}
    for token in unicodedata.normalize("NFC", text).split():
        token = token.strip(_TOKEN_STRIP).rstrip(".")
        words = [w.casefold() for w in _WORD_RE.findall(token)]
        is_option = _OPTION_RE.fullmatch(token) is not None
        if len(words) >= 2 and (is_option or (_JOINED_RE.fullmatch(token) and _JOINER_RE.search(token))):
            found[" ".join(words)] = None
    return list(found)


def bm25_sql(weights: Sequence[float] = (), *, table: str = FTS) -> str:
    """The FTS5 ``bm25()`` call (lower is better), with optional per-column weights.

    Args:
        weights: One weight per FTS column, in column order; empty for FTS5's default (all 1).
        table: The FTS5 table.

    Returns:
        SQL such as ``bm25("ogma_fts", 2.0, 1.0)``.

    Example:
        >>> bm25_sql((2.0, 1.0), table="f")
        'bm25("f", 2.0, 1.0)'
    """
    args = "".join(f", {float(w)!r}" for w in weights)
    return f"bm25({quote_identifier(table)}{args})"


def snippet_sql(
    *,
    table: str = FTS,
    column: int = -1,
    open_mark: str = "[",
    close_mark: str = "]",
    ellipsis: str = "…",
    max_tokens: int = 16,
) -> tuple[str, list[object]]:
    """SQL for FTS5 ``snippet()``: a short window of the best-matching text with marked terms.

    Use it in the select list of a query whose ``WHERE`` has ``<table> MATCH ?``.

    Args:
        table: The FTS5 table.
        column: The column index, or -1 to let FTS5 pick the best column.
        open_mark: Text inserted before each matched term.
        close_mark: Text inserted after each matched term.
        ellipsis: Text marking cut-off text.
        max_tokens: Tokens in the snippet (1 to 64).

    Returns:
        ``(sql, params)`` to splice into a query.

    Raises:
        ValueError: If ``max_tokens`` is outside 1-64.

    Example:
        >>> snippet_sql(table="f")
        ('snippet("f", -1, ?, ?, ?, 16)', ['[', ']', '…'])
    """
    if not 1 <= max_tokens <= 64:
        raise ValueError(f"max_tokens must be between 1 and 64 (FTS5's limit), got {max_tokens}.")
    return f"snippet({quote_identifier(table)}, {int(column)}, ?, ?, ?, {int(max_tokens)})", [
        open_mark,
        close_mark,
        ellipsis,
    ]


def highlight_sql(
    *, table: str = FTS, column: int = 0, open_mark: str = "[", close_mark: str = "]"
) -> tuple[str, list[object]]:
    """SQL for FTS5 ``highlight()``: the whole column text with matched terms marked.

    Args:
        table: The FTS5 table.
        column: The column index.
        open_mark: Text inserted before each matched term.
        close_mark: Text inserted after each matched term.

    Returns:
        ``(sql, params)`` to splice into a query.

    Example:
        >>> highlight_sql(table="f")
        ('highlight("f", 0, ?, ?)', ['[', ']'])
    """
    return f"highlight({quote_identifier(table)}, {int(column)}, ?, ?)", [open_mark, close_mark]


def _crude_stem(term: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if term.endswith(suffix) and len(term) - len(suffix) >= 3:
            return term[: -len(suffix)]
    return term


def snippet(
    text: str,
    query: str,
    *,
    width: int = 160,
    open_mark: str = "[",
    close_mark: str = "]",
    stopwords: Collection[str] | None = ENGLISH_STOPWORDS,
) -> str:
    """A pure-Python snippet: the window of ``text`` with the most query terms, terms marked.

    For hits that did not come from an FTS5 query (e.g. dense results). A word matches
    a term when it starts with the term (minus a plural or -ing/-ed ending),
    case-insensitively, so "indexes" marks "index" and "indexing".

    Args:
        text: The document text.
        query: The user query.
        width: Approximate snippet length in characters.
        open_mark: Text inserted before each matched word.
        close_mark: Text inserted after each matched word.
        stopwords: Query words to ignore, as in :func:`fts_terms`.

    Returns:
        The snippet, with ``…`` where text was cut.

    Example:
        >>> snippet("SQLite is a small, fast database engine.", "fast databases", width=30)
        '…small, [fast] [database] engine.'
    """
    terms = [_crude_stem(t) for t in fts_terms(query, stopwords=stopwords)]
    words = [(m.start(), m.end(), m.group().casefold()) for m in _WORD_RE.finditer(text)]
    hits = [(start, end) for start, end, word in words if any(word.startswith(t) for t in terms)]
    if len(text) <= width:
        begin, end = 0, len(text)
    else:
        best = max((sum(1 for s, _ in hits if h0 <= s < h0 + width), -h0) for h0 in [s for s, _ in hits] or [0])
        begin = max(0, -best[1] - width // 4)
        if hits:
            begin = next((s for s, _, _ in words if s >= begin), begin)
        end = min(len(text), begin + width)
    pieces: list[str] = ["…" if begin > 0 else ""]
    cursor = begin
    for start, stop in hits:
        if start < begin or stop > end:
            continue
        pieces += [text[cursor:start], open_mark, text[start:stop], close_mark]
        cursor = stop
    pieces.append(text[cursor:end])
    if end < len(text):
        pieces.append("…")
    return "".join(pieces).strip()
