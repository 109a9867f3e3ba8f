"""Work out a model's effective settings from the registry and the files in its folder.

Precedence: explicit user arguments > the registry entry > the folder's own
sentence-transformers configs (``1_Pooling/config.json``, ``modules.json``,
``sentence_bert_config.json``, ``config_sentence_transformers.json``) and Ogma's
``ogma_conversion.json`` > defaults (mean pooling, normalised, 512 tokens).

Example:
    >>> from pathlib import Path
    >>> spec = spec_from_folder("my-model", Path("/nonexistent"), None, dim=8)
    >>> spec.pooling, spec.normalize, spec.max_length
    ('mean', True, 512)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ogma.errors import ModelFileError
from ogma.registry import MODELS, NO_TASKS, OGMA_TASKS, ModelSpec, Pooling, TaskScheme, get_model_spec

__all__ = ["declared_spec", "position_limit", "read_json_object", "spec_from_folder"]

logger = logging.getLogger(__name__)

_DEFAULT_MAX_LENGTH = 512


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ModelFileError(
            f"{path} is not UTF-8 text ({exc}); the file is corrupt: delete it and re-download the model"
        ) from exc
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path} is not valid JSON ({exc}); delete it and re-download the model") from exc
    except OSError as exc:
        raise ModelFileError(f"{path} cannot be read ({exc})") from exc


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; ``None`` when the file does not exist.

    Raises:
        ModelFileError: The file is not UTF-8, not JSON, or not a JSON object (the message names it).

    Example:
        >>> read_json_object(Path("/nonexistent/config.json")) is None
        True
    """
    data = _read_json(path)
    if data is not None and not isinstance(data, dict):
        raise ModelFileError(
            f"{path} must hold a JSON object ({{...}}), found a {type(data).__name__}; "
            "delete it and re-download the model"
        )
    return data


def _read(path: Path) -> dict[str, Any] | None:
    return read_json_object(path)


def _read_list(path: Path) -> list[Any]:
    data = _read_json(path)
    if data is not None and not isinstance(data, list):
        raise ModelFileError(f"{path} must hold a JSON list ([...]), found a {type(data).__name__}")
    return data or []


