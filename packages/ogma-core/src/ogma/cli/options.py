"""Options shared by the ``ogma`` commands: model loading, numeric checks, global flags.

Every command that loads a model declares its options with :func:`add_model_options`,
so ``--model``, ``--dim``, ``--precision``, ``--threads``, ``--device`` and
``--trust-remote-code`` read and behave the same everywhere. Numbers are checked by
argparse itself (:func:`positive_int`), so ``--dim 0`` is a one-line usage error
before any model is loaded.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="ogma demo")
    >>> add_model_options(parser)
    >>> args = parser.parse_args(["-m", "all-MiniLM-L6-v2", "--threads", "2", "--trust-remote-code"])
    >>> encoder_options(args)
    {'device': 'cpu', 'threads': 2, 'trust_remote_code': True}
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ogma.errors import UsageError

__all__ = [
    "MAX_K",
    "UsageError",
    "add_global_options",
    "add_model_options",
    "add_writer_options",
    "batch_size_option",
    "encoder_options",
    "load_encoder",
    "positive_int",
    "reranker_options",
    "unit_float",
    "writer_options",
]

MAX_K = 1_000_000_000
"""Largest ``-k`` the CLI accepts (a store holds far fewer documents; SQLite's limit is 2**63 - 1)."""
_MAX_THREADS = 4096
_MAX_DIM = 65_536
_MAX_BATCH = 1_048_576


def positive_int(maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=`` for an integer in ``[1, maximum]`` (argparse adds the option's name).

    Args:
        maximum: The largest accepted value (``None``: no limit).

    Returns:
        A converter raising :class:`argparse.ArgumentTypeError` with a clear message.

    Example:
        >>> positive_int()("4")
        4
        >>> positive_int(maximum=64)("0")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected a positive integer, got '0'
    """

    def convert(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""))
        except ValueError:
            value = None
        if value is None or value < 1:
            raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"expected an integer from 1 to {maximum}, got {text!r}")
        return value

    convert.__name__ = "positive integer"  # argparse names the type in some messages
    return convert


def unit_float(text: str) -> float:
    """An argparse ``type=`` for a number in ``[0, 1]``.

    Example:
        >>> unit_float("0.7")
        0.7
        >>> unit_float("nan")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected a number from 0 to 1, got 'nan'
    """
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def _dim_or_full(text: str) -> int | None:
    if text.strip().lower() in ("full", "none", "-"):
        return None
    try:
        return positive_int(maximum=_MAX_DIM)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', got {text!r}") from None


def add_model_options(
    parser: argparse.ArgumentParser,
    *,
    model: str = "one",
    model_default: str | None = None,
    model_help: str | None = None,
    dim: str = "one",
    dim_help: str = "Matryoshka dimension to truncate to (default: the model's full dimension)",
    precision: Sequence[str] | None = None,
    precision_default: str | None = None,
    precision_help: str = "vector precision",
    precision_many: bool = False,
) -> None:
    """Add the model options of a command that loads an embedding model.

    Always added: ``--threads N``, ``--device {cpu,cuda}`` and ``--trust-remote-code``.

    Args:
        parser: The command's parser.
        model: ``"one"`` (``-m/--model NAME``), ``"many"`` (``--model A B ...``, required),
            ``"folder"`` (an optional ``-m FOLDER`` for the model a store records) or ``"none"``
            (the model comes from elsewhere, e.g. a store). ``"one"`` and ``"folder"`` also add
            ``--model-id ID``: the registry model a local folder holds.
        model_default: Default of ``--model`` (``"one"`` only; ``None``: the registry default
            is shown in the help and the command picks it).
        model_help: Help text of ``--model`` (a sensible one by default).
        dim: ``"one"`` (``--dim N``), ``"many"`` (``--dim N ... | full``) or ``"none"``.
        dim_help: Help text of ``--dim``.
        precision: The ``--precision`` choices (``None``: no such option).
        precision_default: Its default.
        precision_help: Its help text.
        precision_many: Accept several precisions (``--precision float32 binary``).
    """
    from ogma.registry import DEFAULT_MODEL

    group = parser.add_argument_group("model options")
    if model == "one":
        group.add_argument(
            "-m",
            "--model",
            default=model_default,
            help=model_help or f"embedding model name, hub id or folder (default {model_default or DEFAULT_MODEL})",
        )
    elif model == "folder":
        group.add_argument(
            "-m",
            "--model",
            default=None,
            help=model_help or "a local folder holding the store's model (default: the model the store records)",
        )
    elif model == "many":
        group.add_argument(
            "-m",
            "--model",
            nargs="+",
            action="extend",
            required=True,
            help=model_help or "embedding model(s): names, hub ids or folders",
        )
    if model in ("one", "folder"):
        group.add_argument(
            "--model-id",
            metavar="ID",
            help="the registry model a local -m FOLDER holds (e.g. intfloat/e5-small-v2), for its prefixes and "
            "pooling (`ogma models` lists them; default: read the folder's own settings)",
        )
    if dim == "one":
        group.add_argument("--dim", type=positive_int(maximum=_MAX_DIM), help=dim_help)
    elif dim == "many":
        group.add_argument("--dim", nargs="+", action="extend", type=_dim_or_full, help=dim_help)
    if precision is not None:
        extra: dict[str, Any] = {"nargs": "+", "action": "extend"} if precision_many else {}
        group.add_argument(
            "--precision", choices=tuple(precision), default=precision_default, help=precision_help, **extra
        )
    group.add_argument(
        "--threads",
        type=positive_int(maximum=_MAX_THREADS),
        help="inference threads (default: all cores)",
    )
    group.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where models run (default cpu)")
    group.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow running a model repository's own code (needed to export Ogma checkpoints once)",
    )


def batch_size_option(parser: argparse.ArgumentParser, *, default: int, help: str) -> None:
    """Add ``--batch-size N`` (a positive integer)."""
    parser.add_argument("--batch-size", type=positive_int(maximum=_MAX_BATCH), default=default, help=help)


def add_writer_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--insert-new-ids`` (bulk loads into Milvus) to a command that writes a store."""
    parser.add_argument(
        "--insert-new-ids",
        action="store_true",
        help="Milvus only: write ids the store does not hold yet with insert instead of upsert (several times "
        "faster on large collections); only when nothing else writes the same ids meanwhile",
    )


def writer_options(args: argparse.Namespace, destination: str) -> dict[str, Any]:
    """Store options from :func:`add_writer_options` for the store ``destination`` names.

    Raises:
        UsageError: ``--insert-new-ids`` with a SQLite destination.

    Example:
        >>> writer_options(argparse.Namespace(insert_new_ids=True), "milvus://host/docs")
        {'insert_new_ids': True}
        >>> writer_options(argparse.Namespace(insert_new_ids=False), "notes.db")
        {}
    """
    from ogma.store.uri import parse_store_uri

    if not getattr(args, "insert_new_ids", False):
        return {}
    if parse_store_uri(destination).backend == "sqlite":
        raise UsageError(
            "--insert-new-ids is for Milvus stores; a SQLite store writes in transactions with unique ids "
            "and needs no such mode: drop the option"
        )
    return {"insert_new_ids": True}


def encoder_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments for :class:`ogma.TextEncoder` / :class:`ogma.Reranker` from parsed options.

    Example:
        >>> encoder_options(argparse.Namespace(threads=None, device="cpu", trust_remote_code=False))
        {'device': 'cpu', 'threads': None, 'trust_remote_code': False}
    """
    options = {
        "device": getattr(args, "device", "cpu"),
        "threads": getattr(args, "threads", None),
        "trust_remote_code": bool(getattr(args, "trust_remote_code", False)),
    }
    if getattr(args, "model_id", None) is not None:
        model = getattr(args, "model", None)
        if not isinstance(model, str) or not Path(model).expanduser().is_dir():
            raise UsageError(
                f"--model-id says which registry model a local -m FOLDER holds; {model!r} is not a folder "
                "(give -m FOLDER, or leave --model-id out)"
            )
        options["model_id"] = args.model_id
    return options


def reranker_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments for :class:`ogma.Reranker` from parsed options (device, threads).

    Example:
        >>> reranker_options(argparse.Namespace(threads=2, device="cpu", trust_remote_code=True))
        {'device': 'cpu', 'threads': 2}
    """
    return {"device": getattr(args, "device", "cpu"), "threads": getattr(args, "threads", None)}


def load_encoder(model: str, **options: Any) -> Any:
    """Create the text encoder for ``model`` (CLI tests replace this function).

    Args:
        model: A model name, hub id or folder.
        **options: :class:`ogma.TextEncoder` keyword arguments (see :func:`encoder_options`).

    Returns:
        An :class:`ogma.TextEncoder`.

    Example:
        >>> load_encoder("all-MiniLM-L6-v2", threads=2)  # doctest: +SKIP
        TextEncoder(...)
    """
    from ogma.encoder import TextEncoder

    return TextEncoder(model, **options)


def add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Add ``-v/--verbose`` and ``-q/--quiet``, before (``top``) or after the sub-command.

    The sub-command copies use their own destinations so that ``ogma -v index -v`` counts
    both, and they skip option strings a command already defines for itself.
    """
    taken = parser._option_string_actions
    group = parser if top else parser.add_argument_group("global options")
    if "-v" not in taken:
        group.add_argument(
            "-v",
            "--verbose",
            action="count",
            default=0,
            dest="verbose" if top else "verbose_sub",
            help="log more, and show tracebacks on errors (-vv for debug)",
        )
    if "-q" not in taken:
        group.add_argument(
            "-q",
            "--quiet",
            action="store_true",
            dest="quiet_top" if top else "quiet",
            help="no progress bars or summaries (errors and failures are still printed)",
        )
