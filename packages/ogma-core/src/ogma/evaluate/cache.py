"""An on-disk cache of corpus embeddings, so a repeated evaluation does not re-embed the corpus.

An entry holds the float32, full-dimension document embeddings of one corpus under one
model, in corpus order. Its key is a hash of:

* the corpus content: every document id and indexed text, in order (not the folder's name
  or modification time, so a copied or renamed data set still hits, and an edited one
  misses);
* the model fingerprint: a hash of the model's files (ONNX graph, tokenizer, configs) and
  the settings that change its output (token window, pooling, task markers), not its name
  or path, so the same model in another virtual environment hits;
* the task (``"document"``) and the stored form (float32, full dimension).

Matryoshka dims and store precisions (float32, int8, binary) are derived from the full
float32 vectors by the store, so one entry serves every ``--dim`` and ``--precision`` of a
model. Entries live under ``$OGMA_HOME/eval-embeddings`` (see :func:`ogma.hub.ogma_home`)
as ``<key>.npy`` plus ``<key>.json`` (what the entry is); deleting the folder is always safe.
``ogma cache list`` shows these entries (kind ``eval-embeddings``, last use = the last
run that loaded or saved them) beside the cached models, and ``ogma cache clear`` removes
them (``--model`` picks one model's).

Example:
    >>> import numpy as np, tempfile
    >>> cache = EmbeddingCache(tempfile.mkdtemp())
    >>> key = cache.key(corpus_fingerprint(["d1"], ["hello"]), "model-abc")
    >>> cache.load(key, rows=1) is None
    True
    >>> _ = cache.save(key, np.ones((1, 4), dtype=np.float32), info={"model": "m"})
    >>> cache.load(key, rows=1).shape
    (1, 4)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "CACHE_FORMAT",
    "EmbeddingCache",
    "corpus_fingerprint",
    "default_cache_dir",
    "files_fingerprint",
    "text_encoder_fingerprint",
]

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
"""Bumped when the layout or meaning of an entry changes (old entries are then never hit)."""


def default_cache_dir() -> Path:
    """``$OGMA_HOME/eval-embeddings`` (see :func:`ogma.hub.ogma_home`).

    Example:
        >>> default_cache_dir().name
        'eval-embeddings'
    """
    from ogma.disk_cache import EVAL_EMBEDDINGS
    from ogma.hub import ogma_home

    return ogma_home() / EVAL_EMBEDDINGS


def corpus_fingerprint(ids: Sequence[str], texts: Sequence[str]) -> str:
    """A hash of a corpus's document ids and indexed texts, in order.

    Example:
        >>> corpus_fingerprint(["a"], ["x"]) == corpus_fingerprint(["a"], ["x"])
        True
        >>> corpus_fingerprint(["a"], ["x"]) == corpus_fingerprint(["a"], ["y"])
        False
    """
    if len(ids) != len(texts):
        raise ValueError(f"ids and texts differ in length ({len(ids)} != {len(texts)})")
    digest = hashlib.sha256(b"ogma-corpus-1\0")
    for doc_id, text in zip(ids, texts):
        for part in (doc_id, text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    return digest.hexdigest()


def files_fingerprint(paths: Sequence[Path], *, salt: str = "") -> str:
    """A hash of the file names and bytes of ``paths`` (not where they live), and ``salt``.

    Each file's SHA-256 comes from :func:`ogma.disk_cache.file_digest`, which remembers it by
    (path, size, mtime), so a large ONNX file is read once, not on every run.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.json"
        >>> _ = f.write_text("{}")
        >>> len(files_fingerprint([f]))
        64
    """
    from ogma.disk_cache import file_digest

    digest = hashlib.sha256(f"ogma-files-1\0{salt}\0".encode())
    for path in paths:
        digest.update(f"{path.name}\0{file_digest(path)}\0".encode())
    return digest.hexdigest()


def _model_files(folder: Path, onnx_path: Path) -> list[Path]:
    files = [onnx_path]
    external = onnx_path.with_name(onnx_path.name + "_data")
    if external.is_file():
        files.append(external)
    for pattern in ("*.json", "*.txt", "1_Pooling/config.json"):
        files += sorted(p for p in folder.glob(pattern) if p.is_file())
    return list(dict.fromkeys(files))


def text_encoder_fingerprint(encoder: Any, model: str, *, trust_remote_code: bool = False) -> str:
    """The fingerprint of a :class:`ogma.TextEncoder` loaded from ``model`` (not quantized, ONNX backend).

    Hashes the files :func:`ogma.hub.resolve_model` finds for ``model`` (the ONNX graph,
    ``tokenizer.json`` and configs) with the encoder settings that change its output.

    Args:
        encoder: The loaded encoder.
        model: The name or path it was loaded from.
        trust_remote_code: As passed when loading (Ogma checkpoints are exported once and cached).

    Returns:
        A hex digest.

    Example:
        >>> text_encoder_fingerprint(TextEncoder("all-MiniLM-L6-v2"), "all-MiniLM-L6-v2")  # doctest: +SKIP
        '3f1c...'
    """
    from ogma.hub import resolve_model

    resolved = resolve_model(model, trust_remote_code=trust_remote_code)
    spec = encoder.spec
    settings = json.dumps(
        {
            "max_length": int(encoder.max_length),
            "dim": int(encoder.dim),
            "pooling": str(spec.pooling),
            "normalize": bool(spec.normalize),
            "task_scheme": repr(spec.task_scheme),
            # long texts: the windows' mean (ogma.windows), not the first window as before
            "long_text": "mean-windows-32",
        },
        sort_keys=True,
    )
    return files_fingerprint(_model_files(resolved.folder, resolved.onnx_path), salt=settings)


class EmbeddingCache:
    """Corpus embeddings on disk, keyed by corpus and model fingerprints.

    Args:
        root: The cache folder (default :func:`default_cache_dir`); created on first save.

    Example:
        >>> cache = EmbeddingCache()  # doctest: +SKIP
        >>> cache.root  # doctest: +SKIP
        PosixPath('/home/me/.cache/ogma/eval-embeddings')
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.root)!r})"

    @staticmethod
    def key(corpus: str, model: str, *, task: str = "document") -> str:
        """The entry key for a corpus fingerprint, a model fingerprint and a task.

        Example:
            >>> len(EmbeddingCache.key("c", "m"))
            40
        """
        text = json.dumps(
            {"format": CACHE_FORMAT, "corpus": corpus, "model": model, "task": task, "stored": "float32-full"},
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def path(self, key: str) -> Path:
        """The ``.npy`` file of an entry."""
        return self.root / f"{key}.npy"

    def load(self, key: str, *, rows: int) -> npt.NDArray[np.float32] | None:
        """The cached matrix, or ``None`` when absent or unusable (a broken entry is removed).

        Args:
            key: From :meth:`key`.
            rows: The corpus size; an entry with another row count is not used.
        """
        file = self.path(key)
        if not file.is_file():
            return None
        try:
            array = np.load(file, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            logger.warning("Ignoring the unreadable cached embeddings %s (%s); they will be recomputed", file, exc)
            self._remove(key)
            return None
        if array.dtype != np.float32 or array.ndim != 2 or array.shape[0] != rows or not np.isfinite(array).all():
            logger.warning("Ignoring cached embeddings %s (shape %s, %s); recomputing", file, array.shape, array.dtype)
            self._remove(key)
            return None
        with contextlib.suppress(OSError):  # the entry's last use, for `ogma cache list`
            os.utime(file)
        logger.info("Loaded %d cached document embeddings from %s", rows, file)
        return array

    def save(self, key: str, vectors: npt.NDArray[Any], *, info: Mapping[str, Any] | None = None) -> Path:
        """Store a matrix (float32) atomically; returns its path.

        Args:
            key: From :meth:`key`.
            vectors: ``(documents, dim)`` embeddings in corpus order.
            info: What the entry is (model, data set...), written beside it as JSON.
        """
        array = np.ascontiguousarray(vectors, dtype=np.float32)
        if array.ndim != 2:
            raise ValueError(f"vectors must be a 2-D matrix, got shape {array.shape}")
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path(key)
        tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.npy")
        meta = {**(info or {}), "rows": int(array.shape[0]), "dim": int(array.shape[1]), "created": time.time()}
        try:
            np.save(tmp, array, allow_pickle=False)
            os.replace(tmp, target)
            target.with_suffix(".json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        logger.info("Cached %d document embeddings at %s", array.shape[0], target)
        return target

    def _remove(self, key: str) -> None:
        for file in (self.path(key), self.path(key).with_suffix(".json")):
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
