"""Lexical query building: every hostile input is safe against a real FTS5 table."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import apsw
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ogma.store.sqlite.fts import (
    ENGLISH_STOPWORDS,
    bm25_sql,
    build_fts_query,
    fts_terms,
    highlight_sql,
    quote_fts,
    snippet,
    snippet_sql,
)

DOCS = [
    "The quick brown fox jumps over the lazy dog",
    "SQLite full-text search with FTS5 and BM25 ranking",
    "Café crème and naïve résumé",
    "C++ and C# are programming languages; so is Rust",
    "x-ray AND near NOT or",
    "日本語 テキスト の検索",
    "emoji 😀 party 🎉 time",
    "The Who is a rock band",
]

HOSTILE = [
    "",
    "   ",
    "\t\n",
    "?",
    '"',
    '""',
    '"unbalanced',
    "-",
    "-fox",
    "*",
    "fox*",
    "(",
    ")",
    "(fox",
    "fox)",
    "((()))",
    ":",
    "text:fox",
    "{text}: fox",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "NEAR(fox dog, 2)",
    "fox AND",
    "OR fox",
    "NOT fox",
    "fox NOT",
    "^fox",
    "+fox",
    "fox + dog",
    "a'b",
    "'",
    "\\",
    "\x00",
    "fox\x00dog",
    "😀",
    "😀🎉",
    "party🎉time",
    "日本語",
    "Café",
    "cafe\u0301",
    "C++",
    "C#",
    "x-ray",
    "the",
    "the the the",
    "The Who",
    "what is the",
    "fox" * 500,
    " ".join(["fox"] * 2000),
    " ".join(f"w{i}" for i in range(1000)),
    "%_[]{}<>|~`@$&=;,.!",
]


def _table(connect: Callable[[], Any]) -> Any:
    con = connect()
    con.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')")
    for doc in DOCS:
        con.execute("INSERT INTO f (text) VALUES (?)", (doc,))
    return con


@pytest.fixture(params=["apsw", "sqlite3"])
def con(request: pytest.FixtureRequest) -> Iterator[Any]:
    yield _table(lambda: apsw.Connection(":memory:") if request.param == "apsw" else sqlite3.connect(":memory:"))


def _search(con: Any, query: str | None) -> list[int]:
    if query is None:
        return []
    return [row[0] for row in con.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f)", (query,))]


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(h)[:30] for h in HOSTILE])
@pytest.mark.parametrize("mode", ["or", "and"])
def test_hostile_input_never_raises(con: Any, text: str, mode: str) -> None:
    query = build_fts_query(text, mode=mode)  # type: ignore[arg-type]
    if query is not None:
        assert query.startswith('"')
    _search(con, query)


@pytest.mark.parametrize("text", ["", "   ", "?!", "😀🎉", "-", "((", '"', "\x00", "_"])
def test_nothing_searchable_gives_none(text: str) -> None:
    assert build_fts_query(text) is None


def test_operators_are_plain_words(con: Any) -> None:
    query = build_fts_query("x-ray AND near", mode="and", stopwords=None)
    assert query == '"x" AND "ray" AND "and" AND "near"'
    assert _search(con, query) == [5]
    assert _search(con, build_fts_query("NOT fox", stopwords=None)) == [5, 1]


def test_stopwords_dropped_in_or_mode(con: Any) -> None:
    assert build_fts_query("what is the quick fox") == '"quick" OR "fox"'
    assert fts_terms("what is the quick fox", stopwords=None) == ["what", "is", "the", "quick", "fox"]
    assert _search(con, build_fts_query("the fox")) == [1]
    assert set(_search(con, build_fts_query("the fox", stopwords=None))) == {1, 8}


def test_only_stopwords_keeps_them(con: Any) -> None:
    assert build_fts_query("The Who") == '"the" OR "who"'
    assert _search(con, build_fts_query("The Who", mode="and")) == [8]


def test_custom_stopwords_and_modes() -> None:
    assert build_fts_query("quick fox", stopwords={"quick"}) == '"fox"'
    assert build_fts_query("quick fox", mode="and") == '"quick" AND "fox"'
    assert build_fts_query("Fox fox FOX") == '"fox"'
    with pytest.raises(ValueError, match="valid modes"):
        build_fts_query("fox", mode="xor")  # type: ignore[arg-type]


def test_unicode_and_diacritics(con: Any) -> None:
    assert _search(con, build_fts_query("cafe")) == [3]
    assert _search(con, build_fts_query("CAFÉ")) == [3]
    assert _search(con, build_fts_query("cafe\u0301")) == [3]
    assert _search(con, build_fts_query("日本語")) == [6]
    assert _search(con, build_fts_query("party🎉time", mode="and")) == [7]


def test_stemming_still_applies(con: Any) -> None:
    assert _search(con, build_fts_query("jumping foxes", mode="and")) == [1]


def test_quote_fts_doubles_quotes(con: Any) -> None:
    assert quote_fts('a"b') == '"a""b"'
    _search(con, quote_fts('"fox" OR "dog'))


def test_stopword_list_is_small_and_lowercase() -> None:
    assert 50 < len(ENGLISH_STOPWORDS) < 200
    assert all(w == w.casefold() for w in ENGLISH_STOPWORDS)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40))
def test_any_text_is_safe(text: str) -> None:
    con = _table(lambda: apsw.Connection(":memory:"))
    for mode in ("or", "and"):
        _search(con, build_fts_query(text, mode=mode))


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list('ab "()*:^+-?ANDORNT')), max_size=30))
def test_operator_soup_is_safe(text: str) -> None:
    con = _table(lambda: sqlite3.connect(":memory:"))
    for mode in ("or", "and"):
        _search(con, build_fts_query(text, mode=mode))


def test_snippet_highlight_and_bm25_sql(con: Any) -> None:
    assert bm25_sql(table="f") == 'bm25("f")'
    assert bm25_sql((2, 0.5), table="f") == 'bm25("f", 2.0, 0.5)'
    snip, snip_params = snippet_sql(table="f", max_tokens=4)
    assert snip == 'snippet("f", -1, ?, ?, ?, 4)'
    high, high_params = highlight_sql(table="f", open_mark="<b>", close_mark="</b>")
    query = build_fts_query("lazy dog")
    rows = list(
        con.execute(
            f"SELECT {snip}, {high} FROM f WHERE f MATCH ? ORDER BY {bm25_sql(table='f')}",
            [*snip_params, *high_params, query],
        )
    )
    assert rows[0][0] == "…over the [lazy] [dog]"
    assert rows[0][1] == "The quick brown fox jumps over the <b>lazy</b> <b>dog</b>"
    with pytest.raises(ValueError, match="max_tokens"):
        snippet_sql(max_tokens=0)


def test_python_snippet() -> None:
    text = "Intro. " + "filler " * 40 + "SQLite indexes make search fast. " + "more " * 40
    out = snippet(text, "indexing search", width=60)
    assert "[indexes]" in out
    assert "[search]" in out
    assert out.startswith("…")
    assert out.endswith("…")
    assert len(out) < 100
    assert snippet("short text", "text") == "short [text]"
    assert snippet("no match here", "zebra") == "no match here"
    assert snippet("", "anything") == ""
    assert snippet("x" * 300, "😀", width=50) == "x" * 50 + "…"
