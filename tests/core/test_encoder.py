"""TextEncoder on tiny synthetic models: ordering, tasks, truncation, precisions, bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from ogma import TextEncoder
from ogma.compress import quantize_binary
from ogma.errors import LicenseWarning, ModelFileError
from tests.helpers.tiny_models import WORDS, make_tiny_bert_folder, make_tiny_ogma_folder


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert_folder(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="module")
def ogma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_ogma_folder(tmp_path_factory.mktemp("tiny-ogma"))


@pytest.fixture(scope="module")
def bert(bert_dir: Path) -> TextEncoder:
    return TextEncoder(bert_dir, batch_size=3)


@pytest.fixture(scope="module")
def ogma_encoder(ogma_dir: Path) -> TextEncoder:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LicenseWarning)  # tested in test_license_notice.py
        return TextEncoder(ogma_dir)


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(0, 40))) for _ in range(n)]


def test_reads_folder_settings(bert: TextEncoder) -> None:
    assert bert.dim == 16
    assert bert.max_length == 64  # sentence_bert_config.json
    assert bert.spec.pooling == "mean"
    assert bert.task_scheme_name == "none"
    assert bert.matryoshka_dims == ()


def test_order_is_preserved_across_length_sorted_batches(bert: TextEncoder) -> None:
    texts = _texts(25)
    batched = bert.encode(texts)
    one_by_one = np.stack([bert.encode([t])[0] for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_padding_does_not_change_vectors(bert: TextEncoder) -> None:
    short, long = "cat", " ".join(["dog"] * 30)
    together = bert.encode([short, long])
    np.testing.assert_allclose(together[0], bert.encode([short])[0], atol=1e-5)


def test_single_string_gives_a_vector(bert: TextEncoder) -> None:
    assert bert.encode("paris france").shape == (16,)


def test_empty_inputs(bert: TextEncoder) -> None:
    assert bert.encode([]).shape == (0, 16)
    empty = bert.encode([""])
    assert empty.shape == (1, 16) and np.isfinite(empty).all()


def test_long_texts_are_truncated_to_the_window(bert: TextEncoder) -> None:
    base = " ".join(["cat"] * 62)
    a = bert.encode([base + " dog" * 10], long_text="truncate")
    b = bert.encode([base + " river" * 5000], long_text="truncate")
    np.testing.assert_allclose(a, b, atol=1e-6)  # both cut after 62 words + [CLS]/[SEP]
    assert bert.count_tokens([base + " dog" * 10]) == [64]


def test_huge_text_is_cut_before_tokenising_without_changing_the_result(bert: TextEncoder) -> None:
    huge = "music " * 200_000
    assert bert.count_tokens([huge]) == [64]
    cut = bert.encode([huge], long_text="truncate")
    np.testing.assert_allclose(cut, bert.encode(["music " * 100], long_text="truncate"), atol=1e-6)


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["ok", None]])
def test_bad_texts_raise_type_error_naming_the_index(bert: TextEncoder, bad: object) -> None:
    with pytest.raises(TypeError, match=r"texts(\[\d\])? must be"):
        bert.encode(bad)  # type: ignore[arg-type]


def test_none_item_error_names_its_index(bert: TextEncoder) -> None:
    with pytest.raises(TypeError, match=r"texts\[2\]"):
        bert.encode(["a", "b", None])  # type: ignore[list-item]


def test_unknown_options_list_valid_values(bert: TextEncoder) -> None:
    with pytest.raises(ValueError, match="query, document, symmetric"):
        bert.encode(["a"], task="search")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="float32, int8, uint8, binary, ubinary"):
        bert.encode(["a"], precision="fp16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dim must be"):
        bert.encode(["a"], dim=17)
    with pytest.raises(ValueError, match="batch_size"):
        bert.encode(["a"], batch_size=0)


def test_precisions(bert: TextEncoder) -> None:
    texts = _texts(5)
    floats = bert.encode(texts)
    assert bert.encode(texts, precision="int8").dtype == np.int8
    assert bert.encode(texts, precision="uint8").dtype == np.uint8
    ubin = bert.encode(texts, precision="ubinary")
    np.testing.assert_array_equal(ubin, quantize_binary(floats))
    assert bert.encode(texts, precision="binary").dtype == np.int8


def test_truncation_to_untrained_dim_warns(bert: TextEncoder) -> None:
    with pytest.warns(UserWarning, match="not trained for Matryoshka"):
        out = bert.encode(["cat"], dim=8)
    assert out.shape == (1, 8)
    np.testing.assert_allclose(np.linalg.norm(out), 1.0, atol=1e-5)


def test_ogma_task_tokens_change_the_vector(ogma_encoder: TextEncoder) -> None:
    q = ogma_encoder.encode_queries(["paris capital"])
    d = ogma_encoder.encode_documents(["paris capital"])
    s = ogma_encoder.encode(["paris capital"], task="symmetric")
    assert not np.allclose(q, d) and not np.allclose(q, s) and not np.allclose(d, s)
    assert ogma_encoder.task_scheme_name == "ogma"
    assert ogma_encoder.max_length == 1024
    assert ogma_encoder.matryoshka_dims == (32, 16, 8)


def test_ogma_matryoshka_dims_do_not_warn(ogma_encoder: TextEncoder, recwarn: pytest.WarningsRecorder) -> None:
    out = ogma_encoder.encode(["paris"], dim=16)
    assert out.shape == (1, 16) and not recwarn.list


def test_ogma_1024_token_inputs(ogma_encoder: TextEncoder) -> None:
    assert ogma_encoder.count_tokens([" ".join(["cat"] * 5000)]) == [1024]
    assert ogma_encoder.encode([" ".join(["cat"] * 5000)]).shape == (1, 32)


def test_embedder_protocol(bert: TextEncoder) -> None:
    docs = bert.embed_documents(["cat", "dog"])
    query = bert.embed_query("cat")
    assert docs.shape == (2, 16) and query.shape == (16,)
    with pytest.raises(TypeError):
        bert.embed_query(None)  # type: ignore[arg-type]


def test_corrupt_onnx_names_the_file(tmp_path: Path) -> None:
    folder = make_tiny_bert_folder(tmp_path / "m")
    (folder / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match=r"model\.onnx"):
        TextEncoder(folder)


def test_corrupt_tokenizer_names_the_file(tmp_path: Path) -> None:
    folder = make_tiny_bert_folder(tmp_path / "m")
    (folder / "tokenizer.json").write_text("{")
    with pytest.raises(ModelFileError, match=r"tokenizer\.json"):
        TextEncoder(folder)


def test_missing_tokenizer_names_the_file(tmp_path: Path) -> None:
    folder = make_tiny_bert_folder(tmp_path / "m")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelFileError, match=r"tokenizer\.json"):
        TextEncoder(folder)


def test_max_length_is_validated(bert_dir: Path) -> None:
    assert TextEncoder(bert_dir, max_length=32).max_length == 32
    with pytest.raises(ValueError, match="max_length"):
        TextEncoder(bert_dir, max_length=100_000)


def test_cuda_falls_back_with_a_warning(bert_dir: Path) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("a GPU runtime is installed")
    with pytest.warns(RuntimeWarning, match="onnxruntime-gpu"):
        encoder = TextEncoder(bert_dir, device="cuda")
    assert encoder.encode(["cat"]).shape == (1, 16)


def test_threads_are_validated(bert_dir: Path) -> None:
    with pytest.raises(ValueError, match="threads"):
        TextEncoder(bert_dir, threads=0)
