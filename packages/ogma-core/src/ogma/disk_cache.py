"""Ogma's on-disk model cache: converted, exported and quantized models, keyed by content.

A cache entry is a folder ``$OGMA_HOME/<kind>/<key>`` where ``kind`` is ``converted``,
``exported`` or ``quantized`` and ``key`` is a fingerprint of the *bytes* of the source
files (plus the version of the graph that was written). The same checkpoint installed in
two virtual environments, or copied to two folders, therefore maps to one entry.

Hashing an 87 MB checkpoint takes a fraction of a second, so digests are remembered in a
small sidecar file (``$OGMA_HOME/fingerprints.json``) keyed by the file's path, size and
modification time: a repeated load only ``stat``\\ s the files.

Each entry holds ``ogma_cache_entry.json`` (kind, the models and source folders that used
it, creation time); its modification time is the entry's last use. ``ogma cache list`` and
``ogma cache clear`` read and remove entries through :func:`list_entries` and
:func:`remove_entries`.

The same two functions cover the evaluation cache of corpus embeddings
(``$OGMA_HOME/eval-embeddings``, :mod:`ogma.evaluate.cache`): there an entry is a
``<key>.npy`` matrix with its ``<key>.json`` description, listed with kind
``"eval-embeddings"``.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> home = Path(tempfile.mkdtemp())
    >>> list_entries(home)
    []
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from ogma.paths import ogma_home

__all__ = [
    "ENTRY_FILE",
    "EVAL_EMBEDDINGS",
    "KINDS",
    "CacheEntry",
    "content_key",
    "file_digest",
    "list_entries",
    "record_use",
    "remove_entries",
]

logger = logging.getLogger(__name__)

Kind = Literal["converted", "exported", "quantized"]
KINDS: tuple[Kind, ...] = ("converted", "exported", "quantized")
"""Kinds of model entries (one folder each)."""
EVAL_EMBEDDINGS: Final = "eval-embeddings"
"""Folder (under ``$OGMA_HOME``) and kind of the evaluation cache's corpus embeddings."""
ENTRY_FILE = "ogma_cache_entry.json"
"""Metadata file inside every model cache entry."""

_SIDECAR = "fingerprints.json"
_SIDECAR_MAX = 1024  # remembered digests; the oldest are dropped first
_CHUNK = 1 << 20
_lock = threading.Lock()


def _home(home: Path | None) -> Path:
    if home is not None:
        return home
    return ogma_home()


def _read_sidecar(file: Path) -> dict[str, list[Any]]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # a damaged sidecar only costs a re-hash
        logger.debug("Ignoring unreadable %s (%s)", file, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _write_json_atomic(file: Path, data: object) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, file)
    except OSError as exc:  # a read-only cache still works, it just re-hashes
        logger.debug("Could not write %s (%s)", file, exc)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def file_digest(path: Path, *, home: Path | None = None) -> str:
    """The SHA-256 of ``path``'s bytes, remembered by (path, size, mtime) in the sidecar.

    Args:
        path: A regular file.
        home: The cache folder holding the sidecar (default: :func:`ogma.paths.ogma_home`).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "w.bin").write_bytes(b"abc")
        >>> file_digest(folder / "w.bin", home=folder)[:12]
        'ba7816bf8f01'
    """
    stat = path.stat()
    name = str(path.resolve())
    sidecar = _home(home) / _SIDECAR
    with _lock:
        known = _read_sidecar(sidecar).get(name)
    if isinstance(known, list) and known[:2] == [stat.st_size, stat.st_mtime_ns] and len(known) == 3:
        return str(known[2])
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    with _lock:
        table = _read_sidecar(sidecar)
        table.pop(name, None)
        table[name] = [stat.st_size, stat.st_mtime_ns, value]
        while len(table) > _SIDECAR_MAX:
            table.pop(next(iter(table)))
        _write_json_atomic(sidecar, table)
    return value


def content_key(files: Sequence[tuple[str, Path]], *, salt: str = "", home: Path | None = None) -> str:
    """A 16-hex-digit key of the files' names and bytes (and ``salt``), independent of where they live.

    Args:
        files: ``(name inside the model folder, path)`` pairs; missing paths are skipped.
        salt: Mixed in (e.g. the version of the graph a converter writes).
        home: The cache folder holding the digest sidecar.

    Example:
        >>> import tempfile
        >>> a, b = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
        >>> for folder in (a, b):
        ...     _ = (folder / "model.safetensors").write_bytes(b"weights")
        >>> content_key([("model.safetensors", a / "model.safetensors")], home=a) == content_key(
        ...     [("model.safetensors", b / "model.safetensors")], home=b)
        True
    """
    digest = hashlib.sha256(salt.encode())
    for name, path in sorted(files):
        if path.is_file():
            digest.update(f"{name}\0{path.stat().st_size}\0{file_digest(path, home=home)}\0".encode())
    return digest.hexdigest()[:16]


