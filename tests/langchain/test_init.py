"""The public API of ``langchain_ogma`` is pinned."""

from __future__ import annotations

from importlib import resources

import langchain_ogma


def test_public_api() -> None:
    assert sorted(langchain_ogma.__all__) == [
        "OgmaEmbeddings",
        "OgmaReranker",
        "OgmaRetriever",
        "OgmaVectorStore",
        "__version__",
    ]
    for name in langchain_ogma.__all__:
        assert getattr(langchain_ogma, name) is not None


def test_ships_type_information() -> None:
    assert resources.files("langchain_ogma").joinpath("py.typed").is_file()


def test_public_classes_have_docstring_examples() -> None:
    for name in ("OgmaEmbeddings", "OgmaReranker", "OgmaRetriever", "OgmaVectorStore"):
        doc = getattr(langchain_ogma, name).__doc__ or ""
        assert "Example:" in doc and ">>>" in doc, name
