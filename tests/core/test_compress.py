"""Compression: Matryoshka, int8 and binary formats (bit-exact with sqlite-vec), Hamming, rescoring."""

from __future__ import annotations

import numpy as np
import pytest

from ogma import compress
from ogma.compress import (
    Int8Ranges,
    calibrate_int8,
    dequantize_int8,
    hamming_distance,
    quantize,
    quantize_binary,
    quantize_int8,
    rescore_binary,
    truncate,
    unpack_binary,
)


@pytest.fixture
def vectors() -> np.ndarray:
    rng = np.random.default_rng(0)
    return compress.normalize(rng.normal(size=(64, 48)))


@pytest.fixture
def vec_conn() -> object:
    apsw = pytest.importorskip("apsw")
    sqlite_vec = pytest.importorskip("sqlite_vec")
    conn = apsw.Connection(":memory:")
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    return conn


def test_int8_unit_mode_is_bit_exact_with_sqlite_vec(vectors: np.ndarray, vec_conn: object) -> None:
    data = np.concatenate([vectors, vectors * 1.5, np.full((1, 48), -1.0), np.full((1, 48), 1.0)]).astype(np.float32)
    for row, codes in zip(data, quantize_int8(data), strict=True):
        (blob,) = vec_conn.execute("select vec_quantize_int8(?, 'unit')", (row.tobytes(),)).fetchone()  # type: ignore[attr-defined]
        np.testing.assert_array_equal(np.frombuffer(blob, dtype=np.int8), codes)


def test_binary_bit_order_matches_sqlite_vec(vectors: np.ndarray, vec_conn: object) -> None:
    for row, packed in zip(vectors, quantize_binary(vectors), strict=True):
        (blob,) = vec_conn.execute("select vec_quantize_binary(?)", (row.tobytes(),)).fetchone()  # type: ignore[attr-defined]
        np.testing.assert_array_equal(np.frombuffer(blob, dtype=np.uint8), packed)


def test_hamming_matches_sqlite_vec(vectors: np.ndarray, vec_conn: object) -> None:
    packed = quantize_binary(vectors)
    ours = hamming_distance(packed[0], packed)
    for i, row in enumerate(packed):
        (theirs,) = vec_conn.execute(  # type: ignore[attr-defined]
            "select vec_distance_hamming(vec_bit(?), vec_bit(?))", (packed[0].tobytes(), row.tobytes())
        ).fetchone()
        assert ours[i] == theirs


def test_binary_roundtrip_and_signed_form(vectors: np.ndarray) -> None:
    packed = quantize_binary(vectors)
    np.testing.assert_array_equal(unpack_binary(packed, 48), (vectors > 0).astype(np.uint8))
    signed = quantize(vectors, "binary")
    assert signed.dtype == np.int8
    np.testing.assert_array_equal(signed.astype(np.int16) + 128, packed)
    assert hamming_distance(signed[0], signed)[0] == 0


def test_hamming_rejects_mismatched_widths() -> None:
    with pytest.raises(ValueError, match="bytes"):
        hamming_distance(np.zeros(2, np.uint8), np.zeros((3, 4), np.uint8))


def test_calibrated_int8_uses_the_range_better_than_unit(vectors: np.ndarray) -> None:
    ranges = calibrate_int8(vectors)
    err_cal = np.abs(dequantize_int8(quantize_int8(vectors, ranges), ranges) - vectors).mean()
    err_unit = np.abs(dequantize_int8(quantize_int8(vectors)) - vectors).mean()
    assert err_cal < err_unit / 2
    assert Int8Ranges.from_bytes(ranges.to_bytes()).high.tolist() == ranges.high.tolist()


def test_int8_ranking_stays_close(vectors: np.ndarray) -> None:
    ranges = calibrate_int8(vectors)
    approx = dequantize_int8(quantize_int8(vectors, ranges), ranges)
    cos = (compress.normalize(approx) * vectors).sum(axis=1)
    assert cos.min() > 0.99


def test_rescore_binary_recovers_ranking(vectors: np.ndarray) -> None:
    query = vectors[3]
    packed = quantize_binary(vectors)
    scores = rescore_binary(query, packed)
    assert int(np.argmax(scores)) == 3
    exact = vectors @ query
    assert np.corrcoef(scores, exact)[0, 1] > 0.7


def test_truncate_renormalises_and_validates(vectors: np.ndarray) -> None:
    out = truncate(vectors, 16, matryoshka_dims=[48, 16])
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out, compress.normalize(vectors[:, :16]), atol=1e-6)
    with pytest.raises(ValueError, match="between 1 and 48"):
        truncate(vectors, 0)
    with pytest.raises(ValueError, match="between 1 and 48"):
        truncate(vectors, 49)
    with pytest.warns(UserWarning, match=r"\[16, 48\], not 20"):
        truncate(vectors, 20, matryoshka_dims=[48, 16])


def test_quantize_rejects_unknown_precision(vectors: np.ndarray) -> None:
    with pytest.raises(ValueError, match="float32, int8, uint8, binary, ubinary"):
        quantize(vectors, "fp8")  # type: ignore[arg-type]


def test_uint8_is_int8_shifted(vectors: np.ndarray) -> None:
    ranges = calibrate_int8(vectors)
    np.testing.assert_array_equal(
        quantize(vectors, "uint8", ranges=ranges).astype(np.int16) - 128, quantize(vectors, "int8", ranges=ranges)
    )