def record_use(folder: Path, *, kind: Kind, model_id: str, source: Path | str) -> None:
    """Note in ``folder``'s entry file that ``model_id`` (from ``source``) used it now.

    The entry file's modification time is the entry's last use.
    """
    file = folder / ENTRY_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    models = [m for m in data.get("models", []) if isinstance(m, str)]
    sources = [s for s in data.get("sources", []) if isinstance(s, str)]
    source_name = str(source)
    if data.get("kind") == kind and model_id in models and source_name in sources:
        with contextlib.suppress(OSError):
            os.utime(file)
        return
    data.update(
        kind=kind,
        models=[*models, model_id] if model_id not in models else models,
        sources=([*sources, source_name] if source_name not in sources else sources)[-8:],
        created=data.get("created", time.time()),
    )
    _write_json_atomic(file, data)


@dataclass(frozen=True)
class CacheEntry:
    """One cache entry: a cached model folder, or one corpus's cached evaluation embeddings.

    Attributes:
        path: The entry's folder (models), or its ``<key>.npy`` file (``"eval-embeddings"``;
            the ``<key>.json`` beside it belongs to the entry too).
        kind: ``"converted"``, ``"exported"``, ``"quantized"`` or ``"eval-embeddings"``.
        models: Model ids that used it (empty for entries made by older Ogma versions).
        sources: Source folders or files it was built from (most recent last); for
            evaluation embeddings, the data set's name.
        size_bytes: Total size of its files.
        last_used: Unix time of its last use.
        note: What else the entry records (for evaluation embeddings: documents and dimension).
    """

    path: Path
    kind: str
    models: tuple[str, ...]
    sources: tuple[str, ...]
    size_bytes: int
    last_used: float
    note: str = ""

    def matches(self, model: str) -> bool:
        """Whether ``model`` (an id, short name, folder or key as ``ogma cache list`` shows it) names this entry."""
        from ogma.registry import canonical_model_id

        wanted = {model, canonical_model_id(model)}
        with contextlib.suppress(OSError):
            wanted.add(str(Path(model).expanduser().resolve()))
        if self.kind == EVAL_EMBEDDINGS:  # by model only (a data set name is not a model)
            return bool(wanted & set(self.models)) or model in (self.path.stem, self.path.stem[:16])
        return bool(wanted & {*self.models, *self.sources}) or self.path.name == model


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _read_json_dict(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
    except (OSError, ValueError):
        data = {}
    return data if isinstance(data, dict) else {}


def _eval_entries(folder: Path) -> list[CacheEntry]:
    """The evaluation cache's ``<key>.npy`` + ``<key>.json`` pairs in ``folder``."""
    if not folder.is_dir():
        return []
    entries = []
    for matrix in sorted(folder.glob("*.npy")):
        if not matrix.is_file() or matrix.name.endswith(".tmp.npy"):  # a save in progress
            continue
        info_file = matrix.with_suffix(".json")
        info = _read_json_dict(info_file)
        model, dataset = info.get("model"), info.get("dataset")
        rows, dim = info.get("rows"), info.get("dim")
        note = f"{rows:,} documents, {dim} dims" if isinstance(rows, int) and isinstance(dim, int) else ""
        files = [f for f in (matrix, info_file) if f.is_file()]
        entries.append(
            CacheEntry(
                path=matrix,
                kind=EVAL_EMBEDDINGS,
                models=(model,) if isinstance(model, str) else (),
                sources=(dataset,) if isinstance(dataset, str) else (),
                size_bytes=sum(f.stat().st_size for f in files),
                last_used=max(f.stat().st_mtime for f in files),
                note=note,
            )
        )
    return entries


def list_entries(home: Path | None = None) -> list[CacheEntry]:
    """Every cache entry under ``home`` (default: :func:`ogma.paths.ogma_home`), most recently used first.

    Model entries (converted, exported, quantized) and the evaluation cache's corpus
    embeddings (``home/eval-embeddings``) alike.
    """
    root = _home(home)
    entries: list[CacheEntry] = _eval_entries(root / EVAL_EMBEDDINGS)
    for kind in KINDS:
        base = root / kind
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            meta_file = folder / ENTRY_FILE
            meta = _read_json_dict(meta_file)
            stamp = meta_file if meta_file.is_file() else folder
            entries.append(
                CacheEntry(
                    path=folder,
                    kind=kind,
                    models=tuple(m for m in meta.get("models", []) if isinstance(m, str)),
                    sources=tuple(s for s in meta.get("sources", []) if isinstance(s, str)),
                    size_bytes=_size(folder),
                    last_used=stamp.stat().st_mtime,
                )
            )
    return sorted(entries, key=lambda e: -e.last_used)


def remove_entries(entries: Iterable[CacheEntry], *, home: Path | None = None) -> int:
    """Delete cache entries (and the digest sidecar when the whole cache goes); returns bytes freed."""
    freed = 0
    for entry in entries:
        freed += entry.size_bytes
        if entry.kind == EVAL_EMBEDDINGS:
            for file in (entry.path, entry.path.with_suffix(".json")):
                with contextlib.suppress(FileNotFoundError):
                    file.unlink()
        else:
            shutil.rmtree(entry.path, ignore_errors=True)
        logger.info("Removed %s", entry.path)
    root = _home(home)
    if not list_entries(root):
        with contextlib.suppress(FileNotFoundError):
            (root / _SIDECAR).unlink()
    return freed