def _positive_int(value: Any, path: Path, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelFileError(
            f"{path}: {key!r} must be a positive integer, got {value!r}; fix the value or delete the file"
        )
    return value


_ROBERTA_TYPES = frozenset({"roberta", "xlm-roberta", "camembert", "longformer", "mpnet"})


def position_limit(folder: Path, onnx_path: Path | None = None) -> int | None:
    """How many token positions the model has, or ``None`` when its files do not say.

    From ``config.json``'s ``max_position_embeddings`` (less the two padding-offset
    positions of RoBERTa-family models); without it, the row count of the ONNX graph's
    position-embedding table.

    Raises:
        ModelFileError: ``config.json`` is corrupt or its ``max_position_embeddings`` is
            not a positive integer.

    Example:
        >>> position_limit(Path("/nonexistent")) is None
        True
    """
    config_file = folder / "config.json"
    config = read_json_object(config_file) or {}
    if "max_position_embeddings" in config:
        positions = _positive_int(config["max_position_embeddings"], config_file, "max_position_embeddings")
        offset = 2 if config.get("model_type") in _ROBERTA_TYPES and positions > 2 else 0
        return positions - offset
    if onnx_path is not None:
        return _onnx_position_rows(onnx_path)
    return None


def _onnx_position_rows(onnx_path: Path) -> int | None:
    """Rows of the graph's 2-D position-embedding initializer (read without the weights' bytes)."""
    import onnx

    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends for a bad file
        raise ModelFileError(f"{onnx_path} is not a readable ONNX file ({exc})") from exc
    rows = [
        int(init.dims[0])
        for init in model.graph.initializer
        if "position" in init.name.lower() and len(init.dims) == 2 and init.data_type == onnx.TensorProto.FLOAT
    ]
    return min(rows) if rows else None


def _scheme_from_prompts(prompts: dict[str, Any]) -> TaskScheme | None:
    query = prompts.get("query") or prompts.get("search_query") or ""
    document = prompts.get("document") or prompts.get("passage") or prompts.get("search_document") or ""
    if not query and not document:
        return None
    return TaskScheme.prefixes(str(query), str(document))


def declared_spec(resolved_id: str, declared: str | None, *, dim: int) -> tuple[str, ModelSpec | None]:
    """The model id and registry entry for a resolved model, honouring a declared ``model_id``.

    ``declared`` says which registry model a local folder holds (its files carry no id), so
    the folder gets that model's prefixes or instructions, pooling and window.

    Args:
        resolved_id: The id the resolver gave (a hub id, or a folder's path).
        declared: A registry id or short name the caller says the files are, or ``None``.
        dim: The output width of the resolved graph (checked against the registry).

    Raises:
        ValueError: ``declared`` is not a registry model.
        ModelFileError: The files' output width differs from the declared model's.

    Example:
        >>> declared_spec("/models/e5", "e5-small-v2", dim=384)[0]
        'intfloat/e5-small-v2'
    """
    if declared is None:
        return resolved_id, get_model_spec(resolved_id)
    if not isinstance(declared, str):
        raise TypeError(f"model_id must be a registry model id (str), got {type(declared).__name__}")
    spec = get_model_spec(declared)
    if spec is None:
        known = ", ".join(sorted(MODELS))
        raise ValueError(
            f"model_id {declared!r} is not a registry model (known: {known}); leave model_id out to use "
            "the folder's own settings, or run `ogma models`"
        )
    if spec.pooling != "model" and spec.dim != dim:
        raise ModelFileError(
            f"{resolved_id} outputs {dim}-d vectors but {spec.model_id} has {spec.dim}: the folder does not "
            "hold that model; check model_id"
        )
    return spec.model_id, spec


def spec_from_folder(model_id: str, folder: Path, registered: ModelSpec | None, *, dim: int) -> ModelSpec:
    """The effective :class:`ModelSpec` of a resolved model folder.

    Args:
        model_id: Canonical id.
        folder: Folder with tokenizer.json and configs.
        registered: The registry entry, if any (wins over folder configs).
        dim: Output dimension read off the ONNX graph or config.
    """
    conversion = _read(folder / "ogma_conversion.json") or {}
    if conversion.get("kind") == "ogma":
        base = registered or ModelSpec(model_id=model_id, dim=dim, max_length=1024, license="cc-by-nc-4.0")
        conversion_file = folder / "ogma_conversion.json"
        raw_dims = conversion.get("matryoshka_dims", base.matryoshka_dims) or ()
        if not isinstance(raw_dims, list | tuple):
            raise ModelFileError(f"{conversion_file}: 'matryoshka_dims' must be a list of integers, got {raw_dims!r}")
        dims = tuple(_positive_int(d, conversion_file, "matryoshka_dims") for d in raw_dims)
        return base.with_overrides(
            model_id=model_id,
            dim=dim,
            pooling="model",
            task_scheme=OGMA_TASKS,
            max_length=_positive_int(conversion.get("max_length", base.max_length), conversion_file, "max_length"),
            matryoshka_dims=tuple(sorted((d for d in dims if d <= dim), reverse=True)),
        )
    if registered is not None:
        return registered.with_overrides(dim=dim)

    pooling_cfg = _read(folder / "1_Pooling" / "config.json") or {}
    pooling: Pooling = "cls" if pooling_cfg.get("pooling_mode_cls_token") else "mean"
    modules = _read_list(folder / "modules.json")
    normalize = any(str(m.get("type", "")).endswith("Normalize") for m in modules if isinstance(m, dict))
    if not modules:
        normalize = True  # plain checkpoints: cosine-ready output is what retrieval wants
    st_file = folder / "sentence_bert_config.json"
    st_cfg = _read(st_file) or {}
    tok_cfg = _read(folder / "tokenizer_config.json") or {}
    if st_cfg.get("max_seq_length") is not None:
        max_length = _positive_int(st_cfg["max_seq_length"], st_file, "max_seq_length")
    else:
        tok_max = tok_cfg.get("model_max_length")
        usable = isinstance(tok_max, int) and not isinstance(tok_max, bool) and 0 < tok_max < 100_000
        max_length = tok_max if usable and isinstance(tok_max, int) else _DEFAULT_MAX_LENGTH
    prompts = (_read(folder / "config_sentence_transformers.json") or {}).get("prompts") or {}
    scheme = _scheme_from_prompts(prompts) if isinstance(prompts, dict) else None
    logger.info(
        "%s is not a registry model: %s pooling, %s (from its files). If it holds a registry model, "
        "declare it with model_id= (`ogma models` lists them) to get that model's prefixes and pooling.",
        model_id,
        pooling,
        "symmetric (no query/document prefixes)" if scheme is None else scheme.name,
    )
    return ModelSpec(
        model_id=model_id,
        dim=dim,
        max_length=max_length,
        pooling=pooling,
        normalize=normalize,
        task_scheme=scheme or NO_TASKS,
        description="(not in the registry; settings read from the model folder)",
    )
