"""Loading an Ogma checkpoint's own model code, in isolation, and checking its API.

Ogma hub repositories ship PyTorch weights together with the Python code that runs
them (``ogma_model.py`` and ``config.py``, which imports as the very generic module
name ``config``). This module imports that code only when the caller trusts it,
with the folder temporarily first on ``sys.path`` and any same-named modules already
imported set aside and restored afterwards, so neither side sees the other's
``config``. It then checks the API the model card documents:

* ``ogma_model.OgmaModel`` with ``from_checkpoint(path, device)`` and
  ``encode(token_ids, attn_mask, task=TaskToken.SYM)`` returning L2-normalised
  ``(batch, d_output)`` float tensors;
* ``config.TaskToken`` with members ``QRY``, ``DOC`` and ``SYM``.

A repository whose API differs fails with a :class:`~ogma.errors.ConversionError`
naming what was expected and what was found.

Example:
    >>> from ogma.backends.ogma_code import require_trusted
    >>> require_trusted(True, "some/folder", action="Loading")  # trusted: no error
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ogma.errors import ConversionError, TrustRemoteCodeError, missing_extra
from ogma.tokenize import TASK_IDS

if TYPE_CHECKING:
    import torch

__all__ = [
    "CONFIG_MODULE",
    "EXPECTED_API",
    "MODEL_MODULE",
    "TASK_IDS",
    "TASK_MEMBERS",
    "LoadedOgma",
    "import_torch",
    "isolated_imports",
    "open_ogma_checkpoint",
    "probe_inputs",
    "require_trusted",
]

logger = logging.getLogger(__name__)

MODEL_MODULE = "ogma_model"
CONFIG_MODULE = "config"
TASK_MEMBERS: dict[str, str] = {"query": "QRY", "document": "DOC", "symmetric": "SYM"}
"""Ogma task names mapped to the ``TaskToken`` members that mark them."""

EXPECTED_API = (
    "Expected the Ogma checkpoint API from the model card: ogma_model.py defining class OgmaModel with "
    "classmethod from_checkpoint(path, device) and method encode(token_ids, attn_mask, task=TaskToken.SYM) "
    "returning an L2-normalised (batch, d_output) float tensor, and config.py defining TaskToken with "
    "members QRY, DOC and SYM."
)
_NORM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class LoadedOgma:
    """An Ogma model loaded from its repository's own code.

    Attributes:
        model: The ``OgmaModel`` instance (a ``torch.nn.Module`` in eval mode).
        tasks: Task name (``"query"``, ``"document"``, ``"symmetric"``) to ``TaskToken`` member.
        d_output: Embedding dimension, measured by a probe call to ``encode``.
        normalized: Whether ``encode`` returned unit-norm rows on the probe.
        folder: The checkpoint folder.
    """

    model: Any
    tasks: dict[str, Any]
    d_output: int
    normalized: bool
    folder: Path


def require_trusted(trust_remote_code: bool, folder: str | Path, *, action: str) -> None:
    """Refuse to run a repository's own code unless the caller opted in.

    Args:
        trust_remote_code: The caller's opt-in.
        folder: The checkpoint folder (for the message).
        action: What needs the code, e.g. ``"Exporting an Ogma checkpoint to ONNX"``.

    Raises:
        TrustRemoteCodeError: ``trust_remote_code`` is not ``True``.
    """
    if trust_remote_code is True:
        return
    raise TrustRemoteCodeError(
        f"{action} runs the Python code shipped with the model in {folder} ({MODEL_MODULE}.py and "
        f"{CONFIG_MODULE}.py), which can do anything your user account can; got trust_remote_code="
        f"{trust_remote_code!r}. Read that code (or trust its publisher), then pass trust_remote_code=True."
    )


def import_torch(purpose: str) -> ModuleType:
    """Import torch, or fail with the ``pip install`` fix.

    Raises:
        MissingExtraError: torch is not installed.
    """
    try:
        import torch
    except ImportError as exc:
        raise missing_extra("torch", "torch", purpose) from exc
    return torch


def _provided_names(folder: Path) -> set[str]:
    names = {MODEL_MODULE, CONFIG_MODULE}
    names.update(p.stem for p in folder.glob("*.py"))
    names.update(p.parent.name for p in folder.glob("*/__init__.py"))
    return names


def _matches(module_name: str, names: set[str]) -> bool:
    return module_name.split(".", 1)[0] in names


def _inside(module: object, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    if not file:
        return False
    try:
        return Path(file).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


@contextmanager
def isolated_imports(folder: str | Path) -> Iterator[None]:
    """Make ``folder``'s top-level modules importable, without clashing with ``sys.modules``.

    While active, ``folder`` is first on ``sys.path``, modules already imported under
    the names the folder provides (``config``, ``ogma_model`` and its other ``*.py``
    files and packages) are set aside, and no bytecode is written into the folder. On
    exit every module imported from the folder is dropped and the set-aside modules
    are restored, even when the body raised. ``sys.path`` and ``sys.modules`` are
    process-wide, so avoid importing the same names from other threads meanwhile.

    Args:
        folder: The checkpoint folder.

    Example:
        >>> import sys, tempfile, pathlib
        >>> before = sys.modules.get("config")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = (pathlib.Path(tmp) / "config.py").write_text("WHO = 'repo'")
        ...     with isolated_imports(tmp):
        ...         import config
        ...         print(config.WHO)
        repo
        >>> sys.modules.get("config") is before
        True
    """
    root = Path(folder).resolve()
    names = _provided_names(root)
    saved = {name: mod for name, mod in sys.modules.items() if _matches(name, names)}
    for name in saved:
        del sys.modules[name]
    present = set(sys.modules)
    entry = str(root)
    sys.path.insert(0, entry)
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.dont_write_bytecode = dont_write
        try:
            sys.path.remove(entry)
        except ValueError:
            logger.debug("%s was already removed from sys.path", entry)
        for name in set(sys.modules) - present:
            if _matches(name, names) or _inside(sys.modules[name], root):
                del sys.modules[name]
        sys.modules.update(saved)
        importlib.invalidate_caches()


def _import(name: str, folder: Path) -> ModuleType:
    file = folder / f"{name}.py"
    if not file.is_file():
        raise ConversionError(f"{file} not found: an Ogma checkpoint folder must contain {name}.py. {EXPECTED_API}")
    try:
        module = importlib.import_module(name)
    except ConversionError:
        raise
    except Exception as exc:  # the repository's code can raise anything on import
        raise ConversionError(
            f"Importing {file} failed with {type(exc).__name__}: {exc}. Install what it needs (see the model "
            "card) or check that the folder is an intact Ogma checkpoint."
        ) from exc
    if not _inside(module, folder):
        raise ConversionError(
            f"Importing {name!r} picked up {getattr(module, '__file__', module)!r} instead of {file}; "
            "a module of that name could not be isolated."
        )
    return module


def _public_names(obj: object) -> str:
    names = sorted(n for n in dir(obj) if not n.startswith("_"))
    return ", ".join(names) if names else "(nothing)"


def _task_members(config: ModuleType) -> dict[str, Any]:
    task_token = getattr(config, "TaskToken", None)
    if task_token is None:
        raise ConversionError(f"{config.__file__} defines no TaskToken; found: {_public_names(config)}. {EXPECTED_API}")
    found: dict[str, Any] = {}
    missing: list[str] = []
    for task, member in TASK_MEMBERS.items():
        value = getattr(task_token, member, None)
        if value is None:
            missing.append(member)
        else:
            found[task] = value
    if missing:
        members = getattr(task_token, "__members__", None)
        have = ", ".join(members) if members else _public_names(task_token)
        raise ConversionError(
            f"TaskToken in {config.__file__} has no member(s) {', '.join(missing)}; found members: {have}. "
            f"{EXPECTED_API}"
        )
    return found


def _model_class(module: ModuleType) -> Any:
    cls = getattr(module, "OgmaModel", None)
    if cls is None:
        raise ConversionError(f"{module.__file__} defines no OgmaModel; found: {_public_names(module)}. {EXPECTED_API}")
    for method in ("from_checkpoint", "encode"):
        if not callable(getattr(cls, method, None)):
            raise ConversionError(
                f"OgmaModel in {module.__file__} has no method {method}(); found: {_public_names(cls)}. {EXPECTED_API}"
            )
    return cls


def probe_inputs(torch_mod: Any, *, rows: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """A small padded batch of valid Ogma token ids (BOS … EOS, ids just above the specials)."""
    ids = torch_mod.zeros(rows, 6, dtype=torch_mod.long)
    mask = torch_mod.zeros(rows, 6, dtype=torch_mod.long)
    for r in range(rows):
        body = [7 + (r * 3 + j) % 5 for j in range(4 - r % 2)]
        row = [2, *body, 3]
        ids[r, : len(row)] = torch_mod.tensor(row)
        mask[r, : len(row)] = 1
    return ids, mask


def _probe(model: Any, tasks: dict[str, Any], torch_mod: Any, device: str, file: str) -> tuple[int, bool]:
    ids, mask = probe_inputs(torch_mod)
    try:
        with torch_mod.inference_mode():
            out = model.encode(ids.to(device), mask.to(device), task=tasks["symmetric"])
    except Exception as exc:  # the repository's code can raise anything
        raise ConversionError(
            f"OgmaModel.encode(token_ids, attn_mask, task=TaskToken.SYM) from {file} failed on a (2, 6) int64 "
            f"batch with {type(exc).__name__}: {exc}. {EXPECTED_API}"
        ) from exc
    if not isinstance(out, torch_mod.Tensor):
        raise ConversionError(
            f"OgmaModel.encode from {file} returned {type(out).__name__}, not a torch.Tensor. {EXPECTED_API}"
        )
    if out.ndim != 2 or out.shape[0] != ids.shape[0] or not out.is_floating_point():
        raise ConversionError(
            f"OgmaModel.encode from {file} returned a {out.dtype} tensor of shape {tuple(out.shape)} for a batch "
            f"of {ids.shape[0]}; expected a float tensor of shape ({ids.shape[0]}, d_output). {EXPECTED_API}"
        )
    norms = out.float().norm(dim=-1)
    normalized = bool(((norms - 1.0).abs() < _NORM_TOLERANCE).all())
    if not normalized:
        logger.warning("OgmaModel.encode from %s returned rows that are not unit-norm (norms %s)", file, norms)
    return int(out.shape[1]), normalized


@contextmanager
def open_ogma_checkpoint(
    checkpoint_dir: str | Path, *, device: str = "cpu", trust_remote_code: bool = False
) -> Iterator[LoadedOgma]:
    """Load an Ogma checkpoint with its own code; the import isolation lasts for the ``with`` block.

    Keep work that calls the model (export, verification) inside the block, so code
    that imports lazily still resolves ``config`` to the checkpoint's module.

    Args:
        checkpoint_dir: Folder with ``ogma_model.py``, ``config.py`` and the weights.
        device: Torch device string passed to ``from_checkpoint``.
        trust_remote_code: Must be ``True``: loading runs the folder's Python code.

    Yields:
        The loaded model, its task tokens and its output dimension.

    Raises:
        TrustRemoteCodeError: ``trust_remote_code`` is not ``True`` (no code is run).
        MissingExtraError: torch is not installed.
        ConversionError: The folder's code is missing, fails, or has a different API.

    Example:
        >>> with open_ogma_checkpoint("ogma-mini", trust_remote_code=True) as loaded:  # doctest: +SKIP
        ...     loaded.d_output
        256
    """
    folder = Path(checkpoint_dir).resolve()
    require_trusted(trust_remote_code, folder, action="Loading an Ogma checkpoint")
    torch_mod = import_torch("Loading an Ogma checkpoint with its own PyTorch code")
    if not folder.is_dir():
        raise ConversionError(f"Ogma checkpoint folder not found: {folder}. Download the model first.")
    with isolated_imports(folder):
        config = _import(CONFIG_MODULE, folder)
        tasks = _task_members(config)
        model_module = _import(MODEL_MODULE, folder)
        cls = _model_class(model_module)
        file = str(model_module.__file__)
        try:
            model = cls.from_checkpoint(str(folder), device=device)
        except Exception as exc:  # the repository's code can raise anything
            raise ConversionError(
                f"OgmaModel.from_checkpoint({str(folder)!r}, device={device!r}) from {file} failed with "
                f"{type(exc).__name__}: {exc}. Check that the folder holds the weights the code expects."
            ) from exc
        if not isinstance(model, torch_mod.nn.Module):
            raise ConversionError(
                f"OgmaModel.from_checkpoint from {file} returned {type(model).__name__}, not a torch.nn.Module. "
                f"{EXPECTED_API}"
            )
        model.eval()
        d_output, normalized = _probe(model, tasks, torch_mod, device, file)
        logger.debug("Loaded the Ogma checkpoint %s (d_output=%d) on %s", folder, d_output, device)
        yield LoadedOgma(model=model, tasks=tasks, d_output=d_output, normalized=normalized, folder=folder)
