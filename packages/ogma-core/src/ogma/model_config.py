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
from ogma.registry import NO_TASKS, OGMA_TASKS, ModelSpec, Pooling, TaskScheme

__all__ = ["spec_from_folder"]

logger = logging.getLogger(__name__)

_DEFAULT_MAX_LENGTH = 512


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path} is not valid JSON ({exc}); delete it and re-download the model") from exc


def _read(path: Path) -> dict[str, Any] | None:
    data = _read_json(path)
    return data if isinstance(data, dict) else None


def _read_list(path: Path) -> list[Any]:
    data = _read_json(path)
    return data if isinstance(data, list) else []


def _scheme_from_prompts(prompts: dict[str, Any]) -> TaskScheme | None:
    query = prompts.get("query") or prompts.get("search_query") or ""
    document = prompts.get("document") or prompts.get("passage") or prompts.get("search_document") or ""
    if not query and not document:
        return None
    return TaskScheme.prefixes(str(query), str(document))


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
        dims = tuple(int(d) for d in conversion.get("matryoshka_dims", base.matryoshka_dims) or ())
        return base.with_overrides(
            model_id=model_id,
            dim=dim,
            pooling="model",
            task_scheme=OGMA_TASKS,
            max_length=int(conversion.get("max_length", base.max_length)),
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
    st_cfg = _read(folder / "sentence_bert_config.json") or {}
    tok_cfg = _read(folder / "tokenizer_config.json") or {}
    max_length = int(st_cfg.get("max_seq_length") or 0)
    if not max_length:
        tok_max = tok_cfg.get("model_max_length")
        max_length = int(tok_max) if isinstance(tok_max, int) and tok_max < 100_000 else _DEFAULT_MAX_LENGTH
    prompts = (_read(folder / "config_sentence_transformers.json") or {}).get("prompts") or {}
    scheme = _scheme_from_prompts(prompts) if isinstance(prompts, dict) else None
    return ModelSpec(
        model_id=model_id,
        dim=dim,
        max_length=max_length,
        pooling=pooling,
        normalize=normalize,
        task_scheme=scheme or NO_TASKS,
        description="(not in the registry; settings read from the model folder)",
    )
