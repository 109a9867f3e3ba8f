from __future__ import annotations

import pytest

from ogma.store.sqlite import sql


def test_quote_identifier() -> None:
    assert sql.quote_identifier("documents") == '"documents"'
    assert sql.quote_identifier('we"ird') == '"we""ird"'
    assert sql.quote_identifier("x; DROP TABLE y") == '"x; DROP TABLE y"'
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError):
            sql.quote_identifier(bad)


def test_quote_string() -> None:
    assert sql.quote_string("porter unicode61") == "'porter unicode61'"
    assert sql.quote_string("it's") == "'it''s'"


def test_builders_exact_sql() -> None:
    assert sql.placeholders(2) == "?, ?"
    assert sql.insert_sql("t", ["a", "b"]) == 'INSERT INTO "t" ("a", "b") VALUES (?, ?)'
    assert sql.select_in_sql("t", ["rowid"], "id", 3) == 'SELECT "rowid" FROM "t" WHERE "id" IN (?, ?, ?)'
    assert sql.delete_in_sql("t", "rowid", 1) == 'DELETE FROM "t" WHERE "rowid" IN (?)'
    assert sql.fts_delete_sql("f") == 'INSERT INTO "f" ("f", rowid, text) VALUES (\'delete\', ?, ?)'
    assert sql.fts_search_sql("x = ?", fts_table="f", documents="d") == (
        'SELECT "f".rowid, -bm25("f") AS score FROM "f" JOIN "d" ON "d".rowid = "f".rowid\n'
        'WHERE "f" MATCH ? AND (x = ?) ORDER BY bm25("f") LIMIT ?'
    )
    assert sql.vec_knn_sql("", table="v") == (
        'SELECT rowid, distance FROM "v" WHERE embedding MATCH ? AND k = ? ORDER BY distance'
    )
    assert sql.vec_knn_sql("vec_int8", table="v").endswith("MATCH vec_int8(?) AND k = ? ORDER BY distance")
    with pytest.raises(ValueError):
        sql.vec_knn_sql("evil(")
    with pytest.raises(ValueError):
        sql.placeholders(0)


def test_chunked() -> None:
    assert [list(c) for c in sql.chunked(list(range(5)), 2)] == [[0, 1], [2, 3], [4]]
    assert list(sql.chunked([], 3)) == []
