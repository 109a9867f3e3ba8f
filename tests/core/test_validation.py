"""The input checks every surface shares: id lists (never a bare string) and argument names in core errors."""

from __future__ import annotations

from typing import Any

import pytest

from ogma.validation import check_id_list, rename_arguments


@pytest.mark.parametrize(
    "ids",
    [["a", "b"], ("a", "b"), iter(["a", "b"]), {"a": 1, "b": 2}.keys(), (x for x in "ab")],
    ids=["list", "tuple", "iterator", "dict-keys", "generator"],
)
def test_any_iterable_of_strings_is_an_id_list(ids: Any) -> None:
    assert check_id_list(ids, "node_ids") == ["a", "b"]


@pytest.mark.parametrize(
    ("ids", "error", "message"),
    [
        (
            "ab",
            TypeError,
            r"node_ids must be a list of strings, got str \(a single value\); wrap it in a list: \['ab'\]",
        ),
        (b"ab", TypeError, r"node_ids must be a list of strings, got bytes"),
        ({"a": 1}, TypeError, r"node_ids must be a list of strings, got dict"),
        (3, TypeError, r"node_ids must be a list of strings, got int"),
        (None, TypeError, r"node_ids must be a list of strings, got NoneType"),
        (["a", 3], TypeError, r"node_ids\[1\] must be a str, got int"),
        (["a", None], TypeError, r"node_ids\[1\] must be a str, got NoneType"),
        (["a", "b\ud800"], ValueError, r"node_ids\[1\] is not valid Unicode"),
    ],
)
def test_what_is_not_an_id_list(ids: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        check_id_list(ids, "node_ids")


def test_none_entries_only_where_allowed() -> None:
    assert check_id_list(["a", None], allow_none=True) == ["a", None]
    with pytest.raises(TypeError, match=r"ids must be a list of strings, got str"):
        check_id_list("ab", allow_none=True)
    with pytest.raises(TypeError, match=r"ids\[0\] must be a str or None, got int"):
        check_id_list([1], allow_none=True)
    with pytest.raises(ValueError, match=r"ids\[0\] is not valid Unicode"):
        check_id_list(["\udc80"], allow_none=True)


def test_rename_arguments_rewrites_each_indexed_name() -> None:
    message = "metadatas[1] is not JSON-serialisable: metadatas[1]['when'] is nan; texts[12] and ids[0] too"
    renamed = rename_arguments(
        message,
        {"metadatas": lambda i: f"documents[{i + 10}].meta", "texts": lambda i: f"nodes[{i}].text"},
    )
    assert renamed == (
        "documents[11].meta is not JSON-serialisable: documents[11].meta['when'] is nan; nodes[12].text and ids[0] too"
    )
    assert rename_arguments("my_texts[1] stays", {"texts": lambda i: "x"}) == "my_texts[1] stays"
