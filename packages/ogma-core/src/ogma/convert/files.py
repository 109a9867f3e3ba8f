"""Output folder of a conversion: companion files, atomic publication and the manifest.

Example:
    >>> from ogma.convert.files import MANIFEST_NAME
    >>> MANIFEST_NAME
    'ogma_conversion.json'
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ogma.errors import ConversionError, ModelFileError

__all__ = [
    "COMPANION_FILES",
    "MANIFEST_NAME",
    "REQUIRED_FILES",
    "OutputExistsError",
    "atomic_output_dir",
    "check_required_files",
    "copy_companion_files",
    "write_manifest",
]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "ogma_conversion.json"
"""File recording how a folder was converted."""

COMPANION_FILES: tuple[str, ...] = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "sentencepiece.bpe.model",
    "config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "2_Normalize/config.json",
    "README.md",
    "LICENSE",
)
"""Files copied next to ``model.onnx`` when the source folder has them."""

REQUIRED_FILES: tuple[str, ...] = ("config.json", "tokenizer.json")


class OutputExistsError(ConversionError, FileExistsError):
    """The output folder already exists (also a :class:`FileExistsError`, e.g. when a parallel build won)."""


def _exists_error(out: Path) -> OutputExistsError:
    return OutputExistsError(
        f"Output folder {out} already exists; pass overwrite=True (CLI: --overwrite) or choose another folder."
    )


def check_required_files(src: Path) -> None:
    """Fail early when the files every conversion needs are missing.

    Raises:
        ModelFileError: ``src`` is not a folder, or lacks ``config.json`` / ``tokenizer.json``.
    """
    if not src.is_dir():
        raise ModelFileError(f"Checkpoint folder not found: {src}. Pass the folder holding config.json.")
    for name in REQUIRED_FILES:
        if not (src / name).is_file():
            raise ModelFileError(
                f"{src / name} not found: converting needs {' and '.join(REQUIRED_FILES)} next to "
                "model.safetensors (the tokenizer is copied into the ONNX folder). Download the full model "
                "repository, or save a fast tokenizer with tokenizer.save_pretrained(folder)."
            )


def copy_companion_files(src: Path, dst: Path) -> list[str]:
    """Copy the tokenizer, config and sentence-transformers files that exist in ``src``.

    Args:
        src: The checkpoint folder.
        dst: The folder being built.

    Returns:
        The relative names copied, in :data:`COMPANION_FILES` order.
    """
    copied = []
    for name in COMPANION_FILES:
        source = src / name
        if source.is_file():
            target = dst / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            copied.append(name)
    logger.debug("copied %s", ", ".join(copied))
    return copied


def write_manifest(dst: Path, record: dict[str, Any]) -> Path:
    """Write ``record`` as :data:`MANIFEST_NAME` in ``dst`` and return its path."""
    file = dst / MANIFEST_NAME
    file.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return file


@contextmanager
def atomic_output_dir(out: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary folder next to ``out`` and rename it to ``out`` on success.

    On any exception the temporary folder is deleted, so ``out`` is either absent,
    the old folder (``overwrite=True``), or complete. With ``overwrite=True`` the old
    folder is moved aside first and removed only after the new one is in place.

    Args:
        out: The final folder.
        overwrite: Replace an existing ``out``.

    Raises:
        OutputExistsError: ``out`` exists (or appeared meanwhile) and ``overwrite`` is false.
        ConversionError: ``out`` is a file.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp()) / "converted"
        >>> with atomic_output_dir(out, overwrite=False) as tmp:
        ...     _ = (tmp / "model.onnx").write_bytes(b"")
        >>> sorted(p.name for p in out.iterdir())
        ['model.onnx']
    """
    if out.exists() and not overwrite:
        raise _exists_error(out)
    if out.exists() and not out.is_dir():
        raise ConversionError(f"Output path {out} exists and is not a folder; remove it or pick another path.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the published folder should be a normal one
        yield tmp
        _publish(tmp, out, overwrite=overwrite)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, out: Path, *, overwrite: bool) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is replaced only when ``overwrite``."""
    if out.exists():
        if not overwrite:  # another process published the same folder meanwhile
            raise _exists_error(out)
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except OSError:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    try:
        os.replace(tmp, out)
    except OSError as exc:
        if out.exists():
            raise _exists_error(out) from exc
        raise
