"""Store settings: read_setting / write_setting_once, the first value stands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ogma.errors import StoreError
from ogma.store import Store
from ogma.store.protocol import StoreProtocol
from ogma.store.settings import RESERVED_SETTING_KEYS
from tests.helpers.milvus_lite import milvus_lite_db, open_milvus, requires_milvus_lite

__all__ = ["milvus_lite_db"]  # the session fixture, imported for pytest

StoreFactory = Callable[[pytest.FixtureRequest, Path], StoreProtocol]


def _milvus(request: pytest.FixtureRequest, tmp_path: Path) -> StoreProtocol:
    store: StoreProtocol = open_milvus(request.getfixturevalue("milvus_lite_db"), dim=2)
    return store


BACKENDS: dict[str, StoreFactory] = {
    "sqlite": lambda request, root: Store(root / "s.db", dim=2),
    "milvus-lite": _milvus,
}


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("milvus-lite", marks=requires_milvus_lite),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreProtocol:
    opened = BACKENDS[request.param](request, tmp_path)
    request.addfinalizer(opened.close)
    return opened


def test_unset_setting_is_none(store: StoreProtocol) -> None:
    assert store.read_setting("app.owner") is None


def test_first_value_stands(store: StoreProtocol) -> None:
    assert store.write_setting_once("app.owner", "docs") is True
    assert store.write_setting_once("app.owner", "other") is False
    assert store.read_setting("app.owner") == "docs"
    assert store.write_setting_once("app.empty", "") is True
    assert store.read_setting("app.empty") == ""


@pytest.mark.parametrize("key", sorted(RESERVED_SETTING_KEYS))
def test_configuration_fields_are_not_writable(store: StoreProtocol, key: str) -> None:
    with pytest.raises(ValueError, match=f"{key!r} is a field of the store's configuration record"):
        store.write_setting_once(key, "1")


@pytest.mark.parametrize(
    ("key", "error"),
    [
        (None, TypeError),
        (3, TypeError),
        ("", ValueError),
        ("a\nb", ValueError),
        ("é", ValueError),
        ("k" * 129, ValueError),
    ],
)
def test_bad_keys(store: StoreProtocol, key: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="setting key"):
        store.read_setting(key)  # type: ignore[arg-type]
    with pytest.raises(error, match="setting key"):
        store.write_setting_once(key, "v")  # type: ignore[arg-type]


def test_bad_value(store: StoreProtocol) -> None:
    with pytest.raises(TypeError, match="value"):
        store.write_setting_once("app.n", 3)  # type: ignore[arg-type]


@requires_milvus_lite
def test_milvus_settings_persist_and_go_with_the_collection(milvus_lite_db: Path) -> None:
    from ogma.store.milvus import MilvusStore

    store = open_milvus(milvus_lite_db, dim=2)
    assert store.write_setting_once("app.owner", "docs")
    store.close()
    with MilvusStore(str(milvus_lite_db), store.collection) as again:
        assert again.read_setting("app.owner") == "docs"
        again.drop()
        assert again.read_setting("app.owner") is None
    with pytest.raises(StoreError, match="too long to keep settings"):
        MilvusStore(str(milvus_lite_db), "c" * 250, dim=2).read_setting("k")


def test_settings_persist_and_read_only_refuses(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db", dim=2) as store:
        store.write_setting_once("app.owner", "docs")
    with Store(tmp_path / "s.db", read_only=True) as store:
        assert store.read_setting("app.owner") == "docs"
        assert store.read_setting("dim") == "2"  # configuration fields read as settings
        with pytest.raises(StoreError, match="read_only=True"):
            store.write_setting_once("app.other", "x")
