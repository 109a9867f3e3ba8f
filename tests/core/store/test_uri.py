"""Store URIs: parsing every documented form, refusing malformed ones, opening SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogma.store import Store
from ogma.store.milvus.client import reopening_uri
from ogma.store.uri import StoreURI, open_store, parse_store_uri, store_uri
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
    assert reopening_uri("http://db.example:19530", "notes") == "milvus://db.example:19530/notes"
    assert reopening_uri("https://db.example:443", "n") == "milvus://db.example:443/n?secure=true"
    assert parse_store_uri(reopening_uri("https://db.example:443", "n")) == StoreURI(
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


# -- paths with characters a URI reserves: quoted when a URI is built, unquoted when it is read ------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ogma.store.uri import quote_path, sqlite_uri  # noqa: E402

_PATH_CHARS = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
_PATHS = st.text(_PATH_CHARS, min_size=1, max_size=40)
_AWKWARD = ["a?b", "a#b", "50%", "%3F", "a b", "é/ü", "x://y", "?collection=c", "a%2Fb", "\\x?", "日本", "/[", "[::1]"]


@settings(max_examples=400, deadline=None)
@given(st.one_of(_PATHS, st.lists(st.sampled_from(_AWKWARD), min_size=1, max_size=4).map("/".join)))
def test_every_sqlite_path_round_trips(path: str) -> None:
    assert parse_store_uri(sqlite_uri(path)) == StoreURI("sqlite", path)
    assert parse_store_uri(sqlite_uri("/" + path)) == StoreURI("sqlite", "/" + path)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_PATHS, st.lists(st.sampled_from(_AWKWARD), min_size=1, max_size=4).map("/".join)))
def test_every_milvus_lite_path_round_trips(path: str) -> None:
    file = "/" + path + ".db"
    assert parse_store_uri(reopening_uri(file, "notes")) == StoreURI("milvus-lite", file, "notes")


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("milvus://[/notes", "Invalid IPv6"),
        ("milvus://h:99999/notes", "out of range"),
        ("milvus://h:x/notes", "integer"),
    ],
)
def test_a_malformed_milvus_host_is_named(uri: str, problem: str) -> None:
    with pytest.raises(ValueError, match=rf"store URI .* has a malformed host or port \(.*{problem}.*\); e\.g\."):
        parse_store_uri(uri)


@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=20))
def test_quote_path_leaves_no_reserved_character(path: str) -> None:
    quoted = quote_path(path)
    assert not set("?# ") & set(quoted)
    assert quoted.isascii()


def test_plain_paths_stay_plain_and_uris_decode() -> None:
    assert sqlite_uri("/data/a?b#c.db") == "/data/a?b#c.db"  # a plain path is never decoded
    assert parse_store_uri("/data/50%25.db") == StoreURI("sqlite", "/data/50%25.db")
    assert parse_store_uri("sqlite:///data/50%25.db") == StoreURI("sqlite", "/data/50%.db")
    assert parse_store_uri("milvus-lite:///d/a%3Fb%23c.db?collection=n") == StoreURI("milvus-lite", "/d/a?b#c.db", "n")
    assert sqlite_uri("milvus-lite://x.db?collection=c").startswith("sqlite://")


@pytest.mark.parametrize("folder", ["a?b", "c#d", "50%", "sp ace", "üñí", "x?collection=y"])
def test_a_sqlite_store_in_an_awkward_folder_reopens_from_its_uri(tmp_path: Path, folder: str) -> None:
    (tmp_path / folder).mkdir()
    with open_store(tmp_path / folder / "n.db", dim=3) as store:
        store.add(["x"], ids=["a"], embeddings=[[1.0, 0.0, 0.0]])
        uri = store_uri(store)
    assert uri is not None
    with open_store(uri) as again:
        assert again.get(["a"])[0].text == "x"


@requires_milvus_lite
@pytest.mark.parametrize("folder", ["a?b", "c#d", "50%", "sp ace"])
def test_a_milvus_lite_store_in_an_awkward_folder_reopens_from_its_uri(tmp_path: Path, folder: str) -> None:
    (tmp_path / folder).mkdir()
    from ogma.store.milvus import MilvusStore

    with MilvusStore(str(tmp_path / folder / "m.db"), "notes", dim=3) as store:
        store.add(["x"], ids=["a"], embeddings=[[1.0, 0.0, 0.0]])
        uri = store_uri(store)
    assert uri is not None and "?collection=notes" in uri
    assert parse_store_uri(uri) == StoreURI("milvus-lite", str(tmp_path / folder / "m.db"), "notes")
    with open_store(uri) as again:
        assert again.get(["a"])[0].text == "x"
