"""Store URIs: parsing every documented form, refusing malformed ones, opening SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogma.store import Store
from ogma.store.uri import StoreURI, _milvus_uri, open_store, parse_store_uri, store_uri
from tests.helpers.milvus_lite import requires_milvus_lite


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("notes.db", StoreURI("sqlite", "notes.db")),
        ("/data/notes.db", StoreURI("sqlite", "/data/notes.db")),
        (":memory:", StoreURI("sqlite", ":memory:")),
        ("C:\\data\\notes.db", StoreURI("sqlite", "C:\\data\\notes.db")),
        ("sqlite:///data/notes.db", StoreURI("sqlite", "/data/notes.db")),
        ("sqlite://notes.db", StoreURI("sqlite", "notes.db")),
        ("milvus://db.example:19530/notes", StoreURI("milvus", "http://db.example:19530", "notes")),
        ("milvus://db.example/notes", StoreURI("milvus", "http://db.example:19530", "notes")),
        ("milvus://db.example:443/notes?secure=true", StoreURI("milvus", "https://db.example:443", "notes")),
        ("milvus://[::1]:19530/notes", StoreURI("milvus", "http://[::1]:19530", "notes")),
        ("milvus-lite:///srv/v.db?collection=notes", StoreURI("milvus-lite", "/srv/v.db", "notes")),
        ("milvus-lite://v.db?collection=_n2", StoreURI("milvus-lite", "v.db", "_n2")),
    ],
)
def test_parse(uri: str, expected: StoreURI) -> None:
    assert parse_store_uri(uri) == expected


def test_path_objects_are_sqlite(tmp_path: Path) -> None:
    assert parse_store_uri(tmp_path / "a.db") == StoreURI("sqlite", str(tmp_path / "a.db"))


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "empty"),
        ("redis://host/x", "unknown scheme 'redis'"),
        ("milvus://host:19530/", "names no collection"),
        ("milvus:///notes", "names no host"),
        ("milvus://user:pw@host/notes", "MILVUS_TOKEN"),
        ("milvus://host/notes?db=x", "unknown parameter"),
        ("milvus://host/9bad", "not valid for Milvus"),
        ("milvus-lite:///srv/v.db", "names no collection"),
        ("milvus-lite://?collection=n", "names no Milvus Lite file"),
        ("milvus-lite:///v.db?collection=n&x=1", "unknown parameter"),
        ("sqlite://", "names no file"),
    ],
)
def test_malformed(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_store_uri(uri)


def test_not_a_string() -> None:
    with pytest.raises(TypeError, match="store URI must be a string"):
        parse_store_uri(3)  # type: ignore[arg-type]


def test_open_sqlite_and_describe(tmp_path: Path) -> None:
    with open_store(f"sqlite://{tmp_path}/n.db", dim=3) as store:
        assert isinstance(store, Store)
        assert store.dim == 3
        assert store_uri(store) == f"{tmp_path}/n.db"
    assert store_uri(object()) is None


@requires_milvus_lite
def test_milvus_uris_open_and_describe_milvus_stores(tmp_path: Path) -> None:
    from ogma.store.milvus import MilvusStore

    uri = f"milvus-lite://{tmp_path}/m.db?collection=notes"
    with open_store(uri, dim=3, precision="binary") as store:
        assert isinstance(store, MilvusStore)
        assert (store.uri, store.collection, store.precision) == (f"{tmp_path}/m.db", "notes", "binary")
        assert store_uri(store) == uri
    assert _milvus_uri("http://db.example:19530", "notes") == "milvus://db.example:19530/notes"
    assert _milvus_uri("https://db.example:443", "n") == "milvus://db.example:443/n?secure=true"
    assert parse_store_uri(_milvus_uri("https://db.example:443", "n")) == StoreURI(
        "milvus", "https://db.example:443", "n"
    )


def test_milvus_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import ogma.store.milvus.store as milvus_store

    seen: dict[str, object] = {}

    class Recorder:
        def __init__(
            self, uri: str, collection: str, encoder: object = None, *, dim: int | None = None, token: str | None = None
        ) -> None:
            seen.update(uri=uri, collection=collection, token=token, dim=dim)

    monkeypatch.setattr(milvus_store, "MilvusStore", Recorder)
    monkeypatch.setenv("MILVUS_TOKEN", "user:secret")
    open_store("milvus://db.example/notes", dim=4)
    assert seen == {"uri": "http://db.example:19530", "collection": "notes", "token": "user:secret", "dim": 4}


@pytest.mark.parametrize(
    ("uri", "option", "hint"),
    [
        ("milvus-lite:///tmp/v.db?collection=c", "fts_tokenizer", "give a SQLite path"),
        ("milvus://db.example/notes", "read_only", "give a SQLite path"),
        ("notes.db", "index_type", "give a Milvus URI"),
        ("notes.db", "colection", "give a Milvus URI"),
    ],
)
def test_an_option_the_backend_does_not_take_is_named(uri: str, option: str, hint: str) -> None:
    with pytest.raises(
        ValueError, match=rf"option '{option}' is not one a [a-z-]+ store takes \(.*takes .*dim.*\); .*{hint}"
    ):
        open_store(uri, **{option: "x"})
