"""Ray Data encoding on the run's local Ray: same vectors as TextEncoder.encode, by id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.cli import main
from ogma.compress import quantize_binary
from ogma.distributed import embed_dataset, embed_to_parquet, init_ray, read_embedding_info
from ogma.encoder import TextEncoder

pytestmark = pytest.mark.slow
pq = pytest.importorskip("pyarrow.parquet")

WORDS = "the cat sleeps in paris france river mountain music song football team player science".split()


def corpus(n: int) -> list[dict[str, str]]:
    rng = np.random.default_rng(7)
    return [{"id": f"doc-{i}", "text": " ".join(rng.choice(WORDS, size=int(rng.integers(1, 12))))} for i in range(n)]


def by_id(rows: list[dict[str, Any]], column: str = "embedding") -> dict[str, np.ndarray]:
    return {row["id"]: np.asarray(row[column]) for row in rows}


def test_embed_dataset_equals_encode_row_for_row(ray_local: Any, tiny_model_dir: Path) -> None:
    items = corpus(120)
    ds = ray_local.data.from_items(items, override_num_blocks=4)
    out = embed_dataset(ds, model=tiny_model_dir, task="query", dim=8, num_actors=2, rows_per_block=16)
    rows = out.take_all()
    expected = TextEncoder(tiny_model_dir, threads=1).encode([r["text"] for r in items], task="query", dim=8)
    got = by_id(rows)
    assert sorted(got) == sorted(r["id"] for r in items)
    for item, vector in zip(items, expected, strict=True):
        np.testing.assert_allclose(got[item["id"]], vector, rtol=1e-6, atol=1e-6)
        assert bytes(by_id(rows, "binary")[item["id"]].tobytes()) == quantize_binary(vector[None])[0].tobytes()
        assert next(r["text"] for r in rows if r["id"] == item["id"]) == item["text"]


def test_embed_to_parquet_from_jsonl_is_readable_by_plain_pyarrow(
    ray_local: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    items = corpus(50)
    source = tmp_path / "corpus.jsonl"
    source.write_text("".join(json.dumps({**r, "metadata": {"n": i}}) + "\n" for i, r in enumerate(items)))
    files = embed_to_parquet(source, tmp_path / "out", model=tiny_model_dir, num_actors=1)
    assert files
    table = pq.read_table(tmp_path / "out")
    info = read_embedding_info(pq.read_schema(files[0]))
    assert (info.task, info.dim, info.precision) == ("document", 16, "float32")
    expected = TextEncoder(tiny_model_dir, threads=1).encode_documents([r["text"] for r in items])
    got = dict(zip(table.column("id").to_pylist(), table.column("embedding").to_pylist(), strict=True))
    assert len(got) == 50
    for item, vector in zip(items, expected, strict=True):
        np.testing.assert_allclose(got[item["id"]], vector, rtol=1e-6, atol=1e-6)


def test_missing_id_column_is_named(ray_local: Any, tiny_model_dir: Path) -> None:
    ds = ray_local.data.from_items([{"key": "a", "text": "the cat"}])
    with pytest.raises(Exception, match="no column 'id'"):
        embed_dataset(ds, model=tiny_model_dir).take_all()


def test_cli_embed_ray_then_import(ray_local: Any, tiny_model_dir: Path, tmp_path: Path) -> None:
    items = corpus(40)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in items))
    assert init_ray() is ray_local  # the CLI reuses a running Ray
    assert main(["embed", "--ray", str(source), str(tmp_path / "vectors"), "-m", str(tiny_model_dir), "-q"]) == 0
    db = tmp_path / "notes.db"
    assert main(["import", str(db), str(tmp_path / "vectors"), "-q"]) == 0
    from ogma import Store

    encoder = TextEncoder(tiny_model_dir, threads=1)
    with Store(db, encoder) as store:  # the imported store is the model's: it opens with it
        assert store.count() == 40
        hits = store.search(items[3]["text"], k=1)
        assert hits[0].text == items[3]["text"]


def test_ids_that_look_like_numbers_stay_strings_end_to_end(
    ray_local: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """JSONL → embed --ray → Parquet → import: every id is the JSONL's string (or a JSON integer's digits)."""
    big = 2**53 + 1
    source = tmp_path / "in.jsonl"
    lines = [
        '{"id": "00123", "text": "the cat"}',
        '{"id": "7", "text": "paris france"}',
        '{"id": "1e3", "text": "river mountain"}',
        f'{{"id": "{big}", "text": "music song"}}',
        f'{{"id": {big + 2}, "text": "football team"}}',
        '{"id": 0, "text": "science"}',
    ]
    source.write_text("\n".join(lines) + "\n")
    expected = ["00123", "7", "1e3", str(big), str(big + 2), "0"]
    assert main(["embed", "--ray", str(source), str(tmp_path / "vectors"), "-m", str(tiny_model_dir), "-q"]) == 0
    table = pq.read_table(tmp_path / "vectors")
    assert str(table.schema.field("id").type) == "string"
    assert sorted(table.column("id").to_pylist()) == sorted(expected)
    db = tmp_path / "ids.db"
    assert main(["import", str(db), str(tmp_path / "vectors"), "-q"]) == 0
    from ogma import Store

    with Store(db) as store:
        assert sorted(d.id for d in store.iter_documents()) == sorted(expected)
        assert store.get(["00123"])[0].text == "the cat"


def test_integer_ids_of_a_dataset_are_written_as_strings(ray_local: Any, tiny_model_dir: Path) -> None:
    ds = ray_local.data.from_items([{"id": 2**53 + 1, "text": "the cat"}, {"id": 7, "text": "a song"}])
    rows = embed_dataset(ds, model=tiny_model_dir).take_all()
    assert sorted(r["id"] for r in rows) == ["7", str(2**53 + 1)]
