"""Identifier phrases in the lexical query: exact identifiers outrank documents sharing their parts."""

from __future__ import annotations

import apsw
import pytest

from ogma.store.sqlite.fts import build_fts_query, identifier_phrases

DOCS = {
    1: "Set init.defaultBranch to main before the first commit.",
    2: "The init step runs once; a default branch is created by the server.",
    3: "init init init: the defaultBranch of the remote is read later.",
    4: "Pass --dry-run to see what would change.",
    5: "A dry run of the release ran on Monday.",
    6: "Use max_seq_length to cap the input.",
    7: "The max length of a seq is fixed.",
}


@pytest.fixture
def con() -> apsw.Connection:
    connection = apsw.Connection(":memory:")
    connection.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')")
    connection.executemany("INSERT INTO f (rowid, text) VALUES (?, ?)", list(DOCS.items()))
    return connection


def _top(con: apsw.Connection, match: str | None) -> int:
    assert match is not None
    return int(con.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 1", (match,)).fetchall()[0][0])


@pytest.mark.parametrize(
    ("query", "phrases"),
    [
        ("init.defaultBranch", ["init defaultbranch"]),
        ("how to set `max_seq_length`?", ["max seq length"]),
        ("--dry-run", ["dry run"]),
        ("os.path.join and os.path.join", ["os path join"]),
        ("sqlite-vec: NEAR(fast, search)^2", []),
        ("a city-state, not x-ray", []),
        ("-v or --no-cache-dir", ["no cache dir"]),
        ("src/ogma/fusion.py user@host a::b", ["src ogma fusion py", "user host", "a b"]),
        ("plain words only", []),
        ("e.g.", ["e g"]),
        ("", []),
    ],
)
def test_identifier_phrases(query: str, phrases: list[str]) -> None:
    assert identifier_phrases(query) == phrases


def test_phrases_are_or_mode_only_and_optional() -> None:
    assert build_fts_query("init.defaultBranch") == '"init" OR "defaultbranch" OR "init defaultbranch"'
    assert build_fts_query("init.defaultBranch", phrases=False) == '"init" OR "defaultbranch"'
    assert build_fts_query("init.defaultBranch", mode="and") == '"init" AND "defaultbranch"'
    assert build_fts_query('x"y.z') == '"x" OR "y" OR "z"'  # a quote is not part of an identifier


@pytest.mark.parametrize(("query", "exact"), [("init.defaultBranch", 1), ("--dry-run", 4), ("max_seq_length", 6)])
def test_exact_identifier_ranks_first(con: apsw.Connection, query: str, exact: int) -> None:
    assert _top(con, build_fts_query(query)) == exact


def test_without_phrases_parts_can_win(con: apsw.Connection) -> None:
    # Document 3 repeats "init" and has "defaultBranch" apart: the word OR alone prefers it.
    assert _top(con, build_fts_query("init.defaultBranch", phrases=False)) == 3
